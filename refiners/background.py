"""Background Removal Refiner: hand-painted corrections of an asset's AI cut-out.

A mask is a list of strokes, applied in order (later ones paint over earlier ones)::

    {"tool": "remove" | "restore",
     "size": <brush diameter as a fraction of the image width, 0 < size <= 1>,
     "points": [[x, y], ...]}   # fractions 0..1 of the (auto-rotated) width / height

(1 to MAX_POINTS points a stroke, at most MAX_STROKES strokes).  They are rasterised
(`rasterise`) into a single-band uint8 image at the cut-out's size: 128 keeps the
model's matte, "remove" paints 0, "restore" paints 255, with a round brush, consecutive
points joined by round-capped, round-joined lines, antialiased (drawn supersampled, then
box-filtered down).  `apply` turns the cut-out's alpha A with mask value m into
A*m/128 below 128 and A+(255-A)*(m-128)/127 above it; the cut-out keeps the original's
RGB everywhere, so "restore" brings its pixels back.

Every `save` writes a new revision with the complete list (the client always sends it
whole, so undo works across sessions) and drops the asset's derived images whose plan
starts with e_background_removal; their cache keys name the revision
(refiners.resolve), so no stale rendering is ever served.
"""

from __future__ import annotations

import io
import logging
import math
import numbers
import uuid

import numpy as np
import pyvips
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.db import IntegrityError, transaction
from django.db.models import Max

from assets.api.errors import BadRequest, Conflict, NotFound
from assets.ingest import discard_file
from transforms import derived
from transforms.ai import bgremoval
from transforms.cloudinary import entry
from transforms.polyline import simplify

from .models import BackgroundMask

log = logging.getLogger(__name__)

TOOLS = {"remove": 0, "restore": 255}
KEEP = 128
MAX_STROKES = 500
MAX_POINTS = 5000
STROKE_KEYS = frozenset(("tool", "size", "points"))
# Strokes are drawn on a canvas up to 4x larger in each direction (at most this many
# pixels), then averaged down: the antialiasing of the edges.
SUPERSAMPLE_PIXELS = 4096 * 4096
MAX_SUPERSAMPLE = 4
# Drawing cost, in canvas rows the polygon and disc fills scan (~0.1-0.3 us each): a mask may
# ask at most this much (a few seconds; real refinements ask a small fraction of it).
MAX_DRAW_COST = 20_000_000
SIMPLIFY_ABOVE = 50_000  # a stroke whose segments scan more brush rows is simplified first ...
SIMPLIFY_TOLERANCE = 0.5  # ... within half a canvas pixel (at most 1/4 of an image pixel)


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
        from assets.api import bounded_json

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


# --- rasterisation -----------------------------------------------------------------------


