"""Where to crop, what size to resize to and how to pad, computed from sizes alone.

No pixels here: `compute(iw, ih, request)` turns an input size and a resolved sizing
request (pixels, relative values and expressions already evaluated) into a
`Geometry` -- one crop of the input, one resize, and optionally one canvas to pad
onto -- which the executor applies (with shrink-on-load when it is the first step).
A `focus` box (the asset's custom coordinates, its faces, or the salient region found
by the executor for ``g_auto``) steers the crop where the gravity asks for it.

Crop modes, as Cloudinary documents them:
  scale  exact size (aspect kept when only one side is given)
  fit    inside the box, aspect kept        limit  fit, never enlarging
  mfit   fit, only ever enlarging
  fill   cover the box, then crop by gravity
  lfill  fill, never enlarging: an input smaller than the box keeps its size and is
         cropped only where it exceeds the box
  thumb  fill, with ``z`` zooming in (>1) or out (<1) around the gravity point; with a
         focus box: a crop around the box (grown to the target aspect with a margin,
         divided by ``z``, kept inside the input), resized to the box asked for
  auto   fill with ``g_auto`` by default (``z`` zooms as for thumb)
  fill_pad  fill, but pad instead of cropping into the focus box (needs g_auto)
  auto_pad  the same with g_auto as its default gravity (Cloudinary's automatic crop that pads
            rather than cut into what matters; made for generative fill)
  crop   cut a region of the input, no resizing (``z`` zooms the region, output keeps
         the requested size); without w/h, the focus box itself (``z`` scales it:
         z_0.8 is a box 25% larger around the same centre)
  pad    fit, then pad to the box         lpad  pad, never enlarging
  mpad   pad, only when the input is smaller than the box (it is enlarged to fit);
         otherwise unchanged
  (a pad mode with a focus box -- a region -- first crops to the box grown toward the
  target aspect where the input allows, then pads that)
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Box:
    x: int
    y: int
    w: int
    h: int


@dataclass(frozen=True)
class Canvas:
    width: int
    height: int
    left: int  # where the resized image goes on the canvas
    top: int


@dataclass(frozen=True)
class Geometry:
    crop: Box | None  # region of the input to keep (None: all of it)
    width: int  # size of that region after resizing
    height: int
    canvas: Canvas | None = None

    @property
    def out_size(self) -> tuple[int, int]:
        return (self.canvas.width, self.canvas.height) if self.canvas else (self.width, self.height)


@dataclass(frozen=True)
class Request:
    mode: str = "scale"
    width: float | None = None  # pixels (relative values already multiplied out)
    height: float | None = None
    ar: float | None = None
    gravity: str = ""  # compass, xy_center, auto/custom/face/faces (these use `focus`), "" default
    x: float | None = None
    y: float | None = None
    zoom: float | None = None
    focus: Box | None = None


PAD_MODES = ("pad", "lpad", "mpad")
FILL_MODES = ("fill", "lfill", "thumb", "auto", "fill_pad", "auto_pad")
FOCUS_GRAVITIES = ("auto", "custom", "face", "faces", "focus")  # "focus": any box the pipeline resolved
THUMB_MARGIN = 1.3  # c_thumb around a focus box: the box and this much around it (z_ divides it)


def _px(value: float) -> int:
    return max(1, int(math.floor(value + 0.5)))


def target_size(iw: int, ih: int, r: Request) -> tuple[float | None, float | None]:
    """The box the mode aims at: width and height with ``ar`` filling in a missing side."""
    w, h, ar = r.width, r.height, r.ar
    if ar:
        if w and not h:
            h = w / ar
        elif h and not w:
            w = h * ar
        elif not w and not h:
            if r.mode == "scale":
                w, h = float(iw), iw / ar
            elif r.mode in PAD_MODES:  # the smallest box of that shape around the input
                w, h = (ih * ar, float(ih)) if ar > iw / ih else (float(iw), iw / ar)
            else:  # the largest region of that shape inside the input
                w, h = (float(iw), iw / ar) if ar > iw / ih else (ih * ar, float(ih))
    return w, h


def _scale_to(iw: int, ih: int, w, h) -> float:
    """The uniform scale that fits `iw`x`ih` into the given side(s)."""
    if w and h:
        return min(w / iw, h / ih)
    return (w / iw) if w else (h / ih)


def place(cw: float, ch: float, bw: float, bh: float, gravity: str, x: float | None, y: float | None,
          focus: Box | None = None) -> tuple[float, float]:
    """Top-left of a `bw`x`bh` box inside `cw`x`ch` for a gravity; offsets point inwards
    from the edge the gravity names (rightwards/downwards from the centre)."""
    ox, oy = x or 0.0, y or 0.0
    if gravity == "xy_center":
        return (x or cw / 2) - bw / 2, (y or ch / 2) - bh / 2
    if gravity in FOCUS_GRAVITIES and focus is not None:
        cx, cy = focus.x + focus.w / 2, focus.y + focus.h / 2
        return cx - bw / 2 + ox, cy - bh / 2 + oy
    g = gravity if gravity and gravity not in FOCUS_GRAVITIES else "center"
    if "west" in g:
        left = ox
    elif "east" in g:
        left = cw - bw - ox
    else:
        left = (cw - bw) / 2 + ox
    if g.startswith("north"):
        top = oy
    elif g.startswith("south"):
        top = ch - bh - oy
    else:
        top = (ch - bh) / 2 + oy
    return left, top


def _region(iw: int, ih: int, rw: float, rh: float, r: Request, *, keep_aspect: bool) -> Box:
    """A `rw`x`rh` region placed by the request's gravity and clamped inside the input.
    With `keep_aspect` a region larger than the input shrinks uniformly; otherwise it is
    cut to the input (c_crop of more than there is)."""
    if keep_aspect and (rw > iw or rh > ih):
        k = min(iw / rw, ih / rh)
        rw, rh = rw * k, rh * k
    rw, rh = min(rw, iw), min(rh, ih)
    gravity = r.gravity or ("north_west" if r.mode == "crop" and (r.x is not None or r.y is not None) else "center")
    left, top = place(iw, ih, rw, rh, gravity, r.x, r.y, r.focus)
    if r.focus is not None and gravity in FOCUS_GRAVITIES:  # keep as much of the focus box as fits
        f = r.focus
        left = min(max(left, f.x + f.w - rw), f.x) if rw >= f.w else left
        top = min(max(top, f.y + f.h - rh), f.y) if rh >= f.h else top
    bw, bh = _px(rw), _px(rh)
    bw, bh = min(bw, iw), min(bh, ih)
    bx = int(min(max(math.floor(left + 0.5), 0), iw - bw))
    by = int(min(max(math.floor(top + 0.5), 0), ih - bh))
    return Box(bx, by, bw, bh)


def _whole(iw: int, ih: int, width: float, height: float) -> Geometry:
    return Geometry(None, _px(width), _px(height))


def compute(iw: int, ih: int, r: Request) -> Geometry:
    w, h = target_size(iw, ih, r)
    mode = r.mode
    if mode == "crop":
        return _crop(iw, ih, w, h, r)
    if not w and not h:
        return Geometry(None, iw, ih)
    if mode == "scale":
        if w and h:
            return _whole(iw, ih, w, h)
        s = _scale_to(iw, ih, w, h)
        return _whole(iw, ih, iw * s, ih * s)
    fit = _scale_to(iw, ih, w, h)
    if mode in ("fit", "limit", "mfit"):
        s = {"fit": fit, "limit": min(fit, 1.0), "mfit": max(fit, 1.0)}[mode]
        return _whole(iw, ih, iw * s, ih * s)
    if mode in PAD_MODES:
        return _pad(iw, ih, w, h, fit, r)
    if not (w and h):  # a fill with one side: nothing to crop
        s = fit if mode != "lfill" else min(fit, 1.0)
        return _whole(iw, ih, iw * s, ih * s)
    return _fill(iw, ih, w, h, r)


def _fill(iw: int, ih: int, w: float, h: float, r: Request) -> Geometry:
    s = max(w / iw, h / ih)
    if r.mode == "lfill" and s > 1:
        region = _region(iw, ih, min(w, iw), min(h, ih), r, keep_aspect=False)
        return Geometry(region, region.w, region.h)
    rw, rh = w / s, h / s
    focused = r.focus is not None and r.gravity in FOCUS_GRAVITIES
    if r.mode == "thumb" and focused:
        region = _around(iw, ih, r.focus, w / h, THUMB_MARGIN / (r.zoom or 1.0))
        return Geometry(region, _px(w), _px(h))
    if r.mode in ("thumb", "auto") and r.zoom:
        rw, rh = rw / r.zoom, rh / r.zoom
    if r.mode in ("fill_pad", "auto_pad") and r.focus is not None and (r.focus.w > rw + 0.5 or r.focus.h > rh + 0.5):
        # Cropping to the box would cut into the focus: keep it all and pad the rest.
        rw, rh = max(rw, r.focus.w), max(rh, r.focus.h)
        region = _region(iw, ih, rw, rh, r, keep_aspect=False)
        k = min(w / region.w, h / region.h)
        width, height = _px(region.w * k), _px(region.h * k)
        left, top = place(_px(w), _px(h), width, height, "center", None, None)
        return Geometry(region, width, height, Canvas(_px(w), _px(h), int(left), int(top)))
    region = _region(iw, ih, rw, rh, r, keep_aspect=True)
    return Geometry(region, _px(w), _px(h))


def _around(iw: int, ih: int, f: Box, aspect: float | None, factor: float) -> Box:
    """The box `f` grown by `factor` around its centre and to `aspect` (w/h, None: its own),
    shrunk uniformly when larger than the input, then moved inside it."""
    bw, bh = f.w * factor, f.h * factor
    if aspect:
        if bw / bh < aspect:
            bw = bh * aspect
        else:
            bh = bw / aspect
    if bw > iw or bh > ih:
        k = min(iw / bw, ih / bh) if aspect else 1.0
        bw, bh = min(bw * k, iw), min(bh * k, ih)
    cx, cy = f.x + f.w / 2, f.y + f.h / 2
    width, height = min(_px(bw), iw), min(_px(bh), ih)
    left = int(min(max(math.floor(cx - width / 2 + 0.5), 0), iw - width))
    top = int(min(max(math.floor(cy - height / 2 + 0.5), 0), ih - height))
    return Box(left, top, width, height)


def _grow_to(iw: int, ih: int, box: Box, aspect: float) -> Box:
    """`box` widened or heightened toward `aspect` around its centre, as far as the input allows."""
    bw, bh = float(box.w), float(box.h)
    if bw / bh < aspect:
        bw = min(bh * aspect, iw)
    else:
        bh = min(bw / aspect, ih)
    return _around(iw, ih, box, None, 1.0) if (bw, bh) == (box.w, box.h) else _around(
        iw, ih, Box(box.x + box.w // 2 - int(bw) // 2, box.y + box.h // 2 - int(bh) // 2, int(bw), int(bh)), None, 1.0)


def _crop(iw: int, ih: int, w, h, r: Request) -> Geometry:
    if not w and not h:
        if r.focus is not None and r.gravity in FOCUS_GRAVITIES:
            f = r.focus
            if r.zoom and r.zoom != 1:
                region = _around(iw, ih, f, None, 1 / r.zoom)
            else:
                region = _region(iw, ih, f.w, f.h, Request(mode="crop", gravity="north_west", x=f.x, y=f.y),
                                 keep_aspect=False)
            return Geometry(region, region.w, region.h)
        return Geometry(None, iw, ih)
    rw, rh = (w or float(iw)), (h or float(ih))
    if r.zoom:
        region = _region(iw, ih, rw / r.zoom, rh / r.zoom, r, keep_aspect=True)
        return Geometry(region, _px(rw), _px(rh))
    region = _region(iw, ih, rw, rh, r, keep_aspect=False)
    return Geometry(region, region.w, region.h)


def _pad(iw: int, ih: int, w, h, fit: float, r: Request) -> Geometry:
    if not (w and h):  # one side: the aspect is kept, so nothing to pad
        s = {"pad": fit, "lpad": min(fit, 1.0), "mpad": max(fit, 1.0)}[r.mode]
        return _whole(iw, ih, iw * s, ih * s)
    if r.focus is not None and r.gravity in FOCUS_GRAVITIES:  # a region: crop to it, then pad that
        region = _around(iw, ih, r.focus, None, 1.0)
        grown = _grow_to(iw, ih, region, w / h)
        inner = _pad(grown.w, grown.h, w, h, _scale_to(grown.w, grown.h, w, h), Request(r.mode, w, h))
        return Geometry(grown, inner.width, inner.height, inner.canvas)
    if r.mode == "mpad" and fit <= 1:
        return Geometry(None, iw, ih)
    s = min(fit, 1.0) if r.mode == "lpad" else fit
    width, height = min(_px(iw * s), _px(w)), min(_px(ih * s), _px(h))
    cw, ch = _px(w), _px(h)
    gravity = r.gravity if r.gravity in ("", "xy_center") or r.gravity in _COMPASS else "center"
    left, top = place(cw, ch, width, height, gravity, r.x, r.y)
    left = min(max(int(math.floor(left + 0.5)), 0), cw - width)
    top = min(max(int(math.floor(top + 0.5)), 0), ch - height)
    return Geometry(None, width, height, Canvas(cw, ch, left, top))


_COMPASS = ("north_west", "north", "north_east", "west", "center", "east", "south_west", "south", "south_east")
