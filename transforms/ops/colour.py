"""Colour effects: tone, channel and palette adjustments on the colour bands.

Every effect here leaves alpha untouched and returns 8-bit sRGB.  Ranges and server
defaults follow Cloudinary's transformation reference (e_brightness -99..100 default 80,
e_saturation/e_hue -100..100 default 80, e_gamma -50..150 default 0, e_vibrance default
20, e_sepia 1..100 default 80, e_blackwhite 0..100 default 50, e_colorize 0..100 default
100 with co_ default gray, e_auto_* blend 0..100 default 100, e_tint amount
0..100 default 60 colour red, e_replace_color tolerance default 50).
"""

from __future__ import annotations

import math
import re

import numpy as np
import pyvips

from transforms.ops.effectlib import (
    bad, blend, colour_arg, colour_only, colour_qualifier, int_arg, level_effect, luminance, no_args,
)
from transforms.ops.registry import register

GRAY = (128, 128, 128, 255)
RED = (255, 0, 0, 255)


def _simple(name, lo, hi, default, fn, what="level"):
    def parse(args, qualifiers):
        return level_effect(name, args, lo, hi, default, what)

    register(name, parse, colour_only(fn))


def _none(name, fn):
    def parse(args, qualifiers):
        no_args(name, args)
        return None

    register(name, parse, colour_only(fn))


# --- plain tone and colour ------------------------------------------------------------


def _grayscale(rgb, _):
    grey = rgb.colourspace("b-w")
    return grey.bandjoin([grey, grey])


def _negate(rgb, _):
    return rgb.invert()


def _sepia(rgb, level):
    toned = rgb.recomb([[0.393, 0.769, 0.189], [0.349, 0.686, 0.168], [0.272, 0.534, 0.131]])
    return blend(rgb, toned, level / 100)


def _blackwhite(rgb, threshold):
    """White where luminance is above `threshold` percent: 0 is all white, 100 all black."""
    white = luminance(rgb) > threshold * 2.55
    bw = white.ifthenelse(255, 0)
    return bw.bandjoin([bw, bw])


def _brightness(rgb, level):
    return rgb.linear(1 + level / 100, 0)


def _contrast(rgb, level):
    factor = 1 + level / 100 if level <= 0 else 1 + 3 * level / 100
    return rgb.linear(factor, 128 * (1 - factor))


def _lch(rgb, fn):
    lch = rgb.colourspace("lch")
    out = fn(lch[0], lch[1], lch[2])
    return out[0].bandjoin([out[1], out[2]]).copy(interpretation="lch").colourspace("srgb")


def saturation(rgb, level):
    if level == 0:
        return rgb
    return _lch(rgb, lambda l, c, h: (l, c * (1 + level / 100), h))


def _hue(rgb, level):
    if level == 0:
        return rgb
    shift = level * 1.8  # -100..100 -> -180..180 degrees
    return _lch(rgb, lambda l, c, h: (l, c, (h + shift + 360) % 360))


def _gamma(rgb, level):
    return rgb.gamma(exponent=1 + level / 100) if level else rgb


def _vibrance(rgb, level):
    """Saturation that favours the muted colours: the boost fades out towards chroma 100."""
    if level == 0:
        return rgb

    def fn(l, c, h):
        weight = (100 - c) / 100
        weight = (weight > 0).ifthenelse(weight, 0)
        return l, c * (1 + level / 100 * weight), h

    return _lch(rgb, fn)


def _channel(index):
    def fn(rgb, level):
        scale = [1.0, 1.0, 1.0]
        scale[index] = 1 + level / 100
        return rgb.linear(scale, [0, 0, 0])

    return fn


_none("grayscale", _grayscale)
_none("negate", _negate)
_simple("sepia", 1, 100, 80, _sepia)
_simple("blackwhite", 0, 100, 50, _blackwhite, "threshold")
_simple("brightness", -99, 100, 80, _brightness)
_simple("contrast", -100, 100, 0, _contrast)
_simple("saturation", -100, 100, 80, saturation)
_simple("hue", -100, 100, 80, _hue)
_simple("gamma", -50, 150, 0, _gamma)
_simple("vibrance", -100, 100, 20, _vibrance, "strength")
for _i, _name in enumerate(("red", "green", "blue")):
    _simple(_name, -100, 100, 0, _channel(_i))


