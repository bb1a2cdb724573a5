"""Slow or outbound work, run by Celery workers: notifications and eager renders.

Tasks take ids and plain strings, never model instances, and are queued on commit.
"""

from __future__ import annotations

import json
import logging
import time
import uuid

from celery import shared_task
from django.conf import settings
from django.core.cache import cache
from django.db import transaction

from core.errors import ApiError, BadRequest

from . import imagemeta, keys, links, netguard, outbound, signing
from .hooks import hook
from .models import Asset

IMAGE_METADATA_QUEUED_FOR = 600  # seconds a page view does not queue the same version again

log = logging.getLogger(__name__)

NOTIFICATION_RETRIES = 6


def enqueue_notification(url: str, payload: dict, api_key: str | None) -> None:
    body = json.dumps(payload, separators=(",", ":"), sort_keys=True)
    transaction.on_commit(lambda: send_notification.delay(url, body, api_key))


def _secret_for(api_key: str | None) -> str:
    credential = keys.find_credential(api_key) if api_key else None
    if credential is not None:
        return credential.secret
    secrets = keys.signing_secrets()
    return secrets[0] if secrets else ""


@shared_task(bind=True, max_retries=NOTIFICATION_RETRIES, acks_late=True)
def send_notification(self, url: str, body: str, api_key: str | None = None) -> int:
    """POST `body` to `url`, signed as Cloudinary signs notifications; retried with backoff.

    The POST goes through assets.outbound like a remote upload: the address checked is
    the address connected to, each redirect hop (307/308 only) is checked again, and
    DAM_NOTIFICATION_TIMEOUT bounds the whole exchange.  A refused URL is dropped, not
    retried; a failed or 408/429/5xx delivery is retried NOTIFICATION_RETRIES times.
    """
    timestamp = int(time.time())
    headers = {
        "Content-Type": "application/json",
        "X-Cld-Timestamp": str(timestamp),
        "X-Cld-Signature": signing.notification_signature(body, timestamp, _secret_for(api_key)),
        "User-Agent": "dam-notifications/1.0",
    }
    try:
        with outbound.exchange(url, outbound.Deadline(settings.DAM_NOTIFICATION_TIMEOUT), method="POST",
                               body=body.encode("utf-8"), headers=headers) as response:
            status = response.status
        if status >= 500 or status in (408, 429):
            raise outbound.OutboundError(f"{status} {response.reason}")
        return status
    except netguard.Refused as exc:
        log.warning("notification to %s refused: %s", url, exc.message)
        return 0
    except outbound.OutboundError as exc:
        countdown = min(3600, 2 ** self.request.retries * 5)
        log.info("notification to %s failed (%s); retry in %ss", url, exc, countdown)
        raise self.retry(exc=exc, countdown=countdown)


def split_eager(item) -> tuple[str, str | None]:
    """An eager item as the SDKs send it (``build_single_eager``): ``"<transformation>[/<format>]"``.

    Returns (transformation, format); the format is None when absent or empty
    (``"w_100/"``: no extension, the original's format).
    """
    text = str(item or "").strip()
    if "/" in text:
        head, _, last = text.rpartition("/")
        if "_" not in last:  # every transformation component is key_value; a format is not
            return head, (last.lower() or None)
    return text, None


def check_eager(items) -> list[tuple[str, str, str | None]]:
    """Validate eager items before anything is rendered or queued: (as sent, transformation,
    format) each.  Raises BadRequest for an unknown parameter, named transformation or format,
    503 when an AI effect's model files are missing."""
    checked = []
    for item in items:
        sent = str(item or "").strip()
        if not sent:
            continue
        text, fmt = split_eager(sent)
        if not text:
            raise BadRequest(f"Invalid eager transformation {sent!r}: no transformation")
        hook("eager").check(sent, text, fmt)
        checked.append((sent, text, fmt))
    return checked


def eager_result(asset, sent: str, text: str, row, request=None) -> dict:
    """One rendered eager transformation in the shape of Cloudinary's upload response."""
    url, secure_url = links.delivery_urls(asset, request, transformation=text, fmt=row.format)
    return {"transformation": sent, "width": row.width, "height": row.height, "bytes": row.bytes,
            "format": row.format, "url": url, "secure_url": secure_url}


def _render_one(asset, sent: str, text: str, fmt: str | None, request=None) -> dict:
    row = hook("eager").render(asset, text, fmt)  # an AI effect's result first, computed here
    return eager_result(asset, sent, text, row, request)


