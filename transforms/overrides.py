"""Per-asset overrides a higher layer contributes to renders, applied by the engine.

The engine does pixels; refiners (the layer above) hold data.  At `AppConfig.ready()`
refiners install one `Provider` here: `for_plan(asset, plan)` lists the overrides a
render of `plan` uses (asked once per render, before the pipeline runs, never for a
cached hit) and `dependency(asset, kind)` what of them enters the derived-cache key of
plans starting from a stored AI result of that kind (e.g. ``:mask:3``).  An
`Override` names the engine operation applying it (`OPERATIONS`, e.g.
transforms.ops.mask's ``alpha_mask``) and the stored AI result it changes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import pyvips

from .ops import mask


@dataclass(frozen=True)
class Override:
    source: str  # the producer kind (transforms.ai.producers) whose stored result it changes
    op: str  # a key of OPERATIONS
    data: Any  # what the operation reads (alpha_mask: an object with storage_name, width, height, strokes)


@dataclass(frozen=True)
class Provider:
    for_plan: Callable[[Any, Any], Iterable[Override]]
    dependency: Callable[[Any, str], str]


OPERATIONS: dict[str, Callable[[pyvips.Image, Any], pyvips.Image]] = {"alpha_mask": mask.apply}
_providers: list[Provider] = []


def install(provider: Provider) -> None:
    if provider not in _providers:
        _providers.append(provider)


def for_plan(asset, plan) -> tuple[Override, ...]:
    return tuple(o for p in _providers for o in p.for_plan(asset, plan))


def dependency(asset, kind: str) -> str:
    return "".join(p.dependency(asset, kind) for p in _providers)


def apply(image: pyvips.Image, overrides: Iterable[Override], kind: str) -> pyvips.Image:
    """`image` (a stored result of `kind`) with the overrides for that kind applied in order."""
    for override in overrides:
        if override.source == kind:
            image = OPERATIONS[override.op](image, override.data)
    return image
