"""What a step's pixels depend on besides the asset's version and the plan itself.

Each step type declares it (`depends_on(asset)` on transforms.plan's Action, Block and
LayerStep; an effect through its registry entry's ``depends_on(asset, value)``, which
is how an AI producer or a refiner adds its own entry): a sequence of `Dependency`,
each with

- ``value``: the current state of what it depends on, which enters the derived-cache
  key (transforms.derived.cache_key), so a change never meets an old rendering;
- ``kind``: what it depends on, recorded on the DerivedImage row (``depends``, as
  ``|kind|kind|``) so that the event changing it deletes exactly those rows with one
  filter (`rows_depending`) instead of re-reading every row's transformation.

The kinds: ``meta`` (tags, context and face coordinates, read by conditions and
variables), ``custom`` and ``faces`` (gravities), ``layer:<asset id>`` (an image layer),
and an effect's own kind (its registry name, e.g. ``background_removal``).  The values
are spelled as they always were, so existing cache keys stay valid.
"""

from __future__ import annotations

import json
from typing import NamedTuple

from . import focus
from .ops import layers, registry

META = "meta"
CUSTOM = "custom"
FACES = "faces"
REGIONS = "regions"


class Dependency(NamedTuple):
    kind: str  # "" when nothing can change it (a text layer)
    value: str


def meta(asset) -> Dependency:
    faces_ = focus.faces(asset) if asset.pk else asset.face_coordinates  # ``fc`` counts them
    return Dependency(META, "meta:" + json.dumps([asset.tag_names, asset.context, faces_],
                                                 sort_keys=True, default=str))


def custom(asset) -> Dependency:
    return Dependency(CUSTOM, "custom:" + json.dumps(asset.custom_coordinates))


def faces(asset) -> Dependency:
    """The faces of the asset's current version: detected now if they are not known yet
    (transforms.focus.faces), so the key never holds a value detection would change."""
    return Dependency(FACES, "faces:" + json.dumps(focus.faces(asset) if asset.pk else asset.face_coordinates))


def regions(asset) -> Dependency:
    return Dependency(REGIONS, "regions:" + json.dumps(asset.regions, sort_keys=True))


def layer_kind(asset_id) -> str:
    return f"layer:{asset_id}"


def layer(source) -> Dependency:
    """An image layer: the overlay asset's version (overwriting the logo changes the key);
    a text layer depends on nothing."""
    if not isinstance(source, layers.ImageSource):
        return Dependency("", "layer:")
    overlay = layers.find_asset(source)
    return Dependency(layer_kind(overlay.pk), f"layer:{overlay.version_id}")


def effect(asset, name: str, value) -> Dependency | None:
    """The effect's own entry, when its registry entry declares one (an effect on the faces:
    the faces)."""
    entry = registry.EFFECTS.get(name)
    if entry is not None and entry.needs_faces:
        return faces(asset)
    if entry is None or entry.depends_on is None:
        return None
    return Dependency(entry.name, entry.depends_on(asset, value))


def of_steps(asset, steps) -> list[Dependency]:
    """Every step's declarations, in plan order, each once."""
    found: dict[Dependency, None] = {}
    for step in steps:
        for dependency in step.depends_on(asset):
            found.setdefault(dependency)
    return list(found)


_plan_dependencies: list = []


def register_plan_dependency(declare) -> None:
    """`declare(asset, plan)` yields what a plan depends on as a whole rather than step by
    step (transforms.ai.stages: a generative step's stored result depends on the steps before it)."""
    if declare not in _plan_dependencies:
        _plan_dependencies.append(declare)


def of_plan(asset, plan) -> list[Dependency]:
    """`of_steps` for the plan's steps, then the plan-wide declarations."""
    found = dict.fromkeys(of_steps(asset, plan.steps))
    for declare in _plan_dependencies:
        for dependency in declare(asset, plan):
            found.setdefault(dependency)
    return list(found)


def recorded(dependencies) -> str:
    """The ``depends`` field of a DerivedImage row: its kinds as ``|a|b|`` ("|" for none, so
    that an empty field marks a row stored before kinds were recorded)."""
    kinds = dict.fromkeys(d.kind for d in dependencies if d.kind)
    return "|" + "".join(f"{kind}|" for kind in kinds)


def token(kind: str) -> str:
    """What a `depends__contains` filter looks for."""
    return f"|{kind}|"
