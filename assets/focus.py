"""An asset's focus areas: its faces, custom boxes and named regions, with their history.

Three stores, one per kind, all on the asset's current version:

- ``faces``: ``[[x, y, w, h], ...]``, detected in the worker after every upload and
  overwrite (transforms.ai.faces) or given (``face_coordinates`` on upload, explicit,
  update; the Focus Area Refiner). Given faces override detection.
- ``custom``: ``[[x, y, w, h], ...]`` (``custom_coordinates``); ``g_custom`` uses the largest.
- ``regions``: ``{"<name>": [[x, y], [x, y], ...]}``: two points are a box (two opposite
  corners), three or more a polygon; names of letters, digits and hyphens.

Boxes are clipped to the image (a box running past an edge comes back cut at that edge,
as Cloudinary's own API does); a box clipped to nothing, a malformed box, a bad region
name or a region with fewer than two points is a 400 naming the field.

`save` writes one revision (a `FocusAreas` row with all three stores as they then are)
and copies the values onto the `Asset` (``face_coordinates``, ``custom_coordinates``,
``regions``, ``face_count``, ``faces_version``), where every delivery reads them without
another query. A stale ``base_revision`` is a 409; older revisions stay as history.
The renderings that read a changed store are dropped after the commit
(``signals.asset_metadata_changed``, received by transforms.receivers); their cache keys
hold the values (transforms.dependencies), so none would be served again anyway.
"""

from __future__ import annotations

import math
import numbers
import re

from django.db import IntegrityError, transaction
from django.db.models import Max

from core import bounded_json
from core.errors import BadRequest, Conflict

from . import signals
from .models import Asset, FocusAreas

MAX_COORDINATE = 1_000_000  # pixels; far beyond any image the pixel limit lets in
MAX_BOXES = 100  # face or custom boxes per asset
MAX_REGIONS = 100
MAX_REGION_POINTS = 1000
MAX_NAME = 64
REGION_NAME = re.compile(r"^[A-Za-z0-9-]+$")
SOURCES = ("detection", "upload", "explicit", "update", "refiner", "api")
UNSET = object()

# Asset field -> the field name asset_metadata_changed carries (transforms.receivers maps
# those to the dependency kinds whose renderings go).
_FIELDS = {"faces": "face_coordinates", "custom": "custom_coordinates", "regions": "regions"}


# --- parsing and validation --------------------------------------------------------------


def _coordinate(item, field: str) -> int:
    """One coordinate: a number or its text, finite and within MAX_COORDINATE; fractions are cut."""
    if isinstance(item, bool) or not isinstance(item, (numbers.Real, str)):
        raise BadRequest(f"Invalid {field}: {str(item)[:40]!r} is not a number")
    if isinstance(item, str):
        try:
            item = float(item.strip())
        except ValueError:
            raise BadRequest(f"Invalid {field}: {item[:40]!r} is not a number") from None
    if not (math.isfinite(item) and abs(item) <= MAX_COORDINATE):
        raise BadRequest(f"Invalid {field}: {item!r} is not a coordinate within {MAX_COORDINATE}")
    return int(item)


def parse_boxes(value, field: str) -> list[list[int]] | None:
    """``x,y,w,h|x,y,w,h``, a list of lists, or one flat ``[x, y, w, h]`` (as the SDKs'
    encode_double_array sends it) into ``[[x, y, w, h], ...]``; None when not given, []
    for an empty value (which clears the store)."""
    if value is None:
        return None
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):  # a JSON text (a form field carrying the REST body's list)
            value = bounded_json.loads(text, field)
        else:
            rows = [r.split(",") for r in text.split("|") if r.strip()]
            value = rows
    if not isinstance(value, (list, tuple)):
        raise BadRequest(f"Invalid {field}: expected x,y,width,height[|x,y,width,height...] or a list of boxes")
    rows = [value] if value and not any(isinstance(r, (list, tuple)) for r in value) else list(value)
    if len(rows) > MAX_BOXES:
        raise BadRequest(f"Invalid {field}: {len(rows)} boxes, at most {MAX_BOXES}")
    boxes = []
    for row in rows:
        if not isinstance(row, (list, tuple)) or len(row) != 4:
            raise BadRequest(f"Invalid {field}: {str(row)[:60]!r} is not a box x,y,width,height")
        box = [_coordinate(n, field) for n in row]
        if box[2] <= 0 or box[3] <= 0:
            raise BadRequest(f"Invalid {field}: box {box} has no area (width and height must be positive)")
        boxes.append(box)
    return boxes


