"""Pixel effects: blur, pixelate, sharpen, unsharp_mask, noise, their face-only forms
(pixelate_faces 1..200, default from the image size; blur_faces 1..2000, default 500;
an image without faces is unchanged), and the effects about transparency and edges:
trim, make_transparent, gradient_fade.

Ranges and server defaults follow Cloudinary's transformation reference: e_blur,
e_sharpen, e_unsharp_mask 1..2000 default 100; e_pixelate 1..200 default 5; e_noise
0..100 default 0; e_trim tolerance 0..100 default 10 (+ an optional colour override);
e_make_transparent tolerance 0..100 default 10 (co_ picks the colour); e_gradient_fade
strength 0..100 default 20, symmetric|symmetric_pad, x or y (fraction 0..1 or pixels,
negative = from the right/bottom), default y=0.5.
"""

from __future__ import annotations

import re

import numpy as np
import pyvips

from transforms.ops.effectlib import (
    bad, blur_premultiplied, colour_arg, colour_qualifier, gaussblur, int_arg, level_effect, max_args, merge,
    number, split, srgb, with_alpha,
)
from transforms.ops.registry import register
from transforms.ops.colour import colour_tokens


def _level_parser(name, lo, hi, default, what="strength"):
    def parse(args, qualifiers):
        return level_effect(name, args, lo, hi, default, what)

    return parse


# --- blur, pixelate, sharpen, noise -------------------------------------------------------


def blur_sigma(strength: int) -> float:
    """e_blur:100 is a Gaussian of sigma 5; e_blur:2000 of sigma 100."""
    return strength / 20


def _blur(image, strength, ctx):
    return blur_premultiplied(image, lambda im: gaussblur(im, blur_sigma(strength)))


