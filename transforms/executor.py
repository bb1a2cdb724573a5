"""Render a plan: choose its source, run its steps, encode.

Originals are loaded by transforms.originals.  When the plan starts with a resize, its
geometry is computed from the header alone and the original is loaded already shrunk
(libvips' ``thumbnail``: JPEG/WebP/HEIF decode at a fraction of their size), then
cropped and resized once.  Which of these (or a stored AI result, transforms.ai) a render starts
from is chosen once, up front (transforms.sources); then the render runs `STAGES`, a
literal list (the steps, transforms.pipeline; what alpha and q_auto need computed; the
format; the encoding through transforms.encode.ENCODERS, with ``q_auto`` measured by
transforms.quality), checking the time budget between them.
"""

from __future__ import annotations

import logging
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any

import pyvips

from core.errors import BadRequest

from . import limits, memory, pipeline, quality, sources
from . import overrides as overrides_hook
from .encode import ENCODERS, Encoder, Options
from .originals import RenderError, open_original
from .plan import Plan, ResolvedPlan

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Rendered:
    width: int
    height: int
    format: str = ""
    data: bytes | None = None  # the encoded bytes, when they were written to memory


# Results up to this many pixels are encoded into memory (hashed, stored and served from
# the same bytes); larger ones go to the file `out_path` so memory stays bounded.
MEMORY_PIXELS = 16_000_000


# --- encoding -----------------------------------------------------------------------


def prepare(image: pyvips.Image, encoder: Encoder) -> pyvips.Image:
    """Bring `image` to what `encoder` can write: sRGB or grey, alpha flattened onto
    white for formats without alpha, 8 bits where the format needs them."""
    if image.interpretation not in ("srgb", "b-w", "rgb16", "grey16"):
        image = image.colourspace("srgb")
    if not encoder.alpha and image.hasalpha():
        white = 65535 if image.interpretation in ("rgb16", "grey16") else 255
        image = image.flatten(background=[white] * (image.bands - 1))
    if encoder.eight_bit and image.format != "uchar":
        if image.interpretation == "rgb16":
            image = image.colourspace("srgb")
        elif image.interpretation == "grey16":
            image = image.colourspace("b-w")
        image = image.cast("uchar")
    return image


# --- output -------------------------------------------------------------------------


def encode_options(plan: ResolvedPlan, image: pyvips.Image, fmt: str) -> Options:
    q = plan.quality
    if isinstance(q, str) and ENCODERS[fmt].lossy:  # `image` is in memory (see render)
        q = quality.choose(image, fmt, q.partition(":")[2])
    progressive = plan.flag("progressive")
    return Options(
        quality=q if isinstance(q, int) and ENCODERS[fmt].lossy else None,
        progressive=bool(progressive) and progressive.arg != "none",
        strip=bool(plan.flag("strip_profile")),
        keep_iptc=bool(plan.flag("keep_iptc")),
        palette=bool(plan.flag("png8")) or (bool(plan.flag("lossy")) and fmt in ("png", "gif")),
    )


def _to_srgb(image: pyvips.Image) -> pyvips.Image:
    try:
        converted = image.icc_transform("srgb", embedded=True)
    except pyvips.Error:  # a broken profile: keep the values as they are
        return image
    return converted.cast("uchar") if converted.format != "uchar" else converted


def _output_format(plan: ResolvedPlan, image: pyvips.Image) -> str:
    """The plan's format, or its alpha format when the result has transparency (any alpha
    band at all with fl_preserve_transparency; otherwise some pixel not fully opaque)."""
    if plan.alpha_format and image.hasalpha():
        if plan.flag("preserve_transparency") or image[image.bands - 1].min() < 255:
            return plan.alpha_format
    return plan.format


# --- rendering: one source, then a declared list of stages -----------------------------


@dataclass
class Job:
    """One render as its stages see it."""

    asset: Any
    plan: Plan
    budget: limits.Budget
    ledger: memory.Ledger
    image: Any = None  # the source's image, then each stage's result
    original: bool = False  # the source is the asset's original (sources.Start.original)
    signed: bool = False
    fmt: str = ""
    encoder: Encoder | None = None
    out_path: str = ""
    to_memory: bool = False
    data: bytes | None = None  # the encoded bytes, when written to memory