def clip_boxes(boxes: list[list[int]], width: int, height: int, field: str) -> list[list[int]]:
    """Each box cut at the image's edges (the part inside: [120,30,109,150] on a 241x51
    image -> [120,30,109,21]; Cloudinary answers [120,30,109,51] there, a box still
    running past the edge, see the README); a box with nothing inside the image is a 400."""
    out = []
    for x, y, w, h in boxes:
        x0, y0 = max(x, 0), max(y, 0)
        x1, y1 = min(x + w, width), min(y + h, height)
        if x1 <= x0 or y1 <= y0:
            raise BadRequest(f"Invalid {field}: box {[x, y, w, h]} lies outside the {width}x{height} image")
        out.append([x0, y0, x1 - x0, y1 - y0])
    return out


def parse_regions(value, field: str = "regions") -> dict[str, list[list[int]]] | None:
    """A JSON object (or its text) of name -> points into a clean dict; None when not given,
    {} for an empty value (which clears the store)."""
    if value is None:
        return None
    if isinstance(value, str):
        if not value.strip():
            return {}
        value = bounded_json.loads(value, field)
    if isinstance(value, (list, tuple)):  # the resource-details shape [{"name":..., "values": [...]}]
        try:
            value = {item["name"]: item["values"] for item in value}
        except (TypeError, KeyError):
            raise BadRequest(f'Invalid {field}: expected a JSON object {{"name": [[x, y], [x, y]], ...}}') from None
    if not isinstance(value, dict):
        raise BadRequest(f'Invalid {field}: expected a JSON object {{"name": [[x, y], [x, y]], ...}}')
    if len(value) > MAX_REGIONS:
        raise BadRequest(f"Invalid {field}: {len(value)} regions, at most {MAX_REGIONS}")
    regions = {}
    for name, points in value.items():
        if not isinstance(name, str) or not REGION_NAME.match(name) or len(name) > MAX_NAME:
            raise BadRequest(f"Invalid {field}: region name {str(name)[:80]!r} (use letters, digits and "
                             f"hyphens, at most {MAX_NAME})")
        where = f"{field}: region {name!r}"
        if not isinstance(points, (list, tuple)) or len(points) < 2:
            raise BadRequest(f"Invalid {where}: needs at least two points [[x, y], [x, y]] "
                             "(two for a box, three or more for a polygon)")
        if len(points) > MAX_REGION_POINTS:
            raise BadRequest(f"Invalid {where}: {len(points)} points, at most {MAX_REGION_POINTS}")
        clean = []
        for point in points:
            if not isinstance(point, (list, tuple)) or len(point) != 2:
                raise BadRequest(f"Invalid {where}: {str(point)[:40]!r} is not a point [x, y]")
            clean.append([_coordinate(point[0], where), _coordinate(point[1], where)])
        regions[name] = clean
    return regions


def clip_regions(regions: dict, width: int, height: int, field: str = "regions") -> dict:
    """Points moved onto the image; a region whose outline has no area inside it is a 400."""
    out = {}
    for name, points in regions.items():
        clipped = [[min(max(x, 0), width), min(max(y, 0), height)] for x, y in points]
        xs, ys = [p[0] for p in clipped], [p[1] for p in clipped]
        if max(xs) - min(xs) <= 0 or max(ys) - min(ys) <= 0:
            raise BadRequest(f"Invalid {field}: region {name!r} lies outside the {width}x{height} image "
                             "or has no area")
        out[name] = clipped
    return out


def region_box(points) -> tuple[int, int, int, int]:
    """The bounding box (x, y, w, h) of a region's points."""
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    return min(xs), min(ys), max(1, max(xs) - min(xs)), max(1, max(ys) - min(ys))


def regions_as_list(regions: dict | None) -> list[dict]:
    """The Admin API's shape: ``[{"name": ..., "values": [[x, y], ...]}, ...]``."""
    return [{"name": name, "values": points} for name, points in (regions or {}).items()]


# --- the store ---------------------------------------------------------------------------


def current(asset) -> FocusAreas | None:
    return FocusAreas.objects.filter(asset_id=asset.pk, version_id=asset.version_id).order_by("-revision").first()


def revision(asset) -> int:
    row = current(asset)
    return row.revision if row is not None else 0


def history(asset, limit: int = 50) -> list[FocusAreas]:
    return list(FocusAreas.objects.filter(asset_id=asset.pk, version_id=asset.version_id)
                .order_by("-revision")[:limit])


def state(asset) -> dict:
    """The current stores as the REST API returns them."""
    return {"faces": list(asset.face_coordinates or []), "custom": list(asset.custom_coordinates or []),
            "regions": dict(asset.regions or {})}


