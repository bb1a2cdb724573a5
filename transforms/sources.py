"""Where a render's pixels start: one source, chosen before any step runs.

The executor (transforms.executor.render) asks `choose` once per render, with the
refiners' overrides for it (transforms.overrides, asked once before the pipeline).
Each source kind is a registered `Source` whose ``open(asset, plan, stack,
overrides)`` either declines (None) or returns a `Start`: the image to start from (a pyvips image, or a
transforms.pipeline.Original that opens the original only if a step needs its full
size) and the plan left to run on it (a source that already did a step's work takes it
out); only a start marked ``original`` lets the pipeline reload the original shrunk for
a first resize.  Kinds are asked in ``priority`` order, lowest first; today:

- ``ai_result`` (10): the stored result of the AI producer whose effect the plan starts
  with (background removal's cut-out; registered once by transforms.ai.lifecycle for
  every producer), with the overrides for it applied; 423 while it is being computed;
- ``shrunk_original`` (80): the first step planned from the asset row alone, so the
  original is decoded already shrunk (registered by the executor);
- ``original`` (90): the original itself (registered by the executor; never declines).

A generated image is one more `register` call from the module that produces it,
placed by its priority; a refined override is applied by the source whose pixels it
changes.  The executor does not change.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any

from .ops import registry


@dataclass(frozen=True)
class Start:
    kind: str
    image: Any  # pyvips.Image, or transforms.pipeline.Original (opened on demand)
    plan: Any  # the plan to run on `image`
    original: bool = False  # `image` is the asset's original: a first resize may reload it shrunk


@dataclass(frozen=True)
class Source:
    kind: str
    open: Callable[[Any, Any, ExitStack, Any], Start | None]
    priority: int


SOURCES: list[Source] = []


def register(kind: str, open_: Callable[[Any, Any, ExitStack, Any], Start | None], *, priority: int) -> Source:
    if any(s.kind == kind for s in SOURCES):
        raise RuntimeError(f"source {kind!r} registered twice")
    source = Source(kind, open_, priority)
    SOURCES.append(source)
    SOURCES.sort(key=lambda s: s.priority)
    return source


def choose(asset, plan, stack: ExitStack, overrides=()) -> Start:
    """The first source that takes `plan` for `asset`; what it opens is closed with `stack`.
    `overrides`: transforms.overrides.Override values for this render."""
    registry.load()  # effect families register their sources on import (an AI result's, for one)
    for source in SOURCES:
        start = source.open(asset, plan, stack, overrides)
        if start is not None:
            return start
    raise RuntimeError("no source registered for the original")  # the executor registers one that never declines
