"""Artistic effects: vignette, oil_paint, cartoonify, outline, shadow.

Ranges and server defaults follow Cloudinary's transformation reference: e_vignette
0..100 default 20; e_oil_paint 0..100 default 30; e_cartoonify line strength 0..100
default 50 and colour reduction 0..100 or ``bw`` (default: follows the line strength);
e_outline modes inner, outer, fill, inner_fill, outer_fill (default inner and outer),
width 1..100 default 5, blur 0..2000 default 0, co_ default black; e_shadow strength
0..100 default 40, co_ default gray, x/y offset default bottom right.
"""

from __future__ import annotations

import math
import re

import pyvips

from transforms.ops.colour import saturation
from transforms.ops.effectlib import (
    bad, colour_qualifier, dilate, erode, gaussblur, int_arg, level_effect, luminance, max_args, median, merge,
    number, split, with_alpha,
)
from transforms.ops.registry import register

BLACK = (0, 0, 0, 255)
GRAY = (128, 128, 128, 255)
SHADOW_OFFSET = 8  # Cloudinary: "bottom right" by default


def _clip01(image):
    return (image < 0).ifthenelse(0, (image > 1).ifthenelse(1, image))


# --- vignette ---------------------------------------------------------------------------------


def _vignette(image, strength, ctx):
    """Darken towards the corners: untouched inside a radius that shrinks as strength
    grows, then down to (1 - k) at the corners, k from 0.5 (strength 0) to 1 (100)."""
    rgb, alpha = split(image)
    w, h = rgb.width, rgb.height
    xy = pyvips.Image.xyz(w, h).cast("float") + 0.5
    dx = (xy[0] - w / 2) / (w / 2)
    dy = (xy[1] - h / 2) / (h / 2)
    r = ((dx * dx + dy * dy) / 2) ** 0.5
    r0 = 0.5 * (1 - strength / 100)
    k = 0.5 + 0.5 * strength / 100
    t = _clip01((r - r0) / (1 - r0))
    factor = 1 - t * t * k
    return merge(rgb.cast("float") * factor, alpha)


register("vignette", lambda args, q: level_effect("vignette", args, 0, 100, 20, "strength"), _vignette)


# --- oil_paint and cartoonify ------------------------------------------------------------------


def _oil_paint(image, strength, ctx):
    """A median (rank) filter whose window grows with strength: flat strokes, kept edges."""
    rgb, alpha = split(image)
    size = 2 * (1 + round(strength / 15)) + 1
    return merge(median(rgb, size), alpha)


register("oil_paint", lambda args, q: level_effect("oil_paint", args, 0, 100, 30, "strength"), _oil_paint)


def _parse_cartoonify(args, qualifiers):
    max_args("cartoonify", args, 2)
    line = int_arg("cartoonify", args[0] if args else None, 0, 100, 50, "line strength")
    reduction = None
    if len(args) > 1 and args[1]:
        reduction = "bw" if args[1] == "bw" else int_arg("cartoonify", args[1], 0, 100, 0, "color reduction")
    return line, reduction


def _posterise(image, levels: int):
    step = 256 / levels
    return ((image / step).floor() * step + step / 2)


def _cartoonify(image, value, ctx):
    line, reduction = value
    rgb, alpha = split(image)
    smooth = median(rgb, 5)
    if reduction == "bw":
        grey = luminance(smooth)
        colours = _posterise(grey, 4)
        colours = colours.bandjoin([colours, colours])
    else:
        amount = line if reduction is None else reduction
        levels = max(2, round(2 + (100 - amount) / 100 * 14))
        colours = _posterise(saturation(smooth, amount / 2), levels)
    if line > 0:
        edges = luminance(smooth).cast("uchar").sobel()
        lines = edges > (120 - line)
        if line > 60:
            lines = lines.dilate(pyvips.Image.new_from_array([[128, 255, 128], [255, 255, 255], [128, 255, 128]]))
        colours = lines.ifthenelse(0, colours)
    return merge(colours, alpha)


register("cartoonify", _parse_cartoonify, _cartoonify)


# --- outline ----------------------------------------------------------------------------------

OUTLINE_MODES = ("inner", "outer", "fill", "inner_fill", "outer_fill")


def _parse_outline(args, qualifiers):
    max_args("outline", args, 3)
    tokens = list(args)
    mode = None
    if tokens and tokens[0] and not re.match(r"^[+-]?\d+$", tokens[0]):
        mode = tokens.pop(0)
        if mode not in OUTLINE_MODES:
            raise bad("outline", f"mode {mode!r} (expected one of {', '.join(OUTLINE_MODES)})")
    if len(tokens) > 2:
        raise bad("outline", f"{':'.join(args)!r}")
    width = int_arg("outline", tokens[0] if tokens else None, 1, 100, 5, "width")
    blur = int_arg("outline", tokens[1] if len(tokens) > 1 else None, 0, 2000, 0, "blur")
    return mode, width, blur, colour_qualifier("outline", qualifiers, BLACK)


