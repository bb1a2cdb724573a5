"""Resource JSON in the field names and shapes the SDKs expect."""

from __future__ import annotations

from django.conf import settings

from .. import signing
from ..links import delivery_urls
from ..models import Asset


def iso(dt) -> str:
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def context_json(context: dict) -> dict:
    return {"custom": dict(context)} if context else {}


def resource_json(asset: Asset, request=None) -> dict:
    url, secure_url = delivery_urls(asset, request)
    data = {
        "asset_id": asset.asset_id,
        "public_id": asset.public_id,
        "format": asset.format,
        "version": asset.version,
        "resource_type": asset.resource_type,
        "type": asset.type,
        "created_at": iso(asset.created_at),
        "bytes": asset.bytes,
        "width": asset.width,
        "height": asset.height,
        "folder": asset.folder,
        "asset_folder": asset.folder,
        "display_name": asset.public_id.rsplit("/", 1)[-1],
        "access_mode": asset.access_mode or "public",
        "url": url,
        "secure_url": secure_url,
        "tags": asset.tag_names,
        "version_id": asset.version_id,
        "etag": asset.etag,
        "placeholder": asset.placeholder,
        "original_filename": asset.original_filename,
    }
    if asset.resource_type == "raw":  # a raw file has no format (its extension is in the public_id) nor size
        del data["format"], data["width"], data["height"]
    elif asset.resource_type == "video":
        if not asset.width:  # not read from its container (assets.fileinfo)
            del data["width"], data["height"]
        if (asset.info or {}).get("duration") is not None:
            data["duration"] = asset.info["duration"]
    if not data["tags"]:  # empty tags, context and metadata are left out, as Cloudinary does
        del data["tags"]
    if asset.context:
        data["context"] = context_json(asset.context)
    if asset.metadata:  # structured metadata, {external_id: value}; left out when empty
        data["metadata"] = dict(asset.metadata)
    if asset.access_control:  # [{access_type, start, end}], left out when never given
        data["access_control"] = [dict(rule) for rule in asset.access_control]
    return data


# What a selective response (``fields=``) always keeps (the npm SDK's own test lists these).
IDENTITY_FIELDS = ("public_id", "asset_id", "folder")


def requested_fields(params: dict) -> list[str] | None:
    """``fields=tags,secure_url`` (or ``fields[]``): the keys asked for, None when not given
    (an empty value is the full answer, as the SDKs send it for ``fields=""``)."""
    value = params.get("fields")
    if value in (None, "", []):
        return None
    items = value if isinstance(value, (list, tuple)) else str(value).split(",")
    names = [str(v).strip() for v in items if str(v).strip()]
    return names[:100] or None


def select_fields(data: dict, fields: list[str] | None, asset: Asset | None = None) -> dict:
    """`data` cut down to the identity keys and `fields`; ``tags`` and ``context`` asked
    for by name are given even when empty ([] and {})."""
    if fields is None:
        return data
    out = {k: data[k] for k in IDENTITY_FIELDS if k in data}
    for name in fields:
        if name in data:
            out[name] = data[name]
        elif name == "tags" and asset is not None:
            out["tags"] = []
        elif name == "context" and asset is not None:
            out["context"] = {}
    return out


def upload_json(asset: Asset, request, api_key: str | None, secret: str | None, existing: bool = False) -> dict:
    data = resource_json(asset, request)
    data["signature"] = signing.response_signature(asset.public_id, asset.version, secret or "")
    data["api_key"] = api_key or settings.DAM_ENV_API_KEY or ""
    if existing:
        data["existing"] = True
    info = asset.info or {}
    if info.get("background_removal"):
        data["info"] = {"background_removal": info["background_removal"]}
    return data
