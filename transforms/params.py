"""Typed values of the engine's own parameters: one parser per key, each raising
BadRequest that names the parameter and the value.

Every value is hashable and has a ``token`` (its canonical spelling, which enters the
derived-cache key).  Numbers follow Cloudinary: an integer is pixels, a number with a
decimal point is relative (``w_0.5`` is half the input width, ``w_1.0`` all of it).
Values that are expressions (``iw_div_2``, ``$width``) come back as the
transforms.expressions object and are evaluated when the step runs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from assets.api.errors import BadRequest

from . import expressions
from .colors import Rgba, color_token, parse_color
from .encode import ENCODERS, canonical_format

NUMBER = re.compile(r"^-?(\d+(\.\d*)?|\.\d+)$")
COMPASS = ("north_west", "north", "north_east", "west", "center", "east", "south_west", "south", "south_east")
GRAVITIES = (*COMPASS, "xy_center", "auto", "face", "faces", "custom")
CROP_MODES = ("scale", "fit", "limit", "mfit", "fill", "lfill", "fill_pad", "crop", "thumb", "pad", "lpad", "mpad",
              "auto")
QUALITY_LEVELS = ("best", "good", "eco", "low")
DELIVERY_FLAGS = ("attachment", "progressive", "strip_profile", "keep_iptc", "lossy", "preserve_transparency",
                  "png8")
LAYER_FLAGS = ("layer_apply", "relative", "tiled", "no_overflow")
ANGLE_WORDS = ("hflip", "vflip", "auto_right", "auto_left", "ignore")


def fmt_number(value: float) -> str:
    """Shortest spelling: 400 -> "400", 0.5 -> "0.5", 2.25 -> "2.25"."""
    text = f"{value:.6f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def expression(key: str, text: str):
    """An expression object for `text`, or BadRequest naming `key`."""
    if not expressions.is_expression(text):
        raise BadRequest(f"Invalid value for {key}: {text!r}")
    return expressions.parse_value(text)


def is_expr(value: Any) -> bool:
    return hasattr(value, "evaluate") and hasattr(value, "canonical")


def token_of(value: Any) -> str:
    if value is None:
        return ""
    if is_expr(value):
        return value.canonical
    token = getattr(value, "token", None)
    if token is not None:
        return token
    if isinstance(value, float):
        return fmt_number(value)
    return str(value)


# --- numbers and lengths ------------------------------------------------------------------


@dataclass(frozen=True)
class Length:
    """Pixels, or (``relative``) a fraction of the reference size."""

    value: float
    relative: bool = False

    @property
    def token(self) -> str:
        text = fmt_number(self.value)
        return text + (".0" if self.relative and "." not in text else "")

    def pixels(self, reference: float) -> float:
        return self.value * reference if self.relative else self.value


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


def gravity(text: str) -> str:
    if text in GRAVITIES:
        return text
    head = text.split(":", 1)[0]
    if head in ("auto", "face", "faces", "custom"):
        raise BadRequest(f"Unsupported gravity: {text} (only g_{head} without options)")
    raise BadRequest(f"Invalid gravity: {text}")


def crop_mode(text: str) -> str:
    return choice("c", text, CROP_MODES)


# --- shapes ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Radius:
    corners: tuple  # top-left, top-right, bottom-right, bottom-left (numbers or expressions); () = max

    @property
    def token(self) -> str:
        if not self.corners:
            return "max"
        return ":".join(token_of(c) for c in self.corners)


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


@dataclass(frozen=True)
class Angle:
    ops: tuple  # numbers (degrees clockwise), expressions, or words from ANGLE_WORDS, in order

    @property
    def token(self) -> str:
        return ".".join(op if isinstance(op, str) else token_of(op) for op in self.ops)

    @property
    def ignore(self) -> bool:
        return "ignore" in self.ops

    @property
    def auto(self) -> str | None:
        return next((op for op in self.ops if op in ("auto_right", "auto_left")), None)


def angle(text: str) -> Angle:
    ops = []
    for part in text.split("."):
        ops.append(part if part in ANGLE_WORDS else number("a", part))
    if not ops:
        raise BadRequest(f"Invalid value for a: {text!r}")
    return Angle(tuple(ops))


@dataclass(frozen=True)
class Border:
    width: int
    color: Rgba

    @property
    def token(self) -> str:
        return f"{self.width}px_solid_{color_token(self.color)}"


_BORDER = re.compile(r"^(\d{1,4})px_solid_(.+)$")


def border(text: str) -> Border:
    match = _BORDER.match(text)
    if not match:
        raise BadRequest(f"Invalid value for bo: {text!r} (expected <width>px_solid_<color>)")
    width = int(match.group(1))
    if width < 1:
        raise BadRequest(f"Invalid value for bo: {text!r} (width must be at least 1px)")
    return Border(width, parse_color(match.group(2), param="bo"))


@dataclass(frozen=True)
class Background:
    color: Rgba | None = None  # None: computed from the image
    auto: str = ""  # "border" or "predominant" when color is None

    @property
    def token(self) -> str:
        return color_token(self.color) if self.color is not None else f"auto:{self.auto}"


def background(text: str) -> Background:
    if text in ("auto", "auto:border"):
        return Background(None, "border")
    if text == "auto:predominant":
        return Background(None, "predominant")
    if text.startswith(("auto:", "gen_fill", "blurred")):
        raise BadRequest(f"Unsupported value for b: {text}")
    return Background(parse_color(text, param="b"))


@dataclass(frozen=True)
class Color:
    rgba: Rgba

    @property
    def token(self) -> str:
        return color_token(self.rgba)


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


@dataclass(frozen=True)
class Flag:
    name: str
    arg: str = ""

    @property
    def token(self) -> str:
        return self.name + (f":{self.arg}" if self.arg else "")


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
