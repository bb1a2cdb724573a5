"""The values a plan's steps hold: what any URL dialect produces and the engine reads.

Every value is hashable and has a ``token`` (its canonical spelling, which enters the
derived-cache key through `Plan.key`), so two dialects that mean the same operation
produce equal values and land in the same cache entry.  A value may also be an
expression (anything with ``evaluate(env)`` and ``canonical``, `is_expr`): the engine
evaluates it against an `Env` when the step runs.  Parsing the Cloudinary spellings of
these values is transforms.cloudinary.params.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .rgba import Rgba, color_token

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


@dataclass(frozen=True)
class Radius:
    corners: tuple  # top-left, top-right, bottom-right, bottom-left (numbers or expressions); () = max

    @property
    def token(self) -> str:
        if not self.corners:
            return "max"
        return ":".join(token_of(c) for c in self.corners)


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


@dataclass(frozen=True)
class Border:
    width: int
    color: Rgba

    @property
    def token(self) -> str:
        return f"{self.width}px_solid_{color_token(self.color)}"


@dataclass(frozen=True)
class Background:
    color: Rgba | None = None  # None: computed from the image
    auto: str = ""  # "border" or "predominant" when color is None

    @property
    def token(self) -> str:
        return color_token(self.color) if self.color is not None else f"auto:{self.auto}"


@dataclass(frozen=True)
class Color:
    rgba: Rgba

    @property
    def token(self) -> str:
        return color_token(self.rgba)


@dataclass(frozen=True)
class Flag:
    name: str
    arg: str = ""

    @property
    def token(self) -> str:
        return self.name + (f":{self.arg}" if self.arg else "")


@dataclass
class Env:
    """What expressions see: the original (iw, ih), the current image (w, h), the asset."""

    iw: float = 0
    ih: float = 0
    w: float = 0
    h: float = 0
    fc: float = 0
    pc: float = 1
    cp: float = 1
    tags: list[str] = field(default_factory=list)
    ctx: dict[str, str] = field(default_factory=dict)
    variables: dict[str, Any] = field(default_factory=dict)

    @property
    def ar(self) -> float:
        return self.w / self.h if self.h else 0.0

    @property
    def iar(self) -> float:
        return self.iw / self.ih if self.ih else 0.0