def request_eager(asset, transformations: list[str], asynchronous: bool, notification_url: str | None,
                  request=None, api_key: str | None = None):
    """Render the eager transformations of an upload or ``explicit`` call and record them on
    the asset (``info["eager"]``).

    Synchronously (the default), each is rendered now through the derived cache and the
    ``eager`` list carries what Cloudinary reports: transformation, width, height, bytes,
    format, url, secure_url.  One starting with e_background_removal has its cut-out
    computed first, in this process (transforms.cloudinary.eager), so it too comes back
    rendered.  With ``eager_async`` one task renders them all in a worker
    (``render_eager_batch``, queued on commit) and the list says ``"status": "processing"``
    with the batch_id; ``eager_notification_url`` then gets a ``notification_type: eager``
    POST once they are done.  Every item is validated first: a bad one is a 400 before
    any work.  Returns the ``eager`` list for the API response.
    """
    checked = check_eager(transformations)
    if not checked:
        return []
    if asynchronous:
        batch_id = uuid.uuid4().hex
        items = []
        for sent, text, fmt in checked:
            url, secure_url = _urls(asset, text, fmt, request)
            items.append({"status": "processing", "batch_id": batch_id, "transformation": sent, "url": url,
                          "secure_url": secure_url})
        _record(asset, [dict(i) for i in items], asynchronous, notification_url, batch_id)
        asset_id, version_id = asset.asset_id, asset.version_id
        transaction.on_commit(lambda: render_eager_batch.delay(asset_id, version_id, [c[0] for c in checked],
                                                               batch_id, notification_url, api_key))
        return items
    results = [_render_one(asset, sent, text, fmt, request) for sent, text, fmt in checked]
    _record(asset, [{**r, "status": "processed"} for r in results], asynchronous, notification_url, None)
    return results


def _urls(asset, text: str, fmt: str | None, request=None) -> tuple[str, str]:
    return links.delivery_urls(asset, request, transformation=text, fmt=fmt or asset.format)


def _record(asset, items: list[dict], asynchronous: bool, notification_url: str | None, batch_id) -> None:
    info = dict(asset.info or {})
    info["eager"] = items
    info["eager_async"] = asynchronous
    if batch_id:
        info["eager_batch_id"] = batch_id
    if notification_url:
        info["eager_notification_url"] = notification_url
    asset.info = info
    asset.save(update_fields=["info", "updated_at"])


def _current(asset_id: str, version_id: str):
    return Asset.objects.filter(asset_id=asset_id, version_id=version_id).first()


@shared_task(acks_late=True)
def render_eager(asset_id: str, version_id: str, transformation: str) -> dict:
    """Render one eager transformation (``"<transformation>[/<format>]"``) of an asset's version.

    Returns the eager result, ``{"status": "failed", "error": ...}`` for a bad one, or
    ``{"status": "skipped"}`` when the asset was deleted or replaced meanwhile."""
    asset = _current(asset_id, version_id)
    if asset is None:
        return {"transformation": transformation, "status": "skipped"}
    sent = str(transformation).strip()
    text, fmt = split_eager(sent)
    try:
        return {**_render_one(asset, sent, text, fmt), "status": "processed"}
    except ApiError as exc:
        log.warning("eager %s of %s failed: %s", sent, asset_id, exc.message)
        return {"transformation": sent, "status": "failed", "error": {"message": exc.message}}


@shared_task(acks_late=True)
def render_eager_batch(asset_id: str, version_id: str, transformations: list[str], batch_id: str,
                       notification_url: str | None = None, api_key: str | None = None) -> list[dict]:
    """Render an upload's eager transformations in a worker, record the results on the
    asset, then POST the ``eager`` notification when asked."""
    results = [render_eager(asset_id, version_id, t) for t in transformations]
    results = [{**r, "batch_id": batch_id} for r in results]
    if all(r["status"] == "skipped" for r in results):
        return results
    with transaction.atomic():
        asset = Asset.objects.select_for_update().filter(asset_id=asset_id, version_id=version_id).first()
        if asset is None:
            return results
        info = dict(asset.info or {})
        if info.get("eager_batch_id") in (None, batch_id):
            info["eager"] = results
            asset.info = info
            asset.save(update_fields=["info", "updated_at"])
    if notification_url:
        payload = {"notification_type": "eager", "batch_id": batch_id, "asset_id": asset_id,
                   "public_id": asset.public_id, "resource_type": asset.resource_type, "type": asset.type,
                   "version": asset.version, "eager": [{k: v for k, v in r.items() if k != "batch_id"}
                                                       for r in results]}
        enqueue_notification(notification_url, payload, api_key)
    return results


def request_image_metadata(asset, from_page: bool = False) -> None:
    """Queue the computation of the current version's metadata (assets.imagemeta) after the
    caller's commit: on every stored version (assets.receivers), and from an asset page that
    finds none (a version stored before the worker did this), at most once per
    IMAGE_METADATA_QUEUED_FOR seconds per version."""
    if not imagemeta.has_metadata(asset):
        return
    asset_id, version_id = asset.pk, asset.version_id
    if from_page and not cache.add(f"imagemeta-queued:{version_id}", 1, IMAGE_METADATA_QUEUED_FOR):
        return
    # on the analysis queue with face detection (DAM_FACES_QUEUE), so a bulk upload's metadata
    # never delays eager renders and notifications on the main queue
    queue = settings.DAM_FACES_QUEUE
    transaction.on_commit(lambda: compute_image_metadata.apply_async((asset_id, version_id), queue=queue))


@shared_task(acks_late=True)
def compute_image_metadata(asset_id: int, version_id: str) -> None:
    """EXIF, colour and palette of a stored version, kept on its AssetVersion row; nothing when
    the asset has another version by now (that one has its own task) or is gone."""
    asset = Asset.objects.filter(pk=asset_id, version_id=version_id).first()
    if asset is not None:
        imagemeta.for_asset(asset)