# --- automatic corrections --------------------------------------------------------------


def _percentiles(band: pyvips.Image, lo: float = 0.5, hi: float = 99.5) -> tuple[int, int]:
    """The `lo` and `hi` percentiles of a uchar band, from its 256-bin histogram."""
    hist = np.asarray(band.hist_find().numpy(), dtype=float).reshape(-1)
    cdf = np.cumsum(hist) / max(hist.sum(), 1)
    return int(np.searchsorted(cdf, lo / 100)), int(np.searchsorted(cdf, hi / 100))


def _stretch(rgb, lo, hi):
    if hi - lo < 2:
        return rgb
    scale = 255 / (hi - lo)
    return rgb.linear(scale, -lo * scale)


def _auto_contrast(rgb, blend_level):
    lo, hi = _percentiles(rgb.colourspace("b-w").cast("uchar"))
    return blend(rgb, _stretch(rgb, lo, hi), blend_level / 100)


def _auto_color(rgb, blend_level):
    """Stretch each channel on its own: removes colour casts (a white-balance of sorts)."""
    bands = [_stretch(rgb[i], *_percentiles(rgb[i])) for i in range(3)]
    adjusted = bands[0].bandjoin(bands[1:])
    return blend(rgb, adjusted, blend_level / 100)


def _auto_brightness(rgb, blend_level):
    """A gamma that brings the mean luminance to the middle grey (bounded to 0.4..2.5)."""
    mean = max(1.0, min(254.0, luminance(rgb).avg())) / 255
    exponent = min(2.5, max(0.4, math.log(mean) / math.log(0.5)))
    return blend(rgb, rgb.gamma(exponent=exponent), blend_level / 100)


for _name, _fn in (("auto_brightness", _auto_brightness), ("auto_contrast", _auto_contrast),
                   ("auto_color", _auto_color)):
    _simple(_name, 0, 100, 100, _fn, "blend")


# e_improve lives in transforms/ops/aieffects.py (the classical enhance recipe).


# --- colorize, tint, replace_color ------------------------------------------------------


def _parse_colorize(args, qualifiers):
    level = level_effect("colorize", args, 0, 100, 100)
    return level, colour_qualifier("colorize", qualifiers, GRAY)


def _colorize(rgb, value):
    level, (r, g, b, a) = value
    solid = (rgb.new_from_image([r, g, b])).cast("float")
    return blend(rgb, solid, level / 100 * a / 255)


register("colorize", _parse_colorize, colour_only(_colorize), qualifiers=("co",))


_POSITION = re.compile(r"^(\d+(?:\.\d+)?)p$")


def colour_tokens(args):
    """Rejoin ``rgb:<hex>`` colours that the ``:`` separator split into two tokens."""
    out, i = [], 0
    while i < len(args):
        if args[i].lower() == "rgb" and i + 1 < len(args):
            out.append(f"rgb:{args[i + 1]}")
            i += 2
        else:
            out.append(args[i])
            i += 1
    return out


def _parse_tint(args, qualifiers):
    tokens = colour_tokens(list(args))
    equalize = bool(tokens) and tokens[0] == "equalize"
    if equalize:
        tokens.pop(0)
    amount = 60
    if tokens and re.match(r"^[+-]?\d+$", tokens[0]):
        amount = int_arg("tint", tokens.pop(0), 0, 100, 60, "amount")
    stops: list[list] = []
    for token in tokens:
        match = _POSITION.match(token)
        if match:
            if not stops or stops[-1][1] is not None:
                raise bad("tint", f"position {token!r} must follow a color")
            position = float(match.group(1))
            if position > 100:
                raise bad("tint", f"position {token!r} is out of range 0p..100p")
            stops[-1][1] = position
        else:
            stops.append([colour_arg("tint", token), None])
    if not stops:
        stops = [[RED, None]]
    if len(stops) > 10:
        raise bad("tint", "at most 10 colors")
    if len(stops) == 1:
        stops[0][1] = None
    else:
        for i, stop in enumerate(stops):
            if stop[1] is None:
                stop[1] = round(100 * i / (len(stops) - 1), 3)
        positions = [s[1] for s in stops]
        if positions != sorted(positions):
            raise bad("tint", "color positions must increase")
    return equalize, amount, tuple((tuple(c), p) for c, p in stops)


