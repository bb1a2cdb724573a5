"""The Background Removal Refiner's data: validated stroke lists and their revisions.

A mask is a list of strokes (transforms.ops.mask documents the format and draws them;
1 to MAX_POINTS points a stroke, at most MAX_STROKES strokes).  A save rasterises them
once at the cut-out's size into a PNG stored with the revision; renders read it back
(the engine's ``alpha_mask`` operation applies it to the stored cut-out's alpha; the
cut-out keeps the original's RGB everywhere, so "restore" brings its pixels back).

Every `save` writes a new revision with the complete list (the client always sends it
whole, so undo works across sessions) and drops the asset's derived images whose plan
starts with e_background_removal (one filter on the dependency kinds their rows record,
transforms.dependencies); their cache keys name the revision (``:mask:<revision>``,
transforms.overrides), so no stale rendering is ever served.
"""

from __future__ import annotations

import io
import logging
import math
import numbers
import uuid

import numpy as np
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.db import IntegrityError, transaction
from django.db.models import Max

from assets.api import bounded_json
from assets.api.serialize import iso
from assets.ingest import discard_file
from assets.models import Asset
from core.errors import BadRequest, Conflict, NotFound
from transforms import derived
from transforms.ai import bgremoval, matting
from transforms.cloudinary import entry
from transforms.models import Cutout
from transforms.ops.mask import TOOLS, rasterise

from ..models import BackgroundMask

log = logging.getLogger(__name__)

MAX_STROKES = 500
MAX_POINTS = 5000
STROKE_KEYS = frozenset(("tool", "size", "points"))


# --- validation --------------------------------------------------------------------------


def _number(value) -> float | None:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def validate(strokes) -> list[dict]:
    """The strokes, checked and normalised (floats, only the known keys); BadRequest
    naming the first problem otherwise.  A JSON text of the list is accepted too."""
    if isinstance(strokes, (str, bytes)):
        try:
            strokes = bounded_json.loads(strokes, "strokes")  # nesting and numbers bounded
        except BadRequest as exc:
            raise BadRequest(f"Invalid strokes: not valid JSON (expected a list of strokes): {exc.message}") from None
    if not isinstance(strokes, list):
        raise BadRequest("Invalid strokes: expected a list of strokes "
                         '[{"tool": "remove"|"restore", "size": <0..1>, "points": [[x, y], ...]}, ...]')
    if len(strokes) > MAX_STROKES:
        raise BadRequest(f"Too many strokes: {len(strokes)} (at most {MAX_STROKES})")
    clean = []
    for index, stroke in enumerate(strokes):
        where = f"Invalid stroke {index}"
        if not isinstance(stroke, dict):
            raise BadRequest(f"{where}: expected an object with tool, size and points")
        unknown = sorted(set(stroke) - STROKE_KEYS)
        if unknown:
            raise BadRequest(f"{where}: unknown key {unknown[0]!r} (expected tool, size and points)")
        tool = stroke.get("tool")
        if tool not in TOOLS:
            raise BadRequest(f"{where}: tool must be 'remove' or 'restore' (got {tool!r})")
        size = _number(stroke.get("size"))
        if size is None or not 0 < size <= 1:
            raise BadRequest(f"{where}: size must be a number with 0 < size <= 1, the brush diameter as a "
                             f"fraction of the image width (got {stroke.get('size')!r})")
        points = stroke.get("points")
        if not isinstance(points, list) or not points:
            raise BadRequest(f"{where}: points must be a non-empty list of [x, y] pairs")
        if len(points) > MAX_POINTS:
            raise BadRequest(f"{where}: too many points: {len(points)} (at most {MAX_POINTS} a stroke)")
        fast = _points_array(points)
        if fast is not None:
            clean.append({"tool": tool, "size": size, "points": fast.tolist()})
            continue
        pairs = []
        for p_index, point in enumerate(points):  # slow path: name the first bad point
            if not isinstance(point, (list, tuple)) or len(point) != 2:
                raise BadRequest(f"{where}: point {p_index} must be a pair [x, y] (got {point!r})")
            x, y = _number(point[0]), _number(point[1])
            if x is None or y is None or not (0 <= x <= 1 and 0 <= y <= 1):
                raise BadRequest(f"{where}: point {p_index} must have x and y between 0 and 1, fractions of the "
                                 f"image width and height (got {point!r})")
            pairs.append([x, y])
        clean.append({"tool": tool, "size": size, "points": pairs})
    return clean


def _points_array(points: list) -> np.ndarray | None:
    """The points as an (n, 2) float array when all are valid (numbers, not booleans, in
    0..1); None when any is not (the caller then finds which)."""
    try:
        array = np.asarray(points)
    except (ValueError, TypeError):  # ragged
        return None
    if array.ndim != 2 or array.shape[1] != 2 or array.dtype.kind not in "iuf":
        return None
    array = array.astype(np.float64)
    if not (np.isfinite(array).all() and array.min() >= 0 and array.max() <= 1):
        return None
    if any(type(v) is bool for point in points for v in point):  # noqa: E721 - True is an int to numpy
        return None
    return array


def _base_revision(value) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise BadRequest(f"Invalid base_revision {value!r}: expected a revision number (0 = no mask yet)")
    try:
        number = int(str(value).strip())
    except ValueError:
        raise BadRequest(f"Invalid base_revision {value!r}: expected a revision number (0 = no mask yet)") from None
    if number < 0:
        raise BadRequest(f"Invalid base_revision {value!r}: expected a revision number (0 = no mask yet)")
    return number


# --- storing -------------------------------------------------------------------------------


def _encode_png(mask: np.ndarray) -> bytes:
    from PIL import Image  # only when a mask is saved

    out = io.BytesIO()
    Image.fromarray(mask, "L").save(out, "PNG", optimize=False, compress_level=6)
    return out.getvalue()


