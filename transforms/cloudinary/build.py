"""Cloudinary's transformation grammar read into the engine's Plan (transforms.plan).

`build(components)` reads the (named-expanded) components of a transformation into a
tree of steps: an `Action` per component (transforms.cloudinary.components), a `Block`
for conditions (``if_<cond>`` on its own opens a block closed by ``if_end``, with an
optional ``if_else``; ``if_`` next to other parameters conditions that component
only), and a `LayerStep` for ``l_``/``u_`` (the layer's own component, the
components up to the one with ``fl_layer_apply`` run on the layer, placement from
that closing component; a layer never closed is placed with its own component's
``g``/``x``/``y``).  Delivery parameters (``f_``, ``q_``, delivery flags) are global:
the last one given wins.  The entry points (`from_path`, `from_text`: named
transformations expanded first) are transforms.cloudinary.entry.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from core.errors import BadRequest

from ..ai.lifecycle import check_plan
from ..encode import canonical_format
from ..ops import layers
from ..plan import Block, LayerStep, Plan
from ..values import Gravity
from . import expressions
from . import params as P
from .components import parse_action
from .parser import canonical, split_component, split_transformation

PLACEMENT_KEYS = ("g", "x", "y")
MAX_COMPONENTS = 100


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
    check_plan(steps)  # AI producers' effects (e_background_removal): first component only
    flags = tuple(sorted(delivery.flags.values(), key=lambda f: f.name))
    text = canonical("/".join(components)) if transformation is None else transformation
    return Plan(delivery.format, text, tuple(steps), delivery.quality, flags, tuple(named), delivery.explicit,
                "/".join(components))


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


def _layer(parsed, index: int, params: dict[str, str], delivery: _Delivery):
    if "l" in params and "u" in params:
        raise BadRequest("l_ and u_ cannot be in the same component")
    underlay = "u" in params
    kind = "u" if underlay else "l"
    source = layers.parse_source(kind, params[kind])
    component = tuple((k, v) for k, v in params.items())
    flags = {f.name: f for f in P.flags(params["fl"])} if "fl" in params else {}
    consumed = layers.consumed(source, params) 
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
    gravity = P.gravity(placement["g"]) if "g" in placement else Gravity("center")
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


def validate(text: str) -> None:
    """BadRequest unless `text` (expanded) is a valid transformation (for named definitions)."""
    build(split_transformation(text))