def _tint(rgb, value):
    """Map luminance onto the colour gradient (dark -> first colour, light -> last),
    keep each pixel's luminance, and blend `amount` percent of it over the image."""
    equalize, amount, stops = value
    source = rgb.hist_equal() if equalize else rgb
    luma = luminance(source)
    t = np.linspace(0, 100, 256)
    colours = np.array([c[:3] for c, _ in stops], dtype=float)
    if len(stops) == 1:
        ramp = np.repeat(colours, 256, axis=0)
    else:
        positions = [p for _, p in stops]
        ramp = np.stack([np.interp(t, positions, colours[:, k]) for k in range(3)], axis=1)
    ramp_luma = ramp @ np.array([0.299, 0.587, 0.114])
    lut = pyvips.Image.new_from_array(ramp.reshape(1, 256, 3).astype(np.float32), interpretation="srgb")
    luma_lut = pyvips.Image.new_from_array(ramp_luma.reshape(1, 256).astype(np.float32))
    index = luma.cast("uchar")
    tinted = index.maplut(lut) + (luma - index.maplut(luma_lut))  # shift to the pixel's own luminance
    return blend(source, tinted, amount / 100)


register("tint", _parse_tint, colour_only(_tint))


def _parse_replace_color(args, qualifiers):
    tokens = colour_tokens(list(args))
    if not tokens or not tokens[0]:
        raise bad("replace_color", "the target color is required (e_replace_color:<to>[:<tolerance>][:<from>])")
    if len(tokens) > 3:
        raise bad("replace_color", f"{':'.join(args)!r}")
    to = colour_arg("replace_color", tokens[0])
    tolerance = int_arg("replace_color", tokens[1] if len(tokens) > 1 else None, 0, 100, 50, "tolerance")
    source = colour_arg("replace_color", tokens[2], "from color") if len(tokens) > 2 else None
    return to, tolerance, source


def _prominent_colour(rgb) -> tuple[float, float, float]:
    """The most common saturated colour: the peak of a hue histogram of a small copy
    (pixels with chroma above 30), as its mean Lab value."""
    small = rgb.thumbnail_image(64) if max(rgb.width, rgb.height) > 64 else rgb
    lab = np.asarray(small.colourspace("lab").numpy(), dtype=float).reshape(-1, 3)
    chroma = np.hypot(lab[:, 1], lab[:, 2])
    saturated = lab[chroma > 30]
    if len(saturated) == 0:
        saturated = lab[chroma >= np.percentile(chroma, 90)]
    hues = (np.degrees(np.arctan2(saturated[:, 2], saturated[:, 1])) + 360) % 360
    counts, edges = np.histogram(hues, bins=24, range=(0, 360))
    peak = int(np.argmax(counts))
    chosen = saturated[(hues >= edges[peak]) & (hues < edges[peak + 1])]
    return tuple(chosen.mean(axis=0)) if len(chosen) else tuple(saturated.mean(axis=0))


def _to_lab(colour) -> tuple[float, float, float]:
    pixel = pyvips.Image.new_from_array(np.array([[colour[:3]]], dtype=np.uint8), interpretation="srgb")
    return tuple(pixel.colourspace("lab").getpoint(0, 0))


def _replace_color(rgb, value):
    """Pixels within `tolerance` (a Lab radius) of the source colour move by the
    difference between the two colours in Lab (so shading is kept), fading out towards
    the edge of the radius."""
    to, tolerance, source = value
    src = _to_lab(source) if source else _prominent_colour(rgb)
    dst = _to_lab(to)
    lab = rgb.colourspace("lab")
    distance = ((lab - list(src)) ** 2).bandmean() * 3
    distance = distance ** 0.5
    radius = max(tolerance, 0.5)
    weight = 1 - distance / radius
    weight = (weight > 0).ifthenelse(weight, 0)
    weight = (weight * 2 > 1).ifthenelse(1, weight * 2)  # full change in the inner half
    shifted = lab + [dst[0] - src[0], dst[1] - src[1], dst[2] - src[2]]
    out = (lab + (shifted - lab) * weight).copy(interpretation="lab").colourspace("srgb")
    return (weight > 0).ifthenelse(out, rgb)  # untouched pixels skip the Lab round trip


register("replace_color", _parse_replace_color, colour_only(_replace_color))