def mask_size(asset) -> tuple[int, int]:
    """The size of the asset's cut-outs: a stored one's, else the one the worker will
    make (the auto-rotated original scaled down to DAM_BG_REMOVAL_MAX_PIXELS)."""
    row = (Cutout.objects.filter(version_id=asset.version_id, status=Cutout.DONE, width__gt=0)
           .values_list("width", "height").first())
    if row is not None:
        return row
    return bgremoval.scaled_size(asset.width, asset.height, matting.max_input_pixels())


# --- revisions -----------------------------------------------------------------------------


def masks(asset):
    """The background masks painted on the asset's current version, newest revision first."""
    return BackgroundMask.objects.filter(asset_id=asset.pk, version_id=asset.version_id).order_by("-revision")


def background_mask(asset) -> BackgroundMask | None:
    """The asset's current background mask (the strokes are read only if needed)."""
    return masks(asset).defer("strokes").first()


def background_mask_revision(asset) -> int:
    """The current background mask's revision (0: none)."""
    return masks(asset).values_list("revision", flat=True).first() or 0


def background_removal(asset) -> str:
    """The cache-key part of the overrides of plans starting with e_background_removal."""
    revision = background_mask_revision(asset)
    return f":mask:{revision}" if revision else ""


def current(asset) -> BackgroundMask | None:
    """The newest revision painted on the asset's current version, or None."""
    return masks(asset).select_related("created_by").first()


def invalidate(asset) -> int:
    """Forget the asset's derived images rendered from a cut-out, as their rows record it
    (transforms.dependencies; rows stored before that are read once first; files go on
    commit)."""
    entry.record_dependencies(asset)
    return derived.forget_depending(bgremoval.NAME, asset=asset)


def save(asset, strokes, *, user=None, base_revision=None) -> BackgroundMask:
    """A new revision holding the complete `strokes` list (validated: BadRequest) for the
    asset's current version.  With `base_revision` (the revision the client started from,
    0 = none), Conflict (409) unless it is still the current one.  Derived images of plans
    starting with e_background_removal are invalidated."""
    strokes = validate(strokes)
    base = _base_revision(base_revision)
    width, height = mask_size(asset)
    stored = ""
    if strokes:
        png = _encode_png(rasterise(strokes, width, height))
        # A name of its own (storages that overwrite must not replace an older revision's file).
        name = f"refiners/{asset.version_id[:2]}/{asset.version_id}/background-mask-{uuid.uuid4().hex[:16]}.png"
        stored = storages["derived"].save(name, ContentFile(png, name=name))
    try:
        with transaction.atomic():
            locked = Asset.objects.select_for_update().filter(pk=asset.pk).only("pk", "version_id").first()
            if locked is None:
                raise NotFound(f"Resource not found - {asset.public_id}")
            if locked.version_id != asset.version_id:
                raise Conflict(f"{asset.public_id} was replaced by a new version meanwhile; reload it and paint "
                               "the mask again")
            now = current(asset)
            if base is not None and base != (now.revision if now else 0):
                raise Conflict(f"The background mask of {asset.public_id} changed meanwhile (revision "
                               f"{now.revision if now else 0}, not {base}); reload it and apply your changes again")
            last = BackgroundMask.objects.filter(asset_id=asset.pk).aggregate(last=Max("revision"))["last"] or 0
            mask = BackgroundMask.objects.create(asset_id=asset.pk, version_id=asset.version_id, revision=last + 1,
                                                 strokes=strokes, storage_name=stored, width=width, height=height,
                                                 created_by=user if getattr(user, "pk", None) else None)
            invalidate(asset)
    except IntegrityError:  # another save took the same revision number first
        discard_file(stored, "derived")
        raise Conflict(f"The background mask of {asset.public_id} was changed at the same time; reload it and "
                       "apply your changes again") from None
    except BaseException:
        discard_file(stored, "derived")
        raise
    return mask


def clear(asset, *, user=None) -> BackgroundMask:
    """A new revision without strokes: the model's cut-out as it is."""
    return save(asset, [], user=user)


def drop_other_versions(asset) -> None:
    """A new version of the asset drops the masks painted on the old ones.  The newest of
    them stays as an empty row (no strokes, no file) so revision numbers keep growing."""
    old = BackgroundMask.objects.filter(asset_id=asset.pk).exclude(version_id=asset.version_id)
    newest = old.order_by("-revision").values_list("pk", flat=True).first()
    if newest is None:
        return
    with transaction.atomic():
        old.exclude(pk=newest).delete()  # their files go on commit (refiners.receivers)
        row = BackgroundMask.objects.select_for_update().filter(pk=newest).first()
        if row is not None and (row.strokes or row.storage_name):
            name = row.storage_name
            BackgroundMask.objects.filter(pk=newest).update(strokes=[], storage_name="", width=0, height=0)
            if name:
                transaction.on_commit(lambda: discard_file(name, "derived"))


def as_dict(mask: BackgroundMask | None, asset) -> dict:
    """What the API answers for the asset's current mask (revision 0 and no strokes: none)."""
    if mask is None:
        width, height = mask_size(asset)
        return {"public_id": asset.public_id, "type": asset.type, "version": asset.version, "revision": 0,
                "strokes": [], "width": width, "height": height, "created_at": None, "created_by": None}
    width, height = (mask.width, mask.height) if mask.width else mask_size(asset)
    user = mask.created_by
    return {"public_id": asset.public_id, "type": asset.type, "version": asset.version, "revision": mask.revision,
            "strokes": mask.strokes or [], "width": width, "height": height, "created_at": iso(mask.created_at),
            "created_by": user.get_username() if user is not None else None}