def _pixelate(image, size, ctx):
    """Constant size x size blocks from the top-left corner, each the mean of its pixels."""
    def fn(im):
        width, height = im.width, im.height
        padded = im.embed(0, 0, -(-width // size) * size, -(-height // size) * size, extend="copy")
        blocks = padded.shrinkh(size).shrinkv(size) if size > 1 else padded
        return blocks.zoom(size, size).crop(0, 0, width, height)

    return blur_premultiplied(image, fn) if size > 1 else srgb(image)


def _sharpen(image, strength, ctx):
    rgb, alpha = split(image)
    sigma = 0.5 + min(strength, 500) / 250
    amount = min(20.0, 3 * strength / 100)
    out = rgb.sharpen(sigma=sigma, m1=amount / 2, m2=amount, x1=2)
    return merge(out, alpha)


def _unsharp_mask(image, strength, ctx):
    rgb, alpha = split(image)
    sigma = 0.5 + strength / 200
    detail = rgb.cast("float") - gaussblur(rgb, sigma).cast("float")
    return merge(rgb.cast("float") + detail, alpha)


def _clip(image):
    return (image < 0).ifthenelse(0, (image > 255).ifthenelse(255, image))


def _noise(image, level, ctx):
    """Monochrome Gaussian grain (sigma 0.6 per level), the same for the same image."""
    rgb, alpha = split(image)
    if level == 0:
        return merge(rgb, alpha)
    grain = pyvips.Image.gaussnoise(rgb.width, rgb.height, sigma=level * 0.6, mean=0, seed=level)
    return merge(_clip(rgb.cast("float") + grain), alpha)


register("blur", _level_parser("blur", 1, 2000, 100), _blur)
register("pixelate", _level_parser("pixelate", 1, 200, 5, "size"), _pixelate)
register("sharpen", _level_parser("sharpen", 1, 2000, 100), _sharpen)
register("unsharp_mask", _level_parser("unsharp_mask", 1, 2000, 100), _unsharp_mask)
register("noise", _level_parser("noise", 0, 100, 0, "level"), _noise)


# --- on the faces only ---------------------------------------------------------------------


def _parse_pixelate_faces(args, qualifiers):
    max_args("pixelate_faces", args, 1)
    return int_arg("pixelate_faces", args[0], 1, 200, 0, "size") if args and args[0] else None


def _on_faces(image, ctx, fn, margin: int = 0):
    """`fn(region)` applied to each face box of the current image (ctx.faces), the rest
    untouched; `margin` pixels around a box are read (not written) so a filter sees context."""
    image = srgb(image)
    for x, y, w, h in ctx.faces:
        x0, y0 = max(0, int(x)), max(0, int(y))
        x1, y1 = min(image.width, int(x + w)), min(image.height, int(y + h))
        if x1 <= x0 or y1 <= y0:
            continue
        cx0, cy0 = max(0, x0 - margin), max(0, y0 - margin)
        cx1, cy1 = min(image.width, x1 + margin), min(image.height, y1 + margin)
        done = fn(image.crop(cx0, cy0, cx1 - cx0, cy1 - cy0))
        patch = done.crop(x0 - cx0, y0 - cy0, x1 - x0, y1 - y0).cast(image.format)
        image = image.insert(patch.copy(interpretation=image.interpretation), x0, y0)
    return image


def _pixelate_faces(image, size, ctx):
    """Blocks aligned on each face box; default size: the image's longer side / 50 (at least 4)."""
    if not ctx.faces:
        return image
    size = size or max(4, round(max(image.width, image.height) / 50))
    return _on_faces(image, ctx, lambda region: _pixelate(region, size, ctx))


def _blur_faces(image, strength, ctx):
    if not ctx.faces:
        return image
    sigma = blur_sigma(strength)
    return _on_faces(image, ctx, lambda region: _blur(region, strength, ctx), margin=int(min(3 * sigma, 200)))


register("pixelate_faces", _parse_pixelate_faces, _pixelate_faces, needs_faces=True)
register("blur_faces", _level_parser("blur_faces", 1, 2000, 500), _blur_faces, needs_faces=True)


# --- trim ------------------------------------------------------------------------------


def _parse_trim(args, qualifiers):
    tokens = colour_tokens(list(args))
    max_args("trim", tokens, 2)
    tolerance = int_arg("trim", tokens[0] if tokens else None, 0, 100, 10, "tolerance")
    override = colour_arg("trim", tokens[1], "color override") if len(tokens) > 1 and tokens[1] else None
    return tolerance, override


def trim_box(image: pyvips.Image, tolerance: int, override=None) -> tuple[int, int, int, int]:
    """(left, top, width, height) of what differs from the border colour (the top-left
    pixel, or `override`); a transparent corner trims on alpha."""
    image = srgb(image)
    if min(image.width, image.height) < 3:  # too small for find_trim's 3x3 median
        return 0, 0, image.width, image.height
    threshold = tolerance * 2.55
    if override is None and image.bands == 4 and image.getpoint(0, 0)[3] == 0:
        return image.extract_band(3).find_trim(threshold=threshold, background=[0])
    rgb = image.flatten(background=list((override or image.getpoint(0, 0))[:3])) if image.bands == 4 else image
    background = list(override[:3]) if override else rgb.getpoint(0, 0)[:3]
    return rgb.find_trim(threshold=threshold, background=background)


def _trim(image, value, ctx):
    tolerance, override = value
    image = srgb(image)
    left, top, width, height = trim_box(image, tolerance, override)
    if width <= 0 or height <= 0:
        return image
    return image.crop(left, top, width, height)


register("trim", _parse_trim, _trim)


# --- make_transparent ----------------------------------------------------------------------


def _parse_make_transparent(args, qualifiers):
    tolerance = level_effect("make_transparent", args, 0, 100, 10, "tolerance")
    return tolerance, colour_qualifier("make_transparent", qualifiers, None)


def _border_colour(rgb: pyvips.Image) -> list[float]:
    """The median colour of the image's outermost rows and columns."""
    w, h = rgb.width, rgb.height
    strips = [rgb.crop(0, 0, w, 1), rgb.crop(0, h - 1, w, 1), rgb.crop(0, 0, 1, h), rgb.crop(w - 1, 0, 1, h)]
    pixels = np.concatenate([np.asarray(s.numpy()).reshape(-1, 3) for s in strips])
    return [float(v) for v in np.median(pixels, axis=0)]


def lab_distance(rgb: pyvips.Image, colour) -> pyvips.Image:
    """Per-pixel CIE76 distance to `colour` (float)."""
    target = pyvips.Image.new_from_array(np.array([[colour[:3]]], dtype=np.uint8), interpretation="srgb")
    lab = list(target.colourspace("lab").getpoint(0, 0))
    return (((rgb.colourspace("lab") - lab) ** 2).bandmean() * 3) ** 0.5


def _make_transparent(image, value, ctx):
    """Pixels within `tolerance` (Lab distance) of the colour become transparent: with
    co_ everywhere, otherwise the background connected to the image's border."""
    tolerance, colour = value
    rgb, alpha = split(image)
    target = colour[:3] if colour else _border_colour(rgb)
    match = (lab_distance(rgb, target) <= tolerance + 0.5).ifthenelse(255, 0).cast("uchar")
    if colour is None:
        framed = match.embed(1, 1, rgb.width + 2, rgb.height + 2, background=[255])
        flooded = framed.draw_flood(128, 0, 0, equal=True)
        match = (flooded == 128).crop(1, 1, rgb.width, rgb.height).ifthenelse(255, 0).cast("uchar")
    opaque = alpha if alpha is not None else pyvips.Image.black(rgb.width, rgb.height) + 255
    return merge(rgb, (match == 255).ifthenelse(0, opaque))


register("make_transparent", _parse_make_transparent, _make_transparent, qualifiers=("co",), changes_alpha=True)


# --- gradient_fade ---------------------------------------------------------------------------

FADE_MODES = ("symmetric", "symmetric_pad")


def _parse_gradient_fade(args, qualifiers):
    max_args("gradient_fade", args, 2)
    mode, strength = None, 20
    for token in args:
        if re.match(r"^[+-]?\d+$", token):
            strength = int_arg("gradient_fade", token, 0, 100, 20, "strength")
        elif token in FADE_MODES:
            mode = token
        elif token:
            raise bad("gradient_fade", f"{token!r} (expected symmetric, symmetric_pad or a strength 0..100)")
    x = number("gradient_fade", "x", qualifiers["x"]) if qualifiers.get("x") not in (None, "") else 0
    y = number("gradient_fade", "y", qualifiers["y"]) if qualifiers.get("y") not in (None, "") else 0
    if x and y:
        raise bad("gradient_fade", "give either x or y, not both")
    axis, amount = ("x", x) if x else ("y", y if y else 0.5)
    if isinstance(amount, float) and abs(amount) > 1:
        raise bad("gradient_fade", f"{axis} {amount} (a fraction must be within -1.0..1.0)")
    return strength, mode, axis, amount


def _ramp(coordinate: pyvips.Image, start: float, length: float, exponent: float) -> pyvips.Image:
    """0 at `start`, rising to 1 at `start + length` (length may be negative)."""
    t = (coordinate - start) / length
    t = (t < 0).ifthenelse(0, (t > 1).ifthenelse(1, t))
    return t ** exponent


def _gradient_fade(image, value, ctx):
    strength, mode, axis, amount = value
    image = with_alpha(image)
    size = image.width if axis == "x" else image.height
    lo, hi = 0, size  # the faded span: the whole image, or its content without padding
    if mode == "symmetric_pad":
        left, top, width, height = trim_box(image, 2)
        if width > 0 and height > 0:
            lo, hi = (left, left + width) if axis == "x" else (top, top + height)
    span = hi - lo
    length = abs(amount) * span if isinstance(amount, float) else min(abs(amount), span)
    if strength == 0 or length <= 0:
        return image
    exponent = strength / 20
    coordinate = pyvips.Image.xyz(image.width, image.height)[0 if axis == "x" else 1].cast("float") + 0.5
    from_start = amount > 0
    if mode:
        first, second = _ramp(coordinate, lo, length, exponent), _ramp(coordinate, hi, -length, exponent)
        fade = (first < second).ifthenelse(first, second)
        if mode == "symmetric_pad":
            inside = (coordinate >= lo) & (coordinate <= hi)
            fade = inside.ifthenelse(fade, 0)
    elif from_start:
        fade = _ramp(coordinate, lo, length, exponent)
    else:
        fade = _ramp(coordinate, hi, -length, exponent)
    rgb, alpha = image.extract_band(0, n=3), image.extract_band(3)
    return merge(rgb, alpha.cast("float") * fade)


register("gradient_fade", _parse_gradient_fade, _gradient_fade, qualifiers=("x", "y"), changes_alpha=True)
