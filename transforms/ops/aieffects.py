"""Cloudinary's (and ImageKit's) "AI" photo effects that run synchronously here, by
classical methods (no model for them ships in any package: MODELS.md):

- ``e_dropshadow[:azimuth_<0-360>][;elevation_<0-90>][;spread_<0-100>]`` (defaults 215, 45,
  50; any order; azimuth 360 is 0): a shadow cast from the image's alpha
  (transforms/ops/dropshadow.py for the light's convention).  It needs real transparency
  (after ``e_background_removal`` or on a transparent original): otherwise 400 at render time,
  when the pixels are known.
- ``e_improve[:indoor|outdoor][:<blend 0-100>]`` (defaults outdoor, 100): white balance,
  levels, CLAHE, vibrance, unsharp (transforms/ops/tone.py), mixed with the input by blend.
- ``e_enhance``: Cloudinary's is a neural model; ours is the improve recipe made stronger,
  with a mild denoise and more local detail.  Inputs up to 4096 x 4096 (Cloudinary's limit),
  else 400.
- ``e_retouch`` (ImageKit's e-retouch): skin smoothing inside the detected faces
  (transforms/ops/retouch.py); an image without faces is unchanged.

Improve, enhance and retouch keep alpha as it is.
"""

from __future__ import annotations

import re

import pyvips

from core.errors import BadRequest
from transforms.ops import dropshadow, retouch, tone
from transforms.ops.effectlib import bad, blend, int_arg, max_args, merge, no_args, split, srgb
from transforms.ops.registry import register

# --- drop shadow ---------------------------------------------------------------------------

SHADOW_KEYS = {"azimuth": (0, 360, 215), "elevation": (0, 90, 45), "spread": (0, 100, 50)}
TRANSPARENCY_NEEDED = "e_dropshadow needs a transparent image: use e_background_removal first"


def _parse_dropshadow(args, qualifiers):
    """``key_value`` pairs joined by ``;`` (the SDKs write them in different orders), each
    key at most once; (azimuth, elevation, spread) with the defaults filled in."""
    text = ":".join(args)
    found: dict[str, str] = {}
    for piece in text.split(";") if text else []:
        key, sep, raw = piece.partition("_")
        if not sep or key not in SHADOW_KEYS:
            raise bad("dropshadow", f"{piece!r} (expected azimuth_, elevation_ or spread_ values)")
        if key in found:
            raise bad("dropshadow", f"{key} given twice")
        found[key] = raw
    values = []
    for key, (lo, hi, default) in SHADOW_KEYS.items():
        if key in found and found[key] == "":
            raise bad("dropshadow", f"{key} has no value")
        values.append(int_arg("dropshadow", found.get(key), lo, hi, default, key))
    azimuth, elevation, spread = values
    return azimuth % 360, elevation, spread


def _dropshadow(image, value, ctx):
    image = srgb(image)
    if image.bands != 4 or image.extract_band(3).min() >= 128:
        raise BadRequest(TRANSPARENCY_NEEDED)
    return dropshadow.cast(image, *value)


register("dropshadow", _parse_dropshadow, _dropshadow, changes_alpha=True)


# --- improve, enhance ------------------------------------------------------------------------

IMPROVE_MODES = {"outdoor": tone.OUTDOOR, "indoor": tone.INDOOR}
ENHANCE_MAX_SIDE = 4096


def _parse_improve(args, qualifiers):
    max_args("improve", args, 2)
    args = list(args)
    mode = "outdoor"
    if args and args[0] and not re.match(r"^[+-]?\d+$", args[0]):
        mode = args.pop(0)
        if mode not in IMPROVE_MODES:
            raise bad("improve", f"mode {mode!r} (expected indoor or outdoor)")
    if len(args) > 1:
        raise bad("improve", f"{':'.join(args)!r}")
    return mode, int_arg("improve", args[0] if args else None, 0, 100, 100, "blend")


def _improve(image, value, ctx):
    mode, level = value
    rgb, alpha = split(image)
    if level == 0:
        return merge(rgb, alpha)
    return merge(blend(rgb, tone.correct(rgb, IMPROVE_MODES[mode]), level / 100), alpha)


def _parse_enhance(args, qualifiers):
    no_args("enhance", args)
    return None


def _enhance(image: pyvips.Image, value, ctx):
    if max(image.width, image.height) > ENHANCE_MAX_SIDE:
        raise BadRequest(f"e_enhance takes images up to {ENHANCE_MAX_SIDE}x{ENHANCE_MAX_SIDE} pixels "
                         f"(this one is {image.width}x{image.height}): resize it first")
    rgb, alpha = split(image)
    return merge(tone.correct(rgb, tone.ENHANCE), alpha)


register("improve", _parse_improve, _improve)
register("enhance", _parse_enhance, _enhance)


# --- retouch -------------------------------------------------------------------------------


def _parse_retouch(args, qualifiers):
    no_args("retouch", args)
    return None


def _retouch(image, value, ctx):
    """Each face box (with a margin read around it) smoothed and put back in place."""
    if not ctx.faces:
        return image
    rgb, alpha = split(image)
    for x, y, w, h in ctx.faces:
        mx, my = w * retouch.MARGIN, h * retouch.MARGIN
        x0, y0 = max(0, int(x - mx)), max(0, int(y - my))
        x1, y1 = min(rgb.width, int(x + w + mx)), min(rgb.height, int(y + h + my))
        if x1 - x0 < 4 or y1 - y0 < 4:
            continue
        done = retouch.face(rgb.crop(x0, y0, x1 - x0, y1 - y0), (x - x0, y - y0, w, h))
        patch = (done + 0.5).cast("uchar").copy(interpretation="srgb")
        rgb = rgb.insert(patch, x0, y0)
    return merge(rgb, alpha)


register("retouch", _parse_retouch, _retouch, needs_faces=True)
