"""Where a generated image goes: a managed asset (an ordinary upload through ``assets.ingest``:
versions, delivery, transformations, the Library) or a temporary image.

A temporary image is a file in the default storage under ``generated/`` and a ``TemporaryImage``
row; its URL (``/v2/generate/<cloud>/temporary/<token>.<ext>?expires=<t>&signature=<s>``) is signed
with the server's secret and works until ``expires_at`` (``DAM_IMAGE_GENERATION_TEMPORARY_TTL``
after it was made).  After that it answers 410 until the worker task ``expire_temporary`` (or the
sweep) deletes it, then 404.
"""

from __future__ import annotations

import hmac
from datetime import datetime, timedelta, timezone

import pyvips
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.utils import timezone as dj_timezone
from django.utils.crypto import salted_hmac

from core.errors import ApiError

from .. import ingest, links, tempfiles
from ..api.params import as_bool, as_context, as_list
from ..models import TemporaryImage, UploadPreset
from .errors import GenerationError, from_api_error
from .request import Request

EXTENSIONS = {"png": "png", "jpeg": "jpg", "webp": "webp"}
CONTENT_TYPES = {"png": "image/png", "jpg": "image/jpeg", "webp": "image/webp"}
SALT = "dam.generation.temporary"


def encode(image: pyvips.Image, fmt: str) -> bytes:
    """The image in the requested format (JPEG has no alpha: flattened on white)."""
    if fmt == "jpeg":
        if image.hasalpha():
            image = image.flatten(background=[255, 255, 255]).cast("uchar")
        return image.jpegsave_buffer(Q=90, strip=True)
    if fmt == "webp":
        return image.webpsave_buffer(Q=90, strip=True)
    return image.pngsave_buffer(compression=6, strip=True)


def _iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def describe(req: Request, data: bytes, width: int, height: int, storage: dict, created: datetime) -> dict:
    """One entry of ``data.assets``, as the brief spells it."""
    return {"storage": storage, "format": req.format, "width": width, "height": height, "bytes": len(data),
            "model": req.model, "seed": req.seed, "created_at": _iso(created)}


# --- managed assets --------------------------------------------------------------------------------


def _preset(name: str | None) -> dict:
    if not name:
        return {}
    preset = UploadPreset.objects.filter(name=name).first()
    if preset is None:
        raise GenerationError(f"Upload preset not found: {name}", details={"field": "target.upload_preset"})
    return {k: v for k, v in (preset.settings or {}).items() if v not in (None, "")}


def store_managed(req: Request, image: pyvips.Image, request=None) -> dict:
    """Store the image as an upload-type image asset; the upload preset gives its folder, tags,
    context and overwrite.  Returns its ``data.assets`` entry."""
    data = encode(image, req.format)
    ext = EXTENSIONS[req.format]
    try:
        preset = _preset(req.upload_preset)
        public_id = ingest.choose_public_id(public_id=req.public_id,
                                            folder=str(preset.get("folder") or preset.get("asset_folder") or ""),
                                            filename="", use_filename=False, unique_filename=False)
        with tempfiles.named("generated", "." + ext) as out:
            out.write(data)
            out.flush()
            result = ingest.store(incoming=ingest.Incoming(out.name, len(data), f"generated.{ext}"),
                                  public_id=public_id, type="upload",
                                  overwrite=as_bool(preset.get("overwrite"), True, "overwrite"),
                                  tags=as_list(preset.get("tags")), context=as_context(preset.get("context")),
                                  original_filename="generated")
    except ApiError as error:
        raise from_api_error(error) from None
    asset = result.asset
    _, secure_url = links.delivery_urls(asset, request)
    storage = {"storage_type": "managed_asset", "secure_url": secure_url, "asset_id": asset.asset_id,
               "public_id": asset.public_id, "resource_type": asset.resource_type, "type": asset.type,
               "version": asset.version}
    return describe(req, data, asset.width, asset.height, storage, asset.created_at or dj_timezone.now())


# --- temporary images ------------------------------------------------------------------------------


def _signature(name: str, expires: int) -> str:
    return salted_hmac(SALT, f"{name}:{expires}", algorithm="sha256").hexdigest()[:32]


def temporary_url(row: TemporaryImage, request=None) -> str:
    name = f"{row.token}.{row.format}"
    expires = int(row.expires_at.timestamp())
    return (f"{links.base_url(request)}/v2/generate/{settings.DAM_CLOUD_NAME}/temporary/{name}"
            f"?expires={expires}&signature={_signature(name, expires)}")


def store_temporary(req: Request, image: pyvips.Image, request=None, task=None) -> tuple[dict, TemporaryImage]:
    """Keep the image until its expiry; returns its ``data.assets`` entry and row (the caller
    schedules the row's deletion)."""
    data = encode(image, req.format)
    ext = EXTENSIONS[req.format]
    now = dj_timezone.now()
    row = TemporaryImage(task=task, format=ext, width=image.width, height=image.height, bytes=len(data),
                         expires_at=now + timedelta(seconds=settings.DAM_IMAGE_GENERATION_TEMPORARY_TTL))
    row.storage_name = storages["default"].save(f"generated/{row.token}.{ext}", ContentFile(data))
    try:
        row.save()
    except BaseException:
        ingest.discard_file(row.storage_name)
        raise
    storage = {"storage_type": "temporary", "secure_url": temporary_url(row, request),
               "expires_at": _iso(row.expires_at)}
    return describe(req, data, image.width, image.height, storage, now), row


def open_temporary(name: str, expires: str, signature: str) -> tuple[TemporaryImage, bytes]:
    """The row and bytes a temporary URL names: 404 when the signature does not match or the
    image is gone, 410 once it expired."""
    token, _, ext = name.partition(".")
    try:
        moment = int(expires)
    except (TypeError, ValueError):
        moment = -1
    if moment < 0 or not hmac.compare_digest(_signature(name, moment), str(signature or "")):
        raise GenerationError("Temporary image not found", status=404, code="not_found")
    row = TemporaryImage.objects.filter(token=token, format=ext).first()
    if row is None or int(row.expires_at.timestamp()) != moment:
        raise GenerationError("Temporary image not found", status=404, code="not_found")
    if row.expires_at <= dj_timezone.now():
        raise GenerationError("This temporary image has expired", status=410, code="expired")
    try:
        with storages["default"].open(row.storage_name, "rb") as fh:
            return row, fh.read()
    except (FileNotFoundError, OSError):
        raise GenerationError("Temporary image not found", status=404, code="not_found") from None


def delete_temporary(row: TemporaryImage) -> None:
    ingest.discard_file(row.storage_name)
    row.delete()


def expired(now: datetime | None = None):
    return TemporaryImage.objects.filter(expires_at__lte=now or dj_timezone.now())
