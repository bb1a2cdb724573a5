"""Cloudinary's spellings of parameter values: one parser per key, each raising
BadRequest that names the parameter and the value, returning the engine's value types
(transforms.values).

Numbers follow Cloudinary: an integer is pixels, a number with a
decimal point is relative (``w_0.5`` is half the input width, ``w_1.0`` all of it).
Values that are expressions (``iw_div_2``, ``$width``) come back as the
transforms.cloudinary.expressions object and are evaluated when the step runs.
"""

from __future__ import annotations

import re

from core.errors import BadRequest

from ..ai import subparams
from ..encode import ENCODERS, canonical_format
from ..rgba import parse_color
from ..values import (ANGLE_WORDS, COMPASS, CROP_MODES, DELIVERY_FLAGS, LAYER_FLAGS, QUALITY_LEVELS, Angle,
                      Background, Border, Color, Flag, GenFill, Gravity, Length, Radius, fmt_number, object_classes)
from . import expressions

# At most 15 digits before the point: a longer number is no size or factor, and 400 digits
# make float() infinite (an OverflowError where it becomes pixels).
NUMBER = re.compile(r"^-?(\d{1,15}(\.\d*)?|\.\d+)$")


def expression(key: str, text: str):
    """An expression object for `text`, or BadRequest naming `key`."""
    if not expressions.is_expression(text):
        raise BadRequest(f"Invalid value for {key}: {text!r}")
    return expressions.parse_value(text)


# --- numbers and lengths ------------------------------------------------------------------


def length(key: str, text: str, *, positive: bool = True):
    if NUMBER.match(text):
        value = float(text)
        if positive and value <= 0:
            raise BadRequest(f"Invalid value for {key}: {text!r} (must be greater than 0)")
        return Length(value, "." in text)
    if text == "auto":
        raise BadRequest(f"Unsupported value for {key}: auto (responsive sizes need client hints)")
    return expression(key, text)


def number(key: str, text: str, *, low: float | None = None, high: float | None = None, exprs: bool = True):
    if NUMBER.match(text):
        value = float(text)
        if (low is not None and value < low) or (high is not None and value > high):
            bounds = f"between {fmt_number(low)} and {fmt_number(high)}" if high is not None else \
                f"at least {fmt_number(low)}"
            raise BadRequest(f"Invalid value for {key}: {text!r} (must be {bounds})")
        return value
    if exprs:
        return expression(key, text)
    raise BadRequest(f"Invalid value for {key}: {text!r}")


def aspect_ratio(text: str):
    if ":" in text:
        a, _, b = text.partition(":")
        if NUMBER.match(a) and NUMBER.match(b) and float(a) > 0 and float(b) > 0:
            return round(float(a) / float(b), 6)
        raise BadRequest(f"Invalid value for ar: {text!r}")
    return number("ar", text, low=0.0001)


def dpr(text: str):
    if text == "auto":
        raise BadRequest("Unsupported value for dpr: auto (needs client hints)")
    return number("dpr", text, low=0.1, high=5, exprs=False)


# --- choices --------------------------------------------------------------------------


def choice(key: str, text: str, allowed) -> str:
    if text not in allowed:
        raise BadRequest(f"Invalid value for {key}: {text!r} (expected one of {', '.join(allowed)})")
    return text


_REGION = re.compile(r"^region_!([A-Za-z0-9-]{1,64})!$")
_AOI = re.compile(r"^aoi_(\d{1,7})_(\d{1,7})_(\d{1,7})_(\d{1,7})$")
_FACE_WORDS = {"face": "face", "faces": "faces", "adv_face": "face", "adv_faces": "faces"}


def _objects(names, text: str) -> tuple[str, ...]:
    found: dict[str, None] = {}
    for name in names:
        classes = object_classes(name)
        if classes is None:
            raise BadRequest(f"Invalid gravity: {text} (unknown object {name!r})")
        found.update(dict.fromkeys(classes))
    return tuple(sorted(found))


def _auto(text: str, options: list[str]) -> Gravity:
    """``auto[:subject|classic][:<focal>...][:<aggressiveness>][:thirds_0]``."""
    focal, objects, box, override = "", [], (), True
    for option in options:
        if option in ("subject", "classic", "thirds_0") or re.fullmatch(r"\d{1,3}", option):
            if option.isdigit() and int(option) > 100:
                raise BadRequest(f"Invalid gravity: {text} (aggressiveness is 0-100)")
            continue  # the crop is ours either way: accepted, no effect
        if option == "custom_no_override":
            override = False
            continue
        aoi = _AOI.match(option)
        if option in _FACE_WORDS or option == "none" or aoi:
            if focal:
                raise BadRequest(f"Invalid gravity: {text} (one focal preference at most)")
            focal = _FACE_WORDS.get(option, option)
            if aoi:
                focal, box = "aoi", tuple(int(v) for v in aoi.groups())
                if box[2] < 1 or box[3] < 1:
                    raise BadRequest(f"Invalid gravity: {text} (the area of interest needs a width and height)")
            if option == "none":
                override = False
            continue
        if option in ("object", "ocr_text") or option.endswith("_avoid"):
            raise BadRequest(f"Unsupported gravity: {text} ({option} is not supported)")
        objects.append(option)
    if objects:
        if focal:
            raise BadRequest(f"Invalid gravity: {text} (one focal preference at most)")
        return Gravity("auto", focal="objects", objects=_objects(objects, text), override=override)
    return Gravity("auto", focal=focal, box=box, override=override)