def as_dict(asset) -> dict:
    row = current(asset)
    return {**state(asset), "revision": row.revision if row is not None else 0,
            "faces_detected": asset.faces_version == asset.version_id,
            "width": asset.width, "height": asset.height,
            "source": row.source if row is not None else "",
            "created_at": row.created_at.isoformat() if row is not None else None}


def check(asset, *, faces=UNSET, custom=UNSET, regions=UNSET) -> dict:
    """Parse and clip what is given (against the asset's current size): {kind: value}."""
    out = {}
    if faces is not UNSET and faces is not None:
        out["faces"] = clip_boxes(parse_boxes(faces, "faces"), asset.width, asset.height, "faces")
    if custom is not UNSET and custom is not None:
        out["custom"] = clip_boxes(parse_boxes(custom, "custom"), asset.width, asset.height, "custom")
    if regions is not UNSET and regions is not None:
        out["regions"] = clip_regions(parse_regions(regions), asset.width, asset.height)
    return out


def save(asset, *, faces=UNSET, custom=UNSET, regions=UNSET, base_revision=None, source: str = "api",
         user=None) -> FocusAreas | None:
    """Write what is given (kinds left out stay unchanged) as a new revision.

    `faces`, `custom`: boxes in any form `parse_boxes` reads; `regions`: anything
    `parse_regions` reads. 400 for bad values, 409 when `base_revision` is given and is
    not the current revision. Returns the new revision (None when nothing was given)."""
    if source not in SOURCES:
        raise ValueError(f"unknown focus source {source!r}")
    base = _base(base_revision)
    values = check(asset, faces=faces, custom=custom, regions=regions)
    if not values and base is None:
        return None
    for attempt in range(3):
        try:
            with transaction.atomic():
                row = _write(asset, values, base, source, user)
            break
        except IntegrityError:  # a concurrent save took the revision number: read again
            if attempt == 2:
                raise
    return row


def _base(value) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise BadRequest("Invalid base_revision: expected a whole number")
    try:
        number = int(str(value).strip())
    except ValueError:
        raise BadRequest(f"Invalid base_revision: {str(value)[:40]!r} is not a whole number") from None
    if number < 0 or number > 2**31:
        raise BadRequest(f"Invalid base_revision: {number}")
    return number


def _write(asset, values: dict, base: int | None, source: str, user) -> FocusAreas:
    locked = Asset.objects.select_for_update().get(pk=asset.pk)
    latest = current(locked)
    now = latest.revision if latest is not None else 0
    if base is not None and base != now:
        raise Conflict(f"The focus areas changed since revision {base}: the current revision is {now} "
                       "(reload them and apply your change again)")
    changed = []
    for kind, value in values.items():
        field = _FIELDS[kind]
        if getattr(locked, field) != value:
            changed.append(field)
        setattr(locked, field, value)
    update = list(changed)
    if "faces" in values:
        locked.face_count = len(values["faces"])
        locked.faces_version = locked.version_id
        update += ["face_count", "faces_version"]
    if update:
        locked.save(update_fields=[*dict.fromkeys(update), "updated_at"])
    number = (FocusAreas.objects.filter(asset_id=locked.pk).aggregate(n=Max("revision"))["n"] or 0) + 1
    row = FocusAreas.objects.create(
        asset=locked, version_id=locked.version_id, revision=number, faces=list(locked.face_coordinates or []),
        custom=list(locked.custom_coordinates or []), regions=dict(locked.regions or {}), source=source,
        created_by=user if getattr(user, "pk", None) else None)
    for field in ("face_coordinates", "custom_coordinates", "regions", "face_count", "faces_version"):
        setattr(asset, field, getattr(locked, field))
    if changed:
        fields = tuple(changed)
        transaction.on_commit(lambda: signals.asset_metadata_changed.send(Asset, asset=locked, fields=fields))
    return row


def record_detection(asset, version_id: str, faces: list[list[int]]) -> bool:
    """Store detected faces for `version_id`, unless the asset moved on to another version
    or its faces for this version are known already (given ones override detection).
    Returns whether they were stored; `asset` is updated either way to what is stored."""
    faces = clip_boxes(faces, asset.width, asset.height, "faces") if faces else []
    with transaction.atomic():
        locked = Asset.objects.select_for_update().filter(pk=asset.pk).first()
        if locked is None or locked.version_id != version_id or locked.faces_version == version_id:
            if locked is not None:
                for field in ("face_coordinates", "face_count", "faces_version"):
                    setattr(asset, field, getattr(locked, field))
            return False
        _write(locked, {"faces": faces}, None, "detection", None)
    asset.face_coordinates, asset.face_count, asset.faces_version = faces, len(faces), version_id
    return True
