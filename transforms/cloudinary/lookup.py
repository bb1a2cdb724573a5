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
