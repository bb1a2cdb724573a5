"""The producer protocol: what an AI feature supplies to the one result lifecycle.

A producer is a small class (one instance registered with `register`): its `kind`
(the URL effect ``e_<kind>`` and `AIResult.kind`), how it reads and canonicalises the
options of that effect (`parse`; the canonical text keys the stored result), which
model files it needs (`models_needed`: a clear 503 naming ``manage.py fetch_models``
before anything is queued), and `compute` (the normalised original -> the result image
and its metadata).  Everything else -- the row, the 423 and Retry-After, the Celery job,
its heartbeat and retries, eager compute-now, the AI bounds, the derived-cache entry,
starting a render from the stored result -- is transforms.ai.lifecycle's and
transforms.ai.jobs', the same for every producer.

Registering a producer also registers its effect (transforms.ops.registry): the
effect itself does nothing to pixels, because a plan starting with it starts from the
stored result instead of the original (`lifecycle.open_result`, the ``ai_result``
source of transforms.sources).  The effect declares what those pixels depend on
(the registry's ``depends_on`` hook, transforms.dependencies): `dependency`, the
stored result's id and etag once done (``<tag>:pending`` before) plus the overrides'
revisions, so the derived-cache key of every producer is built the same way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pyvips

from transforms import overrides as overrides_hook
from transforms.models import AIResult
from transforms.originals import normalise, open_original
from transforms.ops.registry import register as register_effect

PRODUCERS: dict[str, Producer] = {}


@dataclass
class Produced:
    """What `Producer.compute` returns: the image to store, and what to record of it."""

    image: pyvips.Image
    metadata: dict[str, Any] = field(default_factory=dict)


class Producer:
    kind = ""  # e_<kind> in URLs, AIResult.kind in the database
    label = ""  # how messages name it ("Background removal")
    dependency_tag = ""  # what the derived-cache key calls its stored result (default: the kind)
    changes_alpha = False  # whether its result may be transparent (picks the alpha format)

    def parse(self, args: tuple[str, ...], qualifiers) -> Any:
        """The effect's tokens -> a hashable options value with a `canonical` text; BadRequest otherwise."""
        raise NotImplementedError

    def from_canonical(self, text: str) -> Any:
        """The options stored on a row back as a value (the canonical text parses as itself)."""
        return self.parse((text,) if text else (), {})

    def models_needed(self, options) -> tuple:
        """The transforms.ai.weights.ModelSpec files `compute` needs for `options`."""
        return ()

    def compute(self, image: pyvips.Image, options) -> Produced:
        """`image` is the asset's original, auto-rotated and normalised (sRGB, uchar, 3 or 4
        bands, in memory).  Runs in a worker (or in the request for eager renders)."""
        raise NotImplementedError

    def options_of(self, row) -> Any:
        """The options a stored row was requested with."""
        return self.from_canonical(row.options)

    def compute_from(self, asset, options, budget) -> Produced:
        """The result for `asset` (transforms.ai.jobs runs this): by default `compute` on its
        normalised original; a staged producer renders its own input (transforms.ai.stages)."""
        with open_original(asset) as image:
            image = normalise(image.autorot()).copy_memory()
        return self.compute(image, options)

    @property
    def tag(self) -> str:
        return self.dependency_tag or self.kind


def register(producer: Producer, *, effect: bool = True) -> Producer:
    """Make `producer` known to the lifecycle and (`effect`) its ``e_<kind>`` to the URL
    grammar.  A staged producer (transforms.ai.stages) declares its stored result for the
    whole plan (its effect declares nothing of its own)."""
    if producer.kind in PRODUCERS:
        raise RuntimeError(f"AI producer {producer.kind!r} registered twice")
    PRODUCERS[producer.kind] = producer
    if effect:
        staged = getattr(producer, "staged", False)
        register_effect(producer.kind, producer.parse, _keep, changes_alpha=producer.changes_alpha,
                        depends_on=None if staged else (lambda asset, options: dependency(asset, producer, options)))
    return producer


def _keep(image, value, ctx):
    """Nothing left to do on pixels: the render started from the stored result."""
    return image


def get(kind: str) -> Producer | None:
    return PRODUCERS.get(kind)


def of_step(step) -> Producer | None:
    """The producer whose effect `step` (a plan Action) applies, or None."""
    effect = getattr(step, "effect", None)
    return PRODUCERS.get(effect.name) if effect is not None else None


# --- the stored result as the derived cache sees it ----------------------------------------


def row_for(asset, producer: Producer, options) -> AIResult | None:
    return AIResult.objects.filter(kind=producer.kind, version_id=asset.version_id,
                                   options=options.canonical).first()


def dependency(asset, producer: Producer, options) -> str:
    """What the derived-cache key records of the stored result (its id and etag once
    stored) and of the overrides applied to it (e.g. ``cutout:12:<etag>:mask:3``)."""
    row = row_for(asset, producer, options)
    if row is None or row.status != AIResult.DONE:
        return f"{producer.tag}:pending"
    return f"{producer.tag}:{row.pk}:{row.etag}" + overrides_hook.dependency(asset, producer.kind)