def _holes(shape: pyvips.Image) -> pyvips.Image:
    """Transparent areas the shape encloses (not connected to the image border)."""
    outside = (shape ^ 255).embed(1, 1, shape.width + 2, shape.height + 2, background=[255])
    flooded = outside.draw_flood(128, 0, 0, equal=True).crop(1, 1, shape.width, shape.height)
    return (flooded == 255).ifthenelse(255, 0).cast("uchar")


def _layer(mask: pyvips.Image, colour, sigma: float) -> pyvips.Image:
    alpha = mask.cast("float")
    alpha = gaussblur(alpha, sigma) * (colour[3] / 255)
    solid = (pyvips.Image.black(mask.width, mask.height, bands=3) + list(colour[:3])).cast("uchar")
    return merge(solid, alpha)


def _outline(image, value, ctx):
    """inner/outer: a `width` ring inside/outside the edge of the opaque shape (both by
    default); the *_fill modes also fill the transparent holes the shape encloses. Outer
    rings grow the canvas so they are not cut off."""
    mode, width, blur, colour = value
    image = with_alpha(image)
    sigma = blur / 20
    outer = mode in (None, "outer", "fill", "outer_fill")
    inner = mode in (None, "inner", "fill", "inner_fill")
    if outer:
        pad = width + math.ceil(3 * sigma)
        image = image.embed(pad, pad, image.width + 2 * pad, image.height + 2 * pad, background=[0, 0, 0, 0])
    shape = (image.extract_band(3) > 127).ifthenelse(255, 0).cast("uchar")
    behind = pyvips.Image.black(shape.width, shape.height).cast("uchar")
    above = behind
    if outer:
        behind = dilate(shape, width) & (shape ^ 255)
    if inner:
        framed = shape.embed(width, width, shape.width + 2 * width, shape.height + 2 * width, background=[0])
        core = erode(framed, width).crop(width, width, shape.width, shape.height)
        above = shape & (core ^ 255)
    if mode in ("fill", "inner_fill", "outer_fill"):
        behind = behind | _holes(shape)
    layers = [_layer(behind, colour, sigma), image]
    if inner:
        layers.append(_layer(above, colour, sigma))
    out = layers[0].composite(layers[1:], ["over"] * (len(layers) - 1))
    return merge(out.extract_band(0, n=3), out.extract_band(3))


register("outline", _parse_outline, _outline, qualifiers=("co",), changes_alpha=True)


# --- shadow -----------------------------------------------------------------------------------


def _parse_shadow(args, qualifiers):
    strength = level_effect("shadow", args, 0, 100, 40, "strength")
    colour = colour_qualifier("shadow", qualifiers, GRAY)
    offsets = []
    for axis in ("x", "y"):
        raw = qualifiers.get(axis)
        value = SHADOW_OFFSET if raw in (None, "") else number("shadow", axis, raw)
        if isinstance(value, float) and not value.is_integer():
            raise bad("shadow", f"{axis} {raw!r} must be a whole number of pixels")
        if abs(value) > 1000:
            raise bad("shadow", f"{axis} {raw!r} is out of range -1000..1000")
        offsets.append(int(value))
    return strength, colour, offsets[0], offsets[1]


def _shadow(image, value, ctx):
    """A blurred copy of the shape's alpha in the shadow colour, offset by (x, y), behind
    the image; the canvas grows to hold it (blur sigma 1 + strength/10, opacity 0.3 +
    0.7 * strength/100)."""
    strength, colour, dx, dy = value
    image = with_alpha(image)
    w, h = image.width, image.height
    sigma = 1 + strength / 10
    spread = math.ceil(3 * sigma)
    min_x, max_x = min(0, dx - spread), max(w, dx + w + spread)
    min_y, max_y = min(0, dy - spread), max(h, dy + h + spread)
    left, top, width, height = -min_x, -min_y, max_x - min_x, max_y - min_y
    placed = image.embed(left, top, width, height, background=[0, 0, 0, 0])
    alpha = image.extract_band(3).embed(left + dx, top + dy, width, height, background=[0]).cast("float")
    alpha = alpha.gaussblur(sigma, precision="approximate") * ((0.3 + 0.7 * strength / 100) * colour[3] / 255)
    solid = (pyvips.Image.black(width, height, bands=3) + list(colour[:3])).cast("uchar")
    out = merge(solid, alpha).composite([placed], ["over"])
    return merge(out.extract_band(0, n=3), out.extract_band(3))


register("shadow", _parse_shadow, _shadow, qualifiers=("co", "x", "y"), changes_alpha=True)