def gravity(text: str) -> Gravity:
    """Every Cloudinary gravity: compass, xy_center, face(s)[:center|auto], custom[:face(s)],
    region_!<name>!, auto[:...], <object>[:<object>...] (names and categories)."""
    if text in COMPASS or text == "xy_center":
        return Gravity(text)
    head, *options = text.split(":")
    region = _REGION.match(text)
    if region:
        return Gravity("region", region=region.group(1))
    if head.startswith("region_"):
        raise BadRequest(f"Invalid gravity: {text} (a region is region_!<name>!, names of letters, digits "
                         "and hyphens)")
    if head in _FACE_WORDS:
        if len(options) > 1 or (options and options[0] not in ("center", "auto")):
            raise BadRequest(f"Invalid gravity: {text} (g_{head} takes :center or :auto)")
        return Gravity(_FACE_WORDS[head], options[0] if options else "north")
    if head == "custom":
        if len(options) > 1 or (options and options[0] not in _FACE_WORDS):
            raise BadRequest(f"Invalid gravity: {text} (g_custom takes :face, :faces, :adv_face or :adv_faces)")
        return Gravity("custom", _FACE_WORDS[options[0]] if options else "")
    if head == "auto":
        return _auto(text, options)
    if object_classes(head) is not None:
        return Gravity("object", objects=_objects([head, *options], text))
    raise BadRequest(f"Invalid gravity: {text}")


def crop_mode(text: str) -> str:
    return choice("c", text, CROP_MODES)


# --- shapes ------------------------------------------------------------------------------


def radius(text: str) -> Radius:
    if text == "max":
        return Radius(())
    parts = [number("r", p, low=0) for p in text.split(":")]
    if len(parts) > 4:
        raise BadRequest(f"Invalid value for r: {text!r} (at most four corners)")
    a = parts
    if len(a) == 1:
        return Radius((a[0],) * 4)
    if len(a) == 2:
        return Radius((a[0], a[1], a[0], a[1]))
    if len(a) == 3:
        return Radius((a[0], a[1], a[2], a[1]))
    return Radius(tuple(a))


def angle(text: str) -> Angle:
    ops = []
    for part in text.split("."):
        ops.append(part if part in ANGLE_WORDS else number("a", part))
    if not ops:
        raise BadRequest(f"Invalid value for a: {text!r}")
    return Angle(tuple(ops))


_BORDER = re.compile(r"^(\d{1,4})px_solid_(.+)$")


def border(text: str) -> Border:
    match = _BORDER.match(text)
    if not match:
        raise BadRequest(f"Invalid value for bo: {text!r} (expected <width>px_solid_<color>)")
    width = int(match.group(1))
    if width < 1:
        raise BadRequest(f"Invalid value for bo: {text!r} (width must be at least 1px)")
    return Border(width, parse_color(match.group(2), param="bo"))


def background(text: str) -> Background:
    if text in ("auto", "auto:border"):
        return Background(None, "border")
    if text == "auto:predominant":
        return Background(None, "predominant")
    if text == "gen_fill" or text.startswith("gen_fill:"):
        return Background(gen=gen_fill(text.partition(":")[2]))
    if text.startswith(("auto:", "gen_fill", "blurred")):
        raise BadRequest(f"Unsupported value for b: {text}")
    return Background(parse_color(text, param="b"))


GEN_FILL_KEYS = ("prompt", "seed", "ignore-foreground")


def gen_fill(text: str) -> GenFill:
    """``b_gen_fill[:prompt_<text>][;seed_<n>][;ignore-foreground_<bool>]``, any order.  The
    PHP SDK's ``ignore-foreground`` (meaning unconfirmed) is accepted and has no effect."""
    found = subparams.split(text, GEN_FILL_KEYS, effect="b_gen_fill")
    if "ignore-foreground" in found:
        subparams.boolean(found["ignore-foreground"], "ignore-foreground", "b_gen_fill")
    prompt = subparams.prompt(found["prompt"], "b_gen_fill") if "prompt" in found else ""
    seed = subparams.seed(found["seed"], "b_gen_fill") if "seed" in found else None
    return GenFill(prompt, seed)


def color(text: str) -> Color:
    return Color(parse_color(text, param="co"))


# --- delivery ------------------------------------------------------------------------------


def output_format(text: str) -> str:
    if text == "auto":
        return "auto"
    fmt = canonical_format(text)
    if fmt not in ENCODERS:
        raise BadRequest(f"Unsupported format: {text} (f_ takes {', '.join(['auto', *ENCODERS])})")
    return fmt


def quality(text: str):
    """An int 1..100, "auto" or "auto:<level>"."""
    if text == "auto" or text.startswith("auto:"):
        level = text.partition(":")[2] or "good"
        choice("q", level, QUALITY_LEVELS)
        return f"auto:{level}"
    if re.fullmatch(r"\d{1,3}", text) and 1 <= int(text) <= 100:
        return int(text)
    raise BadRequest(f"Invalid value for q: {text!r} (1-100, auto or auto:best|good|eco|low)")


def flags(text: str) -> tuple[Flag, ...]:
    found: dict[str, Flag] = {}
    for part in text.split("."):
        name, _, arg = part.partition(":")
        if name not in DELIVERY_FLAGS and name not in LAYER_FLAGS:
            raise BadRequest(f"Invalid flag: {name or part!r}")
        if arg and name not in ("attachment", "progressive"):
            raise BadRequest(f"Invalid flag: {part!r} ({name} takes no value)")
        if name == "progressive" and arg not in ("", "semi", "steep", "none"):
            raise BadRequest(f"Invalid flag: {part!r}")
        if name in found:
            raise BadRequest(f"Flag {name} given twice")
        found[name] = Flag(name, arg)
    return tuple(sorted(found.values(), key=lambda f: f.name))
