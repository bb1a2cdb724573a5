"""The engine's Plan: what to render, owned by no URL dialect.

A dialect (transforms.cloudinary: Cloudinary's URL grammar) reads a request into a
`Plan` whose steps are a tree of three step types: an `Action` (one component's
operations, run in the order its docstring gives), a `Block` (steps run when its
condition holds, others otherwise) and a `LayerStep` (an image or text layer: its own
action and inner steps run on the layer, then placed).  Values are transforms.values
types; any dialect that means the same operations builds equal steps, so its plan has
the same `key` and lands in the same derived-cache entry.  Delivery settings (format,
quality, flags) sit on the Plan itself.

A plan has two spellings: ``transformation`` is the URL's text with the parameter
order fixed (what DerivedImage rows, the Admin API and the strict/named checks
see), ``key`` the meaning (named transformations expanded, values normalised:
``w_400,c_fill`` == ``c_fill,w_400``, ``e_blur`` == ``e_blur:100``), which enters
the derived-cache key.  `for_asset` resolves what depends on the asset and the
request: the output format (``f_auto`` by Accept), the quality level (Save-Data).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from core.errors import BadRequest

from . import dependencies as D
from .encode import ENCODERS, MIME_TYPES
from .values import Angle, Background, Border, Color, Gravity, Radius, token_of


@dataclass(frozen=True)
class Effect:
    name: str
    value: Any  # what the effect's parse returned (hashable, deterministic repr)
    text: str  # as written, for messages

    @property
    def token(self) -> str:
        return f"{self.name}={self.value!r}"


@dataclass(frozen=True)
class Action:
    """One component's operations, run in this order: variables, ``a_auto_*``, the
    resize/crop/pad (crop, width, height, ar, dpr, gravity, x, y, zoom; background as pad
    colour), the effect (dispatched through transforms.ops.registry), radius, border,
    angle, opacity, then background flattening what is transparent."""

    assignments: tuple = ()
    crop: str = ""
    width: Any = None
    height: Any = None
    ar: Any = None
    dpr: float | None = None
    gravity: Gravity | None = None
    x: Any = None
    y: Any = None
    zoom: Any = None
    effect: Effect | None = None
    radius: Radius | None = None
    angle: Angle | None = None
    border: Border | None = None
    background: Background | None = None
    color: Color | None = None
    opacity: Any = None

    @property
    def resizes(self) -> bool:
        return bool(self.crop or self.width is not None or self.height is not None or self.ar is not None
                    or self.dpr is not None)

    @property
    def empty(self) -> bool:
        return self == Action()

    @property
    def token(self) -> str:
        parts = [a.canonical for a in self.assignments]
        for name in ("crop", "width", "height", "ar", "dpr", "gravity", "x", "y", "zoom", "effect", "radius",
                     "angle", "border", "background", "color", "opacity"):
            value = getattr(self, name)
            if value is not None and value != "":
                parts.append(f"{name}={token_of(value)}")
        return ",".join(parts)

    def depends_on(self, asset):
        """What besides the image this component reads (transforms.dependencies)."""
        if self.assignments:
            yield D.meta(asset)  # an expression may read tags, context or the face count
        yield from _gravity_depends(self.gravity, asset)
        if self.effect is not None:
            found = D.effect(asset, self.effect.name, self.effect.value)
            if found is not None:
                yield found


@dataclass(frozen=True)
class Block:
    condition: Any
    then: tuple = ()
    otherwise: tuple = ()

    @property
    def token(self) -> str:
        return f"if({self.condition.canonical}){{{_tokens(self.then)}}}else{{{_tokens(self.otherwise)}}}"

    def depends_on(self, asset):
        yield D.meta(asset)  # the condition may read tags, context or faces
        for step in (*self.then, *self.otherwise):
            yield from step.depends_on(asset)


@dataclass(frozen=True)
class LayerStep:
    underlay: bool
    source: Any  # transforms.ops.layers.parse_source(...) (hashable)
    component: tuple  # the layer's own component as written, (key, value) pairs
    own: Action  # the layer's own sizing and effects
    relative: bool = False  # fl_relative: w/h fractions are of the base image
    steps: tuple = ()  # components between the layer and fl_layer_apply, run on the layer
    gravity: Gravity = Gravity("center")
    x: Any = None
    y: Any = None
    tiled: bool = False
    no_overflow: bool = False
    opacity: Any = None  # o_ next to fl_layer_apply

    @property
    def token(self) -> str:
        kind = "u" if self.underlay else "l"
        return (f"{kind}({self.source!r};{self.own.token};rel={int(self.relative)}){{{_tokens(self.steps)}}}"
                f"@{self.gravity},{token_of(self.x)},{token_of(self.y)},{int(self.tiled)}{int(self.no_overflow)}"
                f",o={token_of(self.opacity)}")

    def depends_on(self, asset):
        yield D.layer(self.source)
        yield from _gravity_depends(self.gravity, asset)  # placed on the base's faces, custom box...
        for step in (self.own, *self.steps):
            yield from step.depends_on(asset)


def _gravity_depends(gravity: Gravity | None, asset):
    """A focus gravity reads stored boxes: custom first (g_custom, g_auto unless told
    otherwise), then faces; a region its regions.  Objects are found in the pixels alone."""
    if gravity is None or gravity.fixed:
        return
    if gravity.reads_custom:
        yield D.custom(asset)
    if gravity.reads_faces:
        yield D.faces(asset)
    if gravity.kind == "region":
        yield D.regions(asset)


def _tokens(steps) -> str:
    return "/".join(step.token for step in steps)


@dataclass(frozen=True)
class Plan:
    format: str | None  # canonical output format, "auto", or None: the asset's own
    transformation: str = ""  # the dialect's canonical text (Cloudinary: the URL's, parameter order fixed)
    steps: tuple = ()
    quality: int | str | None = None  # 1..100 or "auto:<level>"
    flags: tuple = ()  # delivery flags (values.Flag)
    named: tuple[str, ...] = ()  # named transformations used
    explicit_format: bool = False  # the format came from f_, not from the extension
    literal: str = ""  # the components as the URL wrote them (named ones inlined), "/"-joined: a refined
    # generative variation is chosen for a literal prefix (transforms.ai.stages), not for the meaning

    @property
    def is_known_format(self) -> bool:
        return self.format in (None, "auto") or self.format in ENCODERS or self.format in MIME_TYPES

    def flag(self, name: str):
        return next((f for f in self.flags if f.name == name), None)

    @property
    def needs_signature(self) -> bool:
        """A layer of a private or authenticated asset: only a signed URL may show it."""

        def walk(steps) -> bool:
            for step in steps:
                if isinstance(step, LayerStep):
                    if getattr(step.source, "type", "upload") != "upload" or walk(step.steps):
                        return True
                elif isinstance(step, Block) and (walk(step.then) or walk(step.otherwise)):
                    return True
            return False

        return walk(self.steps)

    @property
    def key(self) -> str:
        """The meaning, for the cache key (delivery-only flags left out)."""
        flags = ".".join(f.token for f in self.flags if f.name != "attachment")
        return f"{_tokens(self.steps)}|q={token_of(self.quality)}|fl={flags}"

    def for_asset(self, asset, accept: str = "", save_data: bool = False) -> "ResolvedPlan":
        """Fill in the asset's format, resolve f_auto and q_auto; reject a format we can
        neither stream nor encode."""
        fmt, alpha_format, vary = self.format or asset.format, None, []
        if fmt == "auto":
            vary.append("Accept")
            accept = (accept or "").lower()
            if "image/avif" in accept:
                fmt = "avif"
            elif "image/webp" in accept:
                fmt = "webp"
            else:  # browsers without either: JPEG, or PNG for what has transparency
                fmt, alpha_format = "jpg", "png"
        pixel_flags = [f for f in self.flags if f.name != "attachment"]
        needs_render = bool(self.steps or self.quality is not None or pixel_flags or alpha_format)
        if self.format is None and needs_render and fmt not in ENCODERS:
            fmt, alpha_format = "jpg", "png"  # an original we store but cannot write (HEIC, SVG...)
        if fmt not in ENCODERS and (fmt != asset.format or needs_render):
            raise BadRequest(f"Unsupported format: {fmt}")
        if self.flag("lossy") and fmt == "png":
            fmt, alpha_format = "jpg", "png"  # Cloudinary: PNG only when there is transparency
        if self.flag("png8") and "png" not in (fmt, alpha_format):
            raise BadRequest(f"fl_png8 needs PNG output, not {fmt}")
        quality = self.quality
        if isinstance(quality, str):
            vary.append("Save-Data")
            if save_data and quality == "auto:good":
                quality = "auto:eco"
        passthrough = fmt == asset.format and not needs_render
        attachment = self.flag("attachment")
        return ResolvedPlan(fmt, self.transformation, self.steps, quality, self.flags, self.named,
                            self.explicit_format, self.literal, alpha_format=alpha_format, passthrough=passthrough, vary=tuple(vary),
                            attachment=attachment.arg or True if attachment else None)


@dataclass(frozen=True)
class ResolvedPlan(Plan):
    format: str = "jpg"
    alpha_format: str | None = None  # the format to use instead when the result has transparency
    passthrough: bool = False  # the original's bytes are the answer (if it needs no rotation)
    vary: tuple[str, ...] = ()
    attachment: str | bool | None = None

    @property
    def key(self) -> str:
        return f"{super().key}|f={self.format}|af={self.alpha_format or ''}"


def without_format(plan: Plan) -> Plan:
    return plan if plan.explicit_format else replace(plan, format=None)
