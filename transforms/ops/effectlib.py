"""Shared helpers for the effect families (effects.py, colour.py, artistic.py).

Argument parsing: every effect turns its ``e_<name>:<a>:<b>`` tokens and its qualifiers
into a hashable, normalised value, and every bad input is a ``BadRequest`` that names the
effect and the value.  Pixels: effects work on 8-bit sRGB colour bands and keep the alpha
band apart (``split``/``merge``), so they never tint or blur alpha by accident.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

import numpy as np
import pyvips

from core.errors import BadRequest
from transforms.rgba import Rgba, parse_color

# At most 15 digits before the point: no effect takes more, and int() of thousands of digits
# raises (float() of hundreds is infinite).
_INT = re.compile(r"^[+-]?\d{1,15}$")
_NUMBER = re.compile(r"^[+-]?(?:\d{1,15}(?:\.\d*)?|\.\d+)$")


# --- arguments ----------------------------------------------------------------------


def bad(effect: str, message: str) -> BadRequest:
    return BadRequest(f"Invalid value for e_{effect}: {message}")


def no_args(effect: str, args: Sequence[str]) -> None:
    if any(args):
        raise bad(effect, f"{':'.join(args)!r} (this effect takes no arguments)")


def max_args(effect: str, args: Sequence[str], count: int) -> None:
    if len(args) > count:
        raise bad(effect, f"{':'.join(args)!r} (at most {count} argument{'s' if count > 1 else ''})")


def int_arg(effect: str, text: str | None, lo: int, hi: int, default: int, what: str = "level") -> int:
    """An integer in [lo, hi]; empty or missing -> default."""
    if text is None or text == "":
        return default
    if not _INT.match(text):
        raise bad(effect, f"{what} {text!r} is not an integer")
    value = int(text)
    if not lo <= value <= hi:
        raise bad(effect, f"{what} {value} is out of range {lo}..{hi}")
    return value


def level_effect(effect: str, args: Sequence[str], lo: int, hi: int, default: int, what: str = "level") -> int:
    """The common ``e_<name>[:<level>]`` form."""
    max_args(effect, args, 1)
    return int_arg(effect, args[0] if args else None, lo, hi, default, what)


def number(effect: str, name: str, value) -> float:
    """A qualifier value (``x``, ``y``...) given as text or a number."""
    if isinstance(value, bool):
        raise bad(effect, f"{name} {value!r} is not a number")
    if isinstance(value, int | float):
        return float(value)
    canonical = getattr(value, "canonical", None)
    text = str(canonical if canonical is not None else value).strip()
    if not _NUMBER.match(text):
        raise bad(effect, f"{name} {text!r} is not a number")
    return float(text) if "." in text else int(text)


_BARE_HEX = re.compile(r"^(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6}|[0-9a-fA-F]{8})$")


def colour_arg(effect: str, text: str, what: str = "color") -> Rgba:
    """A colour inside an effect's arguments: a name, ``rgb:<hex>`` or a bare hex code."""
    try:
        return parse_color(text, param=f"e_{effect}")
    except BadRequest:
        if _BARE_HEX.match(text or ""):
            return parse_color(f"rgb:{text}")
        raise bad(effect, f"{what} {text!r} is not a color") from None


def colour_qualifier(effect: str, qualifiers: Mapping[str, str], default: Rgba | None) -> Rgba | None:
    text = qualifiers.get("co")
    if text is None or text == "":
        return default
    try:
        return parse_color(str(text), param="co")
    except BadRequest:
        raise bad(effect, f"co {text!r} is not a color") from None


# --- pixels -------------------------------------------------------------------------


def srgb(image: pyvips.Image) -> pyvips.Image:
    """8-bit sRGB with 3 colour bands (+ alpha when the input had one)."""
    if image.format == "uchar" and image.bands in (3, 4) and image.interpretation in ("srgb", "multiband", "rgb"):
        return image if image.interpretation == "srgb" else image.copy(interpretation="srgb")
    if image.interpretation in ("multiband", "b-w", "grey16") and image.bands in (1, 2) and image.format != "uchar":
        image = image.copy(interpretation="grey16" if image.format == "ushort" else "b-w")
    out = image.colourspace("srgb")
    if out.format != "uchar":
        out = out.cast("uchar")
    if out.bands not in (3, 4):
        raise BadRequest("Unsupported image layout for effects")
    return out


def split(image: pyvips.Image) -> tuple[pyvips.Image, pyvips.Image | None]:
    """(sRGB uchar colour bands, alpha band or None)."""
    image = srgb(image)
    if image.bands == 4:
        return image.extract_band(0, n=3), image.extract_band(3)
    return image, None