def supersampling(width: int, height: int) -> int:
    return max(1, min(MAX_SUPERSAMPLE, math.isqrt(SUPERSAMPLE_PIXELS // max(1, width * height))))


def _too_costly(cost: float, height: int, k: int) -> BadRequest:
    return BadRequest(f"Too much painting for one mask: the brush would sweep over {cost / (height * k):.0f} times "
                      f"the image height (at most {MAX_DRAW_COST / (height * k):.0f}); use fewer or shorter strokes "
                      "or a smaller brush")


def _prepare(strokes: list[dict], width: int, height: int, limit: bool = True):
    """(supersampling k, [(value, diameter, points)] in the k-times larger canvas's pixel
    coordinates).  The cost of drawing counts the canvas rows each segment's fill scans
    (its height plus the brush's); with `limit`, BadRequest as soon as it passes
    MAX_DRAW_COST.  A stroke whose many segments each scan the brush's height is
    simplified first (Douglas-Peucker, within a fraction of a pixel): a drag sends points
    a pixel or so apart, and most of them can go."""
    k = supersampling(width, height)
    prepared, cost = [], 0.0
    for stroke in strokes:
        diameter = max(1.0, stroke["size"] * width * k)
        # Pillow addresses pixel centres: a fraction f of the width lies at f*W - 0.5.
        points = np.asarray(stroke["points"], dtype=np.float64) * (width * k, height * k) - 0.5
        if len(points) > 2 and diameter * len(points) > SIMPLIFY_ABOVE:
            segments = np.hypot(*np.diff(points, axis=0).T)
            if segments.mean() < diameter / 4:  # a wide brush over short segments: most points can go
                points = simplify(points, SIMPLIFY_TOLERANCE)
        keep = np.ones(len(points), bool)
        keep[1:] = np.any(np.diff(points, axis=0) != 0, axis=1)
        points = points[keep]
        cost += np.abs(np.diff(points[:, 1])).sum() + diameter * (len(points) + 1)
        if limit and cost > MAX_DRAW_COST:
            raise _too_costly(cost, height, k)
        prepared.append((TOOLS[stroke["tool"]], diameter, points))
    return k, prepared


def rasterise(strokes: list[dict], width: int, height: int, *, limit: bool = True) -> np.ndarray:
    """The (height, width) uint8 mask of validated `strokes` (128 where none paints).
    With `limit`, BadRequest when drawing them would cost more than MAX_DRAW_COST."""
    from PIL import Image, ImageDraw

    k, prepared = _prepare(strokes, width, height, limit)
    canvas = Image.new("L", (width * k, height * k), KEEP)
    draw = ImageDraw.Draw(canvas)
    for value, diameter, points in prepared:
        radius = diameter / 2
        if len(points) > 1:  # each segment a rectangle as wide as the brush ...
            along = np.diff(points, axis=0)
            across = np.stack([-along[:, 1], along[:, 0]], axis=1)
            across *= (radius / np.hypot(along[:, 0], along[:, 1]))[:, None]
            corners = np.stack([points[:-1] + across, points[1:] + across, points[1:] - across,
                                points[:-1] - across], axis=1)
            for quad in corners.tolist():
                draw.polygon([tuple(c) for c in quad], fill=value)
        for x, y in points.tolist():  # ... and a disc at every vertex: round caps and joins (and dots)
            draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=value)
    if k > 1:
        canvas = canvas.reduce(k)  # box filter: each pixel the mean of its k x k samples
    return np.asarray(canvas, dtype=np.uint8)


def _encode_png(mask: np.ndarray) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.fromarray(mask, "L").save(out, "PNG", optimize=False, compress_level=6)
    return out.getvalue()


def mask_size(asset) -> tuple[int, int]:
    """The size of the asset's cut-outs: a stored one's, else the one the worker will
    make (the auto-rotated original scaled down to DAM_BG_REMOVAL_MAX_PIXELS)."""
    from transforms.ai import matting
    from transforms.models import Cutout

    row = (Cutout.objects.filter(version_id=asset.version_id, status=Cutout.DONE, width__gt=0)
           .values_list("width", "height").first())
    if row is not None:
        return row
    return bgremoval.scaled_size(asset.width, asset.height, matting.max_input_pixels())


# --- applying it to a cut-out ----------------------------------------------------------------


def mask_image(mask: BackgroundMask, width: int, height: int) -> pyvips.Image | None:
    """The mask as a one-band uchar image of `width` x `height`: the stored PNG when it
    has that size, else rasterised again from the strokes (None when there are none)."""
    if not mask.storage_name:
        return None
    if (mask.width, mask.height) == (width, height):
        try:
            with storages["derived"].open(mask.storage_name, "rb") as fh:
                data = fh.read()
            image = pyvips.Image.new_from_buffer(data, "")
            if (image.width, image.height, image.bands) == (width, height, 1):
                return image
        except (OSError, pyvips.Error):
            log.warning("mask file %s is missing or unreadable; rasterising it again", mask.storage_name)
    strokes = mask.strokes
    if not strokes:
        return None
    return pyvips.Image.new_from_array(rasterise(strokes, width, height, limit=False))


def apply(cutout_image: pyvips.Image, mask: BackgroundMask | None) -> pyvips.Image:
    """The RGBA cut-out with `mask` applied to its alpha (unchanged without strokes)."""
    if mask is None:
        return cutout_image
    m = mask_image(mask, cutout_image.width, cutout_image.height)
    return cutout_image if m is None else combine(cutout_image, m)


def combine(cutout_image: pyvips.Image, m: pyvips.Image) -> pyvips.Image:
    """`cutout_image` (RGBA) with its alpha A changed by the one-band mask `m` of its size:
    m < 128 -> A*m/128, m > 128 -> A+(255-A)*(m-128)/127, m == 128 -> A."""
    has_alpha = cutout_image.bands in (2, 4) or cutout_image.hasalpha()
    image = cutout_image if has_alpha else cutout_image.bandjoin(255)
    colour, alpha = image.extract_band(0, n=image.bands - 1), image.extract_band(image.bands - 1)
    a, mf = alpha.cast("float"), m.cast("float")
    lowered = a * mf / KEEP
    raised = a + (255 - a) * (mf - KEEP) / (255 - KEEP)
    out = (m < KEEP).ifthenelse(lowered, (m > KEEP).ifthenelse(raised, a))
    out = (out + 0.5).cast("uchar")
    return colour.bandjoin(out).copy(interpretation=cutout_image.interpretation)


# --- revisions -----------------------------------------------------------------------------


def current(asset) -> BackgroundMask | None:
    """The newest revision painted on the asset's current version, or None."""
    from .resolve import masks

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
    from assets.models import Asset

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
    from assets.api.serialize import iso

    width, height = (mask.width, mask.height) if mask.width else mask_size(asset)
    user = mask.created_by
    return {"public_id": asset.public_id, "type": asset.type, "version": asset.version, "revision": mask.revision,
            "strokes": mask.strokes or [], "width": width, "height": height, "created_at": iso(mask.created_at),
            "created_by": user.get_username() if user is not None else None}
