"""The generation back-end interface: generative fill (outpainting) and inpainting for the AI producers.

Contract: ``fill(FillJob, deadline=)`` returns an sRGB uchar 3-band image of the job's size whose pixels
where ``mask == 0`` are exactly the job's (composited at the end whatever the back-end returned) and whose
pixels under the mask come from the configured back-end.  ``check_prompt`` refuses (400) a prompt that no
configured back-end understands, so a prompt is never ignored silently; ``prompt_backend`` names the
back-end that would honour one (for the Studio); ``backend_name`` says which back-end ``fill`` uses.

Back-ends (settings read at call time, README's configuration table):

- ``local`` (the default, no set-up): PatchMatch from the band of the original next to each new border,
  the subject kept out of the sources (transforms.ai.outpaint).  It understands no prompt.
- ``iopaint``: an IOPaint-compatible server at ``DAM_INPAINT_URL``; it understands prompts only when the
  operator says so with ``DAM_INPAINT_PROMPTS`` (IOPaint's default model, LaMa, ignores them).
- ``openai``: an OpenAI-compatible images edits endpoint at ``DAM_IMAGE_EDIT_URL`` (key
  ``DAM_IMAGE_EDIT_KEY``, model ``DAM_IMAGE_EDIT_MODEL``); it understands prompts and needs one, so a job
  without a prompt sends ``DEFAULT_EDIT_PROMPT``.

The choice: with a prompt, the edit endpoint if configured, else IOPaint if it understands prompts, else a
400; without a prompt, IOPaint if configured, else the edit endpoint if configured, else local.
The HTTP back-ends ignore ``keep_out`` (a neural model does not copy the subject the way PatchMatch does)
and ``task`` (they inpaint whatever the mask says).  ``deadline`` is a ``time.monotonic()`` value; the
local back-end checks it between its steps, the HTTP ones never wait past it (504).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import pyvips
from django.conf import settings

from core.errors import BadRequest

from . import backends, outpaint
from .backends import GenerationTimeout

TASKS = ("outpaint", "inpaint")
DEFAULT_EDIT_PROMPT = "Extend the scene naturally, matching the style, lighting and perspective of the photo"
PROMPT_SETTINGS = "set DAM_IMAGE_EDIT_URL (OpenAI-compatible) or DAM_INPAINT_URL with DAM_INPAINT_PROMPTS=1"


@dataclass(frozen=True)
class FillJob:
    image: pyvips.Image  # sRGB uchar, 3 bands: the canvas; pixels under `mask` are to be made (content undefined)
    mask: pyvips.Image  # uchar, 1 band, same size: 255 = generate, 0 = keep exactly
    seed: int  # any int (Cloudinary seeds are integers, maybe negative or huge: reduced by each back-end)
    prompt: str = ""  # "" = no prompt
    keep_out: pyvips.Image | None = None  # uchar 1 band, 255 = the subject: never copy pixels from there
    task: str = "outpaint"  # "outpaint": new borders around the original; "inpaint": holes inside (object removal)


def prompt_backend() -> str | None:
    """The configured back-end that understands prompts ("openai" or "iopaint"), or None."""
    if settings.DAM_IMAGE_EDIT_URL:
        return "openai"
    if settings.DAM_INPAINT_URL and settings.DAM_INPAINT_PROMPTS:
        return "iopaint"
    return None


def check_prompt(prompt: str) -> None:
    """BadRequest naming the settings when ``prompt`` is non-empty and no configured back-end understands it."""
    if prompt and prompt_backend() is None:
        raise BadRequest(f"A prompt needs a back-end that understands prompts: {PROMPT_SETTINGS}")


def backend_name(prompt: str = "") -> str:
    """What `fill` uses for a job with ``prompt``: "local", "iopaint" or "openai"."""
    if prompt:
        check_prompt(prompt)
        return prompt_backend()
    if settings.DAM_INPAINT_URL:
        return "iopaint"
    if settings.DAM_IMAGE_EDIT_URL:
        return "openai"
    return "local"


def _checked(job: FillJob) -> None:
    image, mask = job.image, job.mask
    if job.task not in TASKS:
        raise ValueError(f"FillJob.task must be one of {TASKS}, not {job.task!r}")
    if image.bands != 3 or image.format != "uchar":
        raise ValueError("FillJob.image must be sRGB uchar with 3 bands")
    for name, other in (("mask", mask), ("keep_out", job.keep_out)):
        if other is None:
            continue
        if other.bands != 1 or other.format != "uchar" or (other.width, other.height) != (image.width, image.height):
            raise ValueError(f"FillJob.{name} must be uchar, 1 band, {image.width}x{image.height}")


def _array(image: pyvips.Image) -> np.ndarray:
    array = image.numpy()
    return array if array.ndim == 3 else array[:, :, np.newaxis]


def _local(job: FillJob, deadline: float | None) -> pyvips.Image:
    image = np.ascontiguousarray(_array(job.image))
    mask = _array(job.mask)[:, :, 0]
    keep_out = None if job.keep_out is None else _array(job.keep_out)[:, :, 0]
    try:
        if deadline is not None and time.monotonic() > deadline:
            raise TimeoutError
        if job.task == "outpaint":
            result = outpaint.outpaint(image, mask, job.seed, keep_out, deadline)
        else:
            result = outpaint.inpaint(image, mask, job.seed, keep_out)
        if deadline is not None and time.monotonic() > deadline:
            raise TimeoutError
    except TimeoutError:
        raise GenerationTimeout("the local generation back-end ran out of time") from None
    return pyvips.Image.new_from_array(result, interpretation="srgb")


def fill(job: FillJob, *, deadline: float | None = None) -> pyvips.Image:
    """The configured back-end's result: sRGB uchar 3 bands, same size as job.image, pixels where mask == 0
    equal to job.image's (composited at the end whatever the back-end returned)."""
    _checked(job)
    name = backend_name(job.prompt)
    if job.mask.max() == 0:  # nothing to make: no back-end is asked
        return job.image.copy(interpretation="srgb").copy_memory()
    if name == "iopaint":
        made = backends.iopaint(job.image, job.mask, job.prompt, job.seed, deadline)
    elif name == "openai":
        made = backends.image_edit(job.image, job.mask, job.prompt or DEFAULT_EDIT_PROMPT, deadline)
    else:
        made = _local(job, deadline)
    return (job.mask > 0).ifthenelse(made, job.image).copy(interpretation="srgb").copy_memory()
