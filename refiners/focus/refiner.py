"""The Focus Area Refiner on the refiner protocol (refiners.base).

Its payload is the whole body ``{"faces": [[x, y, w, h], ...], "custom": [[x, y, w, h]],
"regions": {"<name>": [[x, y], ...]}}`` (kinds left out stay unchanged); a revision is
an assets.models.FocusAreas row.  REST saves are recorded with source "api", the
Studio screen's with "refiner".  It contributes no override and no dependency: the
engine reads the Asset's fields, and the cache keys hold their values.
"""

from __future__ import annotations

from assets import focus
from assets.models import FocusAreas
from core.errors import BadRequest

from .. import base

NAME = "focus_areas"
FIELDS = ("faces", "custom", "regions")
HISTORY = 20  # revisions listed in the API's answer and on the screen


class FocusRefiner(base.Refiner):
    name = NAME
    payload = FIELDS  # several body fields: the view hands over a dict of those given
    screen = "refine-focus"

    def validate(self, payload) -> dict:
        """The given kinds parsed (not clipped: that needs the asset); 400 naming the field."""
        if not isinstance(payload, dict):
            raise BadRequest('Invalid request: expected {"faces": [...], "custom": [...], "regions": {...}}')
        unknown = sorted(set(payload) - set(FIELDS))
        if unknown:
            raise BadRequest(f"Invalid {unknown[0]}: unknown focus area kind (use faces, custom or regions)")
        out = {}
        for kind in ("faces", "custom"):
            if payload.get(kind) is not None:
                out[kind] = focus.parse_boxes(payload[kind], kind)
        if payload.get("regions") is not None:
            out["regions"] = focus.parse_regions(payload["regions"])
        return out

    def save(self, asset, payload, *, base_revision=None, user=None, source: str = "api"):
        values = self.validate(payload)
        row = focus.save(asset, **values, base_revision=base_revision, source=source, user=user)
        if row is None:  # nothing given and no base: the current revision, unchanged
            row = focus.current(asset)
        return row

    def empty(self) -> dict:
        return {"faces": [], "custom": [], "regions": {}}

    def current(self, asset):
        return focus.current(asset)

    def as_dict(self, revision, asset) -> dict:
        out = focus.as_dict(asset)
        out["history"] = [history_item(row) for row in history(asset)]
        return out

    def revision(self, asset) -> int:
        return focus.revision(asset)


def history(asset, limit: int = HISTORY) -> list[FocusAreas]:
    """The newest revisions of the asset's current version, newest first."""
    return list(FocusAreas.objects.filter(asset_id=asset.pk, version_id=asset.version_id)
                .select_related("created_by").order_by("-revision")[:limit])


def history_item(row) -> dict:
    return {"revision": row.revision, "source": row.source, "created_at": row.created_at.isoformat(),
            "created_by": row.created_by.get_username() if row.created_by_id else None,
            "faces": row.faces, "custom": row.custom, "regions": row.regions}


REFINER = base.register(FocusRefiner())
