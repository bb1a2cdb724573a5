"""Which asset a delivery path names.

The last dot of the path usually starts the format (``photo.jpg``); a public_id that
itself ends in a dotted suffix (``report.v2``, ``photo.jpg`` uploaded with that id) is
found by trying the whole name, served in its own format.
"""

from __future__ import annotations

from assets.models import Asset
from core.errors import BadRequest, NotFound

from .. import rows
from ..plan import Plan, without_format
from .parser import DeliveryPath


def _get(type_: str, public_id: str) -> Asset | None:
    # (type, public_id) is unique: one row, no ordering (transforms.rows: SQL compiled once)
    return rows.get(Asset, resource_type="image", type=type_, public_id=public_id)


def find_asset(parsed: DeliveryPath, plan: Plan) -> tuple[Asset, Plan]:
    asset = _get(parsed.type, parsed.public_id)
    if asset is not None:
        return asset, plan
    if parsed.extension:
        whole = _get(parsed.type, f"{parsed.public_id}.{parsed.extension}")
        if whole is not None:
            return whole, without_format(plan)
        if not plan.is_known_format:
            raise BadRequest(f"Unsupported format: {parsed.extension}")
    raise NotFound(f"Resource not found - {parsed.public_id}")


def find_file(parsed: DeliveryPath, resource_type: str) -> Asset:
    """The raw or video asset a delivery path names.  A raw file's extension is part of its
    public_id (the whole name is tried first); a video is served only in its own format."""
    whole = f"{parsed.public_id}.{parsed.extension}" if parsed.extension else parsed.public_id
    if resource_type == "raw":
        asset = rows.get(Asset, resource_type="raw", type=parsed.type, public_id=whole)
        if asset is None and parsed.extension:
            asset = rows.get(Asset, resource_type="raw", type=parsed.type, public_id=parsed.public_id)
        if asset is None:
            raise NotFound(f"Resource not found - {whole}")
        return asset
    asset = rows.get(Asset, resource_type="video", type=parsed.type, public_id=parsed.public_id)
    if asset is not None and (not parsed.extension or parsed.extension.lower() == asset.format):
        return asset
    named = rows.get(Asset, resource_type="video", type=parsed.type, public_id=whole) if parsed.extension else None
    if named is not None:
        return named
    if asset is not None:
        raise BadRequest(f"Video conversion to {parsed.extension} is not supported yet: deliver it as .{asset.format}")
    raise NotFound(f"Resource not found - {parsed.public_id}")