def merge(rgb: pyvips.Image, alpha: pyvips.Image | None) -> pyvips.Image:
    """Back to sRGB uchar, reattaching `alpha`; float results are rounded and clipped."""
    rgb = to_uchar(rgb)
    if rgb.bands == 1:
        rgb = rgb.bandjoin([rgb, rgb])
    out = rgb if alpha is None else rgb.bandjoin(to_uchar(alpha))
    return out.copy(interpretation="srgb")


def to_uchar(image: pyvips.Image) -> pyvips.Image:
    if image.format == "uchar":
        return image
    return (image + 0.5).cast("uchar") if image.format in ("float", "double") else image.cast("uchar")


def colour_only(fn):
    """Wrap ``fn(rgb) -> rgb`` into an apply that leaves alpha untouched."""

    def apply(image: pyvips.Image, value, ctx) -> pyvips.Image:
        rgb, alpha = split(image)
        return merge(fn(rgb, value), alpha)

    return apply


def blend(original: pyvips.Image, adjusted: pyvips.Image, amount: float) -> pyvips.Image:
    """``amount`` (0..1) of `adjusted` over `original`."""
    if amount >= 1:
        return adjusted
    if amount <= 0:
        return original
    return original.cast("float") * (1 - amount) + adjusted.cast("float") * amount


def luminance(rgb: pyvips.Image) -> pyvips.Image:
    """Rec. 601 luma, float 0..255."""
    return rgb.recomb([[0.299, 0.587, 0.114]])


def with_alpha(image: pyvips.Image) -> pyvips.Image:
    """sRGB uchar with an alpha band (opaque when the input had none)."""
    image = srgb(image)
    return image if image.bands == 4 else image.bandjoin(255).copy(interpretation="srgb")


def disc(radius: int) -> pyvips.Image:
    yy, xx = np.mgrid[-radius:radius + 1, -radius:radius + 1]
    mask = np.where(xx * xx + yy * yy <= radius * radius + 0.5, 255, 128).astype(float)
    return pyvips.Image.new_from_array(mask.tolist())


_MORPH_LIMIT = 24


def dilate(mask: pyvips.Image, radius: int) -> pyvips.Image:
    """Binary (0/255 uchar) dilation by a disc of `radius`; large radii run on a reduced
    copy (the edge of an outline that wide does not need single-pixel accuracy)."""
    if radius <= 0:
        return mask
    if radius <= _MORPH_LIMIT:
        return mask.dilate(disc(radius))
    factor = radius / _MORPH_LIMIT
    small = mask.resize(1 / factor, kernel="linear")
    grown = (small > 0).ifthenelse(255, 0).cast("uchar").dilate(disc(_MORPH_LIMIT))
    return fit(grown.resize(factor, kernel="linear"), mask.width, mask.height)


def erode(mask: pyvips.Image, radius: int) -> pyvips.Image:
    return dilate(mask ^ 255, radius) ^ 255 if radius > 0 else mask


def fit(image: pyvips.Image, width: int, height: int) -> pyvips.Image:
    """Crop or extend (copying edges) `image` to exactly width x height."""
    if image.width != width or image.height != height:
        image = image.embed(0, 0, max(width, image.width), max(height, image.height), extend="copy")
        image = image.crop(0, 0, width, height)
    return image


def gaussblur(image: pyvips.Image, sigma: float) -> pyvips.Image:
    """Gaussian blur that stays cheap for very large sigmas: above ~8 the image is reduced,
    blurred and enlarged back (a Gaussian that wide has no detail to lose)."""
    if sigma < 0.3:
        return image
    if sigma <= 8:
        return image.gaussblur(sigma, precision="approximate")
    factor = sigma / 8
    small = image.resize(1 / factor, kernel="linear") if min(image.width, image.height) / factor >= 2 else None
    if small is None:
        return image.gaussblur(sigma, precision="approximate")
    blurred = small.gaussblur(8, precision="approximate")
    return fit(blurred.resize(image.width / blurred.width, vscale=image.height / blurred.height, kernel="linear"),
               image.width, image.height)


def median(image: pyvips.Image, size: int) -> pyvips.Image:
    """A size x size median, the window shrunk to fit images smaller than it."""
    size = min(size, image.width, image.height)
    size -= 1 - size % 2  # odd
    return image.median(size) if size >= 3 else image


def blur_premultiplied(image: pyvips.Image, fn) -> pyvips.Image:
    """Run a spatial filter on an image with alpha without dark/light halos."""
    image = srgb(image)
    if image.bands == 3:
        return merge(fn(image), None)
    out = fn(image.premultiply()).unpremultiply()
    return merge(out.extract_band(0, n=3), out.extract_band(3))
