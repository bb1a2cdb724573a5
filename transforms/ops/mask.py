"""Engine operations for painted masks: strokes -> a one-band mask, mask -> alpha.

A mask is a list of strokes, applied in order (later ones paint over earlier ones)::

    {"tool": "remove" | "restore",
     "size": <brush diameter as a fraction of the image width, 0 < size <= 1>,
     "points": [[x, y], ...]}   # fractions 0..1 of the (auto-rotated) width / height

`rasterise` draws them into a single-band uint8 image at the result's size: 128 keeps
the model's matte, "remove" paints 0, "restore" paints 255, with a round brush,
consecutive points joined by round-capped, round-joined lines, antialiased (drawn
supersampled, then box-filtered down).  `combine` turns an RGBA image's alpha A with
mask value m into A*m/128 below 128 and A+(255-A)*(m-128)/127 above it.  `apply` is
the ``alpha_mask`` override operation (transforms.overrides): the refiners hold the
strokes and their stored rasterisation, the engine does the pixels.
"""

from __future__ import annotations

import logging
import math

import numpy as np
import pyvips
from django.core.files.storage import storages

from core.errors import BadRequest
from transforms.polyline import simplify

log = logging.getLogger(__name__)

TOOLS = {"remove": 0, "restore": 255}
KEEP = 128
# Strokes are drawn on a canvas up to 4x larger in each direction (at most this many
# pixels), then averaged down: the antialiasing of the edges.
SUPERSAMPLE_PIXELS = 4096 * 4096
MAX_SUPERSAMPLE = 4
# Drawing cost, in canvas rows the polygon and disc fills scan (~0.1-0.3 us each): a mask may
# ask at most this much (a few seconds; real refinements ask a small fraction of it).
MAX_DRAW_COST = 20_000_000
SIMPLIFY_ABOVE = 50_000  # a stroke whose segments scan more brush rows is simplified first ...
SIMPLIFY_TOLERANCE = 0.5  # ... within half a canvas pixel (at most 1/4 of an image pixel)


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
    from PIL import Image, ImageDraw  # only when a mask is drawn (renders read the stored PNG)

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


# --- applying it ----------------------------------------------------------------------------


def mask_image(mask, width: int, height: int) -> pyvips.Image | None:
    """`mask` (storage_name, width, height, strokes: a refiners.background revision) as a
    one-band uchar image of `width` x `height`: the stored PNG when it has that size, else
    rasterised again from the strokes (None when there are none)."""
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


def apply(cutout_image: pyvips.Image, mask) -> pyvips.Image:
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
