"""One Cloudinary transformation component read into the engine's `Action`.

`parse_action(params)` turns a component's ``(key, value)`` pairs into an
`Action`, validating every value (transforms.cloudinary.params) and every combination: a
qualifier that nothing in its component uses (``g_`` without a crop mode that places,
``co_`` without an effect that takes a colour...) is a 400, never ignored.

(transforms.plan.Action gives the order the engine runs them in.)  Effects are
looked up in transforms.ops.registry: an effect's declared qualifiers (``co``, ``x``,
``y``...) are consumed by it.
"""

from __future__ import annotations

from typing import Any

from core.errors import BadRequest

from ..ops import registry
from ..plan import Action, Effect
from . import expressions
from . import params as P

SIZE_KEYS = ("w", "h", "ar", "c", "g", "x", "y", "z", "dpr")
PLACING_MODES = ("fill", "lfill", "fill_pad", "auto_pad", "crop", "thumb", "auto", "pad", "lpad", "mpad")
GEN_FILL_MODES = ("pad", "lpad", "mpad", "fill_pad", "auto_pad")
OFFSET_MODES = ("crop", "thumb", "pad", "lpad", "mpad")


def parse_effect(text: str, component: dict[str, str]) -> tuple[Effect, frozenset]:
    name, *args = text.split(":")
    entry = registry.load().get(name)
    if entry is None:
        raise BadRequest(f"Invalid effect: {name}")
    qualifiers = {q: component[q] for q in entry.qualifiers if q in component}
    value = entry.parse(tuple(args), qualifiers)
    return Effect(entry.name, value, text), frozenset(qualifiers)


# --- one component -------------------------------------------------------------------------


def parse_action(params: dict[str, str], *, color_used: bool = False) -> Action:
    """`params` without ``if``, ``l``/``u``, ``f``, ``q`` and ``fl`` (transforms.cloudinary.build
    takes those).  `color_used`: something else in the component (a text layer) takes ``co_``."""
    values: dict[str, Any] = {}
    used: set[str] = set()
    if "e" in params:
        values["effect"], consumed = parse_effect(params["e"], params)
        used |= consumed
    assignments = []
    for key, value in params.items():
        if key.startswith("$"):
            assignments.append(_assignment(key, value))
    values["assignments"] = tuple(assignments)
    rest = {k: v for k, v in params.items() if k not in used and not k.startswith("$") and k != "e"}
    parsers = {
        "w": lambda v: P.length("w", v), "h": lambda v: P.length("h", v), "ar": P.aspect_ratio, "dpr": P.dpr,
        "c": P.crop_mode, "g": P.gravity, "x": lambda v: P.length("x", v, positive=False),
        "y": lambda v: P.length("y", v, positive=False), "z": lambda v: P.number("z", v, low=0.01, high=100),
        "r": P.radius, "a": P.angle, "bo": P.border, "b": P.background, "co": P.color,
        "o": lambda v: P.number("o", v, low=0, high=100),
    }
    names = {"w": "width", "h": "height", "c": "crop", "g": "gravity", "z": "zoom", "r": "radius", "a": "angle",
             "bo": "border", "b": "background", "co": "color", "o": "opacity"}
    for key, value in rest.items():
        parser = parsers.get(key)
        if parser is None:
            raise BadRequest(f"Parameter {key} is not valid here")
        values[names.get(key, key)] = parser(value)
    action = Action(**values)
    _check(action, rest, color_used)
    return action


def _assignment(key: str, value: str):
    return expressions.parse_assignment(key, value)


def _check(a: Action, rest: dict[str, str], color_used: bool) -> None:
    """Reject qualifiers nothing uses and combinations that contradict each other."""
    if a.width is not None and a.height is not None and a.ar is not None:
        raise BadRequest("ar cannot be combined with both w and h")
    mode = a.crop
    g = a.gravity
    if mode and a.width is None and a.height is None and a.ar is None:
        if not (mode == "crop" and g is not None and not g.fixed):
            raise BadRequest(f"c_{mode} needs w, h or ar")
    if g is not None:
        if mode not in PLACING_MODES:
            raise BadRequest(f"g_{g.token} needs a crop mode that crops or pads (c_fill, c_crop, c_pad...)")
        if g.kind == "xy_center" and mode != "crop":
            raise BadRequest("g_xy_center is only valid with c_crop")
        if mode in ("pad", "lpad", "mpad") and not g.fixed and g.kind != "region":
            raise BadRequest(f"g_{rest.get('g', g.token)} is not valid with c_{mode}")
    if mode == "fill_pad" and (g is None or g.kind != "auto"):
        raise BadRequest("c_fill_pad needs g_auto")
    for key in ("x", "y"):
        if key in rest and mode not in OFFSET_MODES:
            raise BadRequest(f"{key}_ needs c_crop, c_thumb or a pad mode (or an effect or layer that takes it)")
    if a.zoom is not None and mode not in ("crop", "thumb", "auto"):
        raise BadRequest("z_ needs c_crop, c_thumb or c_auto")
    if a.background is not None and a.background.gen is not None:
        if mode not in GEN_FILL_MODES:
            raise BadRequest("b_gen_fill needs a padding crop mode: c_pad, c_lpad, c_mpad, c_fill_pad or c_auto_pad")
        if not ((a.width is not None and a.height is not None) or (a.ar is not None and (a.width is not None
                                                                                          or a.height is not None))):
            raise BadRequest("b_gen_fill needs dimensions that make padding: w_ and h_, or ar_ with w_ or h_")
    if a.color is not None and not color_used:
        raise BadRequest("co_ is not used by anything in its component (it qualifies an effect or a text layer)")
    if a.angle is not None and a.angle.auto and not (a.width is not None and a.height is not None):
        raise BadRequest(f"a_{a.angle.auto} needs w and h in its component")
