"""A delivery request as a typed, validated, canonical plan.

`build(components)` reads the (named-expanded) components of a transformation into a
tree of steps: an `Action` per component (transforms.steps), a `Block` for
conditions (``if_<cond>`` on its own opens a block closed by ``if_end``, with an
optional ``if_else``; ``if_`` next to other parameters conditions that component
only), and a `LayerStep` for ``l_``/``u_`` (the layer's own component, the
components up to the one with ``fl_layer_apply`` run on the layer, placement from
that closing component; a layer never closed is placed with its own component's
``g``/``x``/``y``).  Delivery parameters (``f_``, ``q_``, delivery flags) are global:
the last one given wins.

A plan has two spellings: ``transformation`` is the URL's text with the parameter
order fixed (what DerivedImage rows, the Admin API and the strict/named checks
see), ``key`` the meaning (named transformations expanded, values normalised:
``w_400,c_fill`` == ``c_fill,w_400``, ``e_blur`` == ``e_blur:100``), which enters
the derived-cache key.  `for_asset` resolves what depends on the asset and the
request: the output format (``f_auto`` by Accept), the quality level (Save-Data).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from assets.api.errors import BadRequest

from . import params as P
from .encode import ENCODERS, MIME_TYPES, canonical_format
from .parser import DeliveryPath, canonical, split_component, split_transformation
from .steps import Action, parse_action

PLACEMENT_KEYS = ("g", "x", "y")
MAX_COMPONENTS = 100


@dataclass(frozen=True)
class Block:
    condition: Any
    then: tuple = ()
    otherwise: tuple = ()

    @property
    def token(self) -> str:
        return f"if({self.condition.canonical}){{{_tokens(self.then)}}}else{{{_tokens(self.otherwise)}}}"


@dataclass(frozen=True)
class LayerStep:
    underlay: bool
    source: Any  # transforms.ops.layers.parse_source(...) (hashable)
    component: tuple  # the layer's own component as written, (key, value) pairs
    own: Action  # the layer's own sizing and effects
    relative: bool = False  # fl_relative: w/h fractions are of the base image
    steps: tuple = ()  # components between the layer and fl_layer_apply, run on the layer
    gravity: str = "center"
    x: Any = None
    y: Any = None
    tiled: bool = False
    no_overflow: bool = False
    opacity: Any = None  # o_ next to fl_layer_apply

    @property
    def token(self) -> str:
        kind = "u" if self.underlay else "l"
        return (f"{kind}({self.source!r};{self.own.token};rel={int(self.relative)}){{{_tokens(self.steps)}}}"
                f"@{self.gravity},{P.token_of(self.x)},{P.token_of(self.y)},{int(self.tiled)}{int(self.no_overflow)}"
                f",o={P.token_of(self.opacity)}")


def _tokens(steps) -> str:
    return "/".join(step.token for step in steps)


@dataclass(frozen=True)
class Plan:
    format: str | None  # canonical output format, "auto", or None: the asset's own
    transformation: str = ""  # the URL's transformation text, parameter order fixed ("" = none)
    steps: tuple = ()
    quality: int | str | None = None  # 1..100 or "auto:<level>"
    flags: tuple = ()  # delivery flags (params.Flag)
    named: tuple[str, ...] = ()  # named transformations used
    explicit_format: bool = False  # the format came from f_, not from the extension

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
        return f"{_tokens(self.steps)}|q={P.token_of(self.quality)}|fl={flags}"

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
                            self.explicit_format, alpha_format=alpha_format, passthrough=passthrough, vary=tuple(vary),
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


# --- building ----------------------------------------------------------------------------


@dataclass
class _Delivery:
    format: str | None = None
    explicit: bool = False
    quality: Any = None
    flags: dict = field(default_factory=dict)


def build(components: list[str], *, extension: str | None = None, transformation: str | None = None,
          named: tuple[str, ...] = ()) -> Plan:
    """The plan for already-expanded `components` (no ``t_`` left)."""
    if len(components) > MAX_COMPONENTS:
        raise BadRequest(f"Too many transformation components: {len(components)} (at most {MAX_COMPONENTS})")
    delivery = _Delivery(format=canonical_format(extension) if extension else None)
    parsed = [split_component(c) for c in components]
    steps, end = _sequence(parsed, 0, delivery, top=True, closing=())
    if end != len(parsed):  # pragma: no cover - _sequence consumes everything at the top
        raise BadRequest("Invalid transformation")
    from .ai.lifecycle import check_plan

    check_plan(steps)  # AI producers' effects (e_background_removal): first component only
    flags = tuple(sorted(delivery.flags.values(), key=lambda f: f.name))
    text = canonical("/".join(components)) if transformation is None else transformation
    return Plan(delivery.format, text, tuple(steps), delivery.quality, flags, tuple(named), delivery.explicit)


def _sequence(parsed, index: int, delivery: _Delivery, *, top: bool, closing: tuple[str, ...]):
    """Steps from `index` until a component whose ``if`` is in `closing` (returned index
    points at it) or the end."""
    steps: list = []
    while index < len(parsed):
        params = dict(parsed[index])
        condition_text = params.get("if")
        if condition_text in closing and len(params) == 1:
            return steps, index
        if condition_text is not None and len(params) == 1 and condition_text not in ("else", "end"):
            block, index = _block(parsed, index, delivery)
            steps.append(block)
            continue
        if condition_text in ("else", "end"):
            raise BadRequest(f"if_{condition_text} without a matching if_ (it must stand alone in its component)")
        condition = _condition(condition_text) if condition_text is not None else None
        params.pop("if", None)
        if "l" in params or "u" in params:
            step, index = _layer(parsed, index, params, delivery)
        else:
            step, index = _component(params, delivery, top=top), index + 1
        if step is None:
            if condition is not None:
                raise BadRequest("A condition (if_) needs something to apply in its component")
            continue
        steps.append(Block(condition, (step,)) if condition is not None else step)
    return steps, index


def _block(parsed, index: int, delivery: _Delivery):
    condition = _condition(dict(parsed[index])["if"])
    then, index = _sequence(parsed, index + 1, delivery, top=False, closing=("else", "end"))
    otherwise: list = []
    if index < len(parsed) and dict(parsed[index]).get("if") == "else":
        otherwise, index = _sequence(parsed, index + 1, delivery, top=False, closing=("else", "end"))
        if index < len(parsed) and dict(parsed[index]).get("if") == "else":
            raise BadRequest("if_else given twice in one condition")
    if index >= len(parsed):
        raise BadRequest("if_ without if_end")
    return Block(condition, tuple(then), tuple(otherwise)), index + 1


def _condition(text: str):
    try:
        from . import expressions
    except ImportError:  # pragma: no cover
        raise BadRequest("Conditional transformations are not supported yet") from None
    return expressions.parse_condition(text)


def _component(params: dict[str, str], delivery: _Delivery, *, top: bool):
    """An Action for a plain component (delivery parameters taken out), or None when it
    held only delivery parameters."""
    if "t" in params:
        raise BadRequest(f"Unknown named transformation: {params['t']}")
    for key in ("f", "q"):
        if key in params:
            if not top:
                raise BadRequest(f"{key}_ cannot be used inside a condition or a layer")
            value = params.pop(key)
            if key == "f":
                delivery.format, delivery.explicit = P.output_format(value), True
            else:
                delivery.quality = P.quality(value)
    if "fl" in params:
        for flag in P.flags(params.pop("fl")):
            if flag.name in P.LAYER_FLAGS:
                raise BadRequest(f"Flag {flag.name} is only valid with a layer (l_ or u_)")
            if not top:
                raise BadRequest(f"fl_{flag.name} cannot be used inside a condition or a layer")
            delivery.flags[flag.name] = flag
    if not params:
        return None
    return parse_action(params)


def _layers():
    try:
        from .ops import layers
    except ImportError:
        raise BadRequest("Layers (l_, u_) are not supported yet") from None
    return layers


def _layer(parsed, index: int, params: dict[str, str], delivery: _Delivery):
    if "l" in params and "u" in params:
        raise BadRequest("l_ and u_ cannot be in the same component")
    layers = _layers()
    underlay = "u" in params
    kind = "u" if underlay else "l"
    source = layers.parse_source(kind, params[kind])
    component = tuple((k, v) for k, v in params.items())
    flags = {f.name: f for f in P.flags(params["fl"])} if "fl" in params else {}
    consumed = layers.consumed(source, params) if hasattr(layers, "consumed") else frozenset()
    own_params = {k: v for k, v in params.items() if k not in (kind, "fl", *PLACEMENT_KEYS, *consumed)}
    for key in ("f", "q"):
        if key in own_params:
            raise BadRequest(f"{key}_ cannot be used inside a layer")
    own = parse_action(own_params)
    placement = {k: params[k] for k in PLACEMENT_KEYS if k in params}
    inner: list = []
    end = index + 1
    if "layer_apply" not in flags:
        close = _find_apply(parsed, index + 1)
        if close is not None:
            inner, _ = _sequence(parsed[:close], index + 1, delivery, top=False, closing=())
            apply = dict(parsed[close])
            flags.update({f.name: f for f in P.flags(apply.pop("fl"))})
            extra = [k for k in apply if k not in (*PLACEMENT_KEYS, "o")]
            if extra:
                raise BadRequest(f"Parameter {extra[0]} is not valid next to fl_layer_apply")
            placement.update(apply)
            end = close + 1
    unknown = [name for name in flags if name not in P.LAYER_FLAGS]
    if unknown:
        raise BadRequest(f"fl_{unknown[0]} cannot be used with a layer")
    gravity = P.gravity(placement["g"]) if "g" in placement else "center"
    if gravity in ("auto", "face", "faces", "custom"):
        raise BadRequest(f"g_{gravity} is not supported for placing a layer")
    x = P.length("x", placement["x"], positive=False) if "x" in placement else None
    y = P.length("y", placement["y"], positive=False) if "y" in placement else None
    opacity = P.number("o", placement["o"], low=0, high=100) if "o" in placement else None
    step = LayerStep(underlay, source, component, own, "relative" in flags, tuple(inner), gravity, x, y,
                     "tiled" in flags, "no_overflow" in flags, opacity)
    return step, end


def _find_apply(parsed, start: int) -> int | None:
    for index in range(start, len(parsed)):
        params = dict(parsed[index])
        if "l" in params or "u" in params:
            if "fl" in params and "layer_apply" in params["fl"].split("."):
                continue
            return None  # another layer opens first: ours is placed with its own component
        if "fl" in params and "layer_apply" in [f.split(":")[0] for f in params["fl"].split(".")]:
            return index
    return None


# --- entry points ----------------------------------------------------------------------------


def _named():
    try:
        from . import named
    except ImportError:  # pragma: no cover
        return None
    return named


def expand(components: list[str]) -> tuple[list[str], tuple[str, ...]]:
    """Inline named transformations (``t_``) when the named module is there."""
    module = _named()
    if module is None or not any("t_" in c for c in components):
        return list(components), ()
    expanded, used = module.expand(list(components))
    return list(expanded), tuple(used)


def from_path(parsed: DeliveryPath) -> Plan:
    components = list(parsed.transformations)
    text = canonical("/".join(components))
    expanded, used = expand(components)
    return build(expanded, extension=parsed.extension, transformation=text, named=used)


def from_text(text: str, fmt: str | None = None) -> Plan:
    components = split_transformation(text)
    expanded, used = expand(components)
    return build(expanded, extension=fmt, transformation=canonical(text), named=used)


def validate(text: str) -> None:
    """BadRequest unless `text` (expanded) is a valid transformation (for named definitions)."""
    build(split_transformation(text))


def without_format(plan: Plan) -> Plan:
    return plan if plan.explicit_format else replace(plan, format=None)
