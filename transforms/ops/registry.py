"""The operation registry for effects (``e_<name>[:<arg>...]``).

Each effect validates its own arguments (``parse``) and applies itself to a pyvips
image (``apply``); the plan never knows the details.  ``parse`` receives the tokens
after the name (``e_blur:300`` -> ``("300",)``) and the other parameters of the
same component that the effect declares as ``qualifiers`` (``co``, ``x``, ``y``...),
and returns a hashable, normalised value (it enters the derived-cache key, so
equivalent spellings must give equal values: ``e_blur`` == ``e_blur:100``).  It
raises ``BadRequest`` naming the problem for any bad input.  ``apply(image, value,
ctx)`` returns a new image; it must keep the number of bands it was given unless
the effect is about alpha (then it returns RGBA).  An effect whose pixels depend on
something besides the image and its value (a stored AI result, a refiner's override)
declares it with ``depends_on(asset, value)``: a string naming that thing's current
state, which enters the derived-cache key; rows rendered with the effect are recorded
under its name (transforms.dependencies).  An effect reading the faces
(``RenderContext.faces``, filled only for it) says ``needs_faces``: it then depends on
the faces like a face gravity.

Families register on import: transforms/ops/effects.py, transforms/ops/colour.py, ...
`load()` imports them all.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pyvips

FAMILIES = ("transforms.ops.effects", "transforms.ops.colour", "transforms.ops.artistic", "transforms.ai.bgremoval",
            "transforms.ai.genfill", "transforms.ai.geneffects", "transforms.ops.aieffects",
            "transforms.ai.upscale", "transforms.ai.genvar")


@dataclass
class RenderContext:
    """What an operation may consult besides pixels."""

    asset: Any = None  # assets.models.Asset, or None in unit tests
    faces: list[tuple[int, int, int, int]] = field(default_factory=list)  # x, y, w, h in the current image
    dpr: float = 1.0
    variables: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Effect:
    name: str
    parse: Callable[[tuple[str, ...], Mapping[str, str]], Any]
    apply: Callable[[pyvips.Image, Any, RenderContext], pyvips.Image]
    qualifiers: frozenset[str] = frozenset()
    changes_alpha: bool = False
    depends_on: Callable[[Any, Any], str] | None = None
    needs_faces: bool = False  # reads RenderContext.faces (the dependency on faces is declared for it)


EFFECTS: dict[str, Effect] = {}


def register(name: str, parse, apply, *, qualifiers=(), aliases=(), changes_alpha: bool = False,
             depends_on=None, needs_faces: bool = False) -> Effect:
    entry = Effect(name, parse, apply, frozenset(qualifiers), changes_alpha, depends_on, needs_faces)
    for key in (name, *aliases):
        if key in EFFECTS:
            raise RuntimeError(f"effect {key!r} registered twice")
        EFFECTS[key] = entry
    return entry


_loaded = False


def load() -> dict[str, Effect]:
    global _loaded
    if not _loaded:
        for module in FAMILIES:
            importlib.import_module(module)
        _loaded = True
    return EFFECTS