def run_steps(job: Job) -> None:
    """The plan's steps (transforms.pipeline: the time budget is checked after each)."""
    if job.plan.steps:
        job.image = pipeline.run_plan(job.asset, job.image, job.plan, budget=job.budget, signed=job.signed,
                                      ledger=job.ledger, shrink_on_load=job.original)
    else:
        job.image = job.image.autorot()


def settle_for_alpha(job: Job) -> None:
    """A plan with an alpha format looks at the pixels to choose it: compute them once."""
    if isinstance(job.plan, ResolvedPlan) and job.plan.alpha_format and job.image.hasalpha():
        _compute(job)


def choose_format(job: Job) -> None:
    job.fmt = _output_format(job.plan, job.image) if isinstance(job.plan, ResolvedPlan) else job.plan.format
    job.encoder = ENCODERS[job.fmt]
    job.image = prepare(job.image, job.encoder)
    if job.encoder.max_side and max(job.image.width, job.image.height) > job.encoder.max_side:
        raise BadRequest(f"Image is too large for {job.fmt}: at most {job.encoder.max_side} pixels a side")
    limits.check_output(job.image.width, job.image.height)


def settle_for_quality(job: Job) -> None:
    """``q_auto`` is measured on the pixels, then they are written: compute them once."""
    if isinstance(job.plan.quality, str):
        _compute(job)


def encode(job: Job) -> None:
    image, plan = job.image, job.plan
    options = encode_options(plan, image, job.fmt) if isinstance(plan, ResolvedPlan) else Options()
    if options.strip and image.get_typeof("icc-profile-data") and image.interpretation == "srgb":
        image = _to_srgb(image)  # without its profile the colours must already be sRGB
    in_memory = job.to_memory and image.width * image.height <= MEMORY_PIXELS
    with job.budget.limit(image):
        data = job.encoder.save(image, None if in_memory else job.out_path, options)
    job.image, job.data = image, data if in_memory else None


def _compute(job: Job) -> None:
    job.ledger.settle(job.image)
    with job.budget.limit(job.image):
        job.image = job.image.copy_memory()


# What a render does after its source is chosen, in order; the time budget is checked
# between stages (and inside run_steps between steps).
STAGES = (run_steps, settle_for_alpha, choose_format, settle_for_quality, encode)


def render(asset, plan: Plan, out_path: str, *, signed: bool = False, to_memory: bool = False,
           overrides=None) -> Rendered:
    """Render `plan` for `asset` into the local file `out_path`; with `to_memory`, a result
    of at most MEMORY_PIXELS is returned as `Rendered.data` instead (nothing written).
    `overrides` (transforms.overrides) are the refiners' contributions to this render,
    asked for once by the caller; None: asked here."""
    budget = limits.Budget()
    ledger = memory.Ledger()  # DAM_RENDER_MEMORY_BUDGET, checked before each image is computed
    if overrides is None:
        overrides = overrides_hook.for_plan(asset, plan)
    with ExitStack() as stack:
        start = sources.choose(asset, plan, stack, overrides)
        job = Job(asset, start.plan, budget, ledger, start.image, start.original, signed, out_path=out_path,
                  to_memory=to_memory)
        try:
            for stage in STAGES:
                budget.check()
                stage(job)
        except (pyvips.Error, OSError, ValueError) as exc:
            if budget.expired:
                raise budget.error() from None
            log.error("rendering %s as %s failed: %s", asset, plan.format, exc)
            raise RenderError(f"Error in rendering {asset.public_id} as {plan.format}") from None
        return Rendered(job.image.width, job.image.height, job.fmt, job.data)


def _shrunk_original(asset, plan, stack: ExitStack, overrides) -> sources.Start | None:
    """A first step planned from the asset row: no header read, the original loaded shrunk."""
    found = pipeline.known_original(asset, plan, lambda: stack.enter_context(open_original(asset)))
    return sources.Start("shrunk_original", found, plan, original=True) if found is not None else None


def _original(asset, plan, stack: ExitStack, overrides) -> sources.Start:
    return sources.Start("original", stack.enter_context(open_original(asset)), plan, original=True)


sources.register("shrunk_original", _shrunk_original, priority=80)
sources.register("original", _original, priority=90)
