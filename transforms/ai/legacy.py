"""Legacy background removal on upload or update:
``background_removal=cloudinary_ai[:<object>...][:fine_edges]``.

As Cloudinary documents it: the response says ``info.background_removal.cloudinary_ai
.status = pending``; a worker (`run`) computes the cut-out, replaces the asset with a
PNG (a new version; the original and the PNG are both kept as backups, whatever the
backup setting), records ``status: complete`` with a confidence score (shown by the
Admin API's resource), and POSTs an ``info`` notification (signed like every
notification, retried with backoff) with the new url, secure_url and version.
"""

from __future__ import annotations

import logging
import os

from celery import shared_task
from django.db import transaction

from assets import ingest, links, tempfiles
from assets.api.serialize import iso
from assets.models import Asset
from assets.tasks import enqueue_notification
from core.errors import BadRequest

from ..originals import normalise, open_original
from . import bgremoval, lifecycle

confidence = bgremoval.confidence  # how decisive the matte is: the add-on's confidence_score

log = logging.getLogger(__name__)
KIND = "cloudinary_ai"


def parse_param(value) -> bgremoval.Options:
    """``cloudinary_ai[:car][:cat][:fine_edges]`` -> Options; 400 for anything else."""
    tokens = [t.strip() for t in str(value or "").split(":")]
    if not tokens or tokens[0] != KIND:
        raise BadRequest(f"Invalid background_removal {value!r}: only {KIND}[:<object>...][:fine_edges] is supported")
    hints, fine = [], False
    for token in tokens[1:]:
        if token == "fine_edges":
            fine = True
        elif token in bgremoval.HINTS:
            hints.append(token)
        else:
            raise BadRequest(f"Invalid background_removal option {token!r}: use fine_edges or one of "
                             f"{', '.join(sorted(bgremoval.HINTS))}")
    return bgremoval.Options(tuple(sorted(set(hints))), fine)


def check(value) -> bgremoval.Options:
    """Validate before anything is stored: the option, and that the model is there (503)."""
    options = parse_param(value)
    lifecycle.require_models(bgremoval.PRODUCER, options)
    return options


def request(asset, value, notification_url: str | None = None, api_key: str | None = None,
            origin: str = "") -> None:
    """Mark `asset` pending and queue the removal (on commit).  `origin`: the scheme and host of
    the calling request (assets.links.base_url), which the worker's notification URLs name."""
    options = check(value)
    info = dict(asset.info or {})
    info["background_removal"] = {KIND: {"status": "pending"}}
    asset.info = info
    asset.save(update_fields=["info", "updated_at"])
    asset_id, version_id = asset.asset_id, asset.version_id

    def enqueue():
        remove_background_legacy.delay(asset_id, version_id, options.canonical, notification_url, api_key, origin)

    transaction.on_commit(enqueue)


# Defined here, under transforms.tasks's name (which re-exports it for Celery's
# autodiscovery), so that `request` queues it without importing the tasks module.
@shared_task(name="transforms.tasks.remove_background_legacy", acks_late=True)
def remove_background_legacy(asset_id: str, version_id: str, options: str, notification_url: str | None = None,
                             api_key: str | None = None, origin: str = "") -> str:
    """``background_removal=cloudinary_ai`` on upload/update: replace the asset with the
    cut-out PNG and notify."""
    return run(asset_id, version_id, options, notification_url, api_key, origin)


def run(asset_id: str, version_id: str, options_text: str, notification_url: str | None = None,
        api_key: str | None = None, origin: str = "") -> str:
    asset = Asset.objects.filter(asset_id=asset_id, version_id=version_id).first()
    if asset is None:
        return "skipped"
    options = bgremoval.parse(tuple([options_text]) if options_text else (), {})
    try:
        with open_original(asset) as image:
            image = normalise(image.autorot()).copy_memory()
        produced = bgremoval.PRODUCER.compute(image, options)
        result, score = produced.image, produced.metadata["confidence_score"]
        with tempfiles.scratch_dir("bgremoval") as tmp:
            path = os.path.join(tmp, "cutout.png")
            result.pngsave(path, compression=6)
            incoming = ingest.Incoming(path, os.path.getsize(path), f"{asset.public_id.rsplit('/', 1)[-1]}.png")
            if not Asset.objects.filter(pk=asset.pk, version_id=version_id).exists():
                return "skipped"  # replaced meanwhile
            info = {"background_removal": {KIND: {"status": "complete", "data": {"confidence_score": score}}}}
            stored = ingest.store(incoming=incoming, public_id=asset.public_id, type=asset.type, overwrite=True,
                                  backup=True, tags=list(asset.tag_names), context=asset.context,
                                  original_filename=asset.original_filename, extra={"info": info})
    except Exception as exc:  # noqa: BLE001 - reported as failed, the original stays
        log.exception("legacy background removal of %s failed", asset)
        message = getattr(exc, "message", None) or f"{type(exc).__name__}: {exc}"
        Asset.objects.filter(pk=asset.pk, version_id=version_id).update(
            info={**(asset.info or {}), "background_removal": {KIND: {"status": "failed", "error": message}}})
        _notify(asset, notification_url, api_key, "failed", {"error": message}, origin)
        return "failed"
    _notify(stored.asset, notification_url, api_key, "complete", {"confidence_score": score}, origin)
    return "complete"


def _notify(asset, url: str | None, api_key: str | None, status: str, data: dict, origin: str = "") -> None:
    if not url:
        return
    delivery, secure = links.delivery_urls(asset, links.origin(origin))
    payload = {
        "notification_type": "info", "info_kind": KIND, "info_status": status, "info_data": data,
        "asset_id": asset.asset_id, "public_id": asset.public_id, "resource_type": asset.resource_type,
        "type": asset.type, "version": asset.version, "format": asset.format, "etag": asset.etag,
        "url": delivery, "secure_url": secure, "uploaded_at": iso(asset.updated_at),
    }
    enqueue_notification(url, payload, api_key)
