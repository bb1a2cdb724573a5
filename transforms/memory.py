"""The memory budget of one render: ``DAM_RENDER_MEMORY_BUDGET`` megabytes (400 beyond).

libvips computes lazily: an image's size, band count and sample format are known before
any of its pixels are, so what a computation will allocate is known before it runs.
Peak memory per process is then bounded by render slots x budget.  Two checks:

- `check_plan(asset, plan)`, before a render is admitted or any file is opened, from
  the rows alone: each image layer's stored size against ``DAM_MAX_SOURCE_PIXELS``
  (a layer used to be decoded whole before anything looked at its size) and what it
  takes decoded, and the same for an original that Pillow decodes whole (BMP, ICO, TGA).
- a `Ledger` per render, consulted before each computation into memory (the pipeline's
  `_settle` after every step, a layer's decode, the executor's last copies): the new
  image's bytes, plus those of the images it is computed from, plus those held
  meanwhile (the base image while a layer is prepared) must fit.  So an upscale, a
  canvas or a layer too large is refused before it is computed, not after.

Tiles libvips keeps while it streams (a blur's window, a resize's lines) are small next
to whole images and are not counted; neither is the encoded output.
"""

from __future__ import annotations

from contextlib import contextmanager

from django.conf import settings

from core.errors import BadRequest

from . import limits
from .ops import layers
from .ops.layers import ImageSource
from .originals import PILLOW_FORMATS
from .plan import Block, LayerStep

MB = 1024 * 1024
RGBA = 4  # bytes per pixel of the 8-bit sRGB + alpha form layers are decoded into
_SAMPLE_BYTES = {"uchar": 1, "char": 1, "ushort": 2, "short": 2, "uint": 4, "int": 4, "float": 4,
                 "complex": 8, "double": 8, "dpcomplex": 16}


def budget() -> int:
    """Bytes one render may hold in decoded images."""
    return max(1, int(settings.DAM_RENDER_MEMORY_BUDGET)) * MB


def image_bytes(image) -> int:
    """What computing `image` into memory allocates (its pixels are not computed here)."""
    return image.width * image.height * image.bands * _SAMPLE_BYTES.get(image.format, 8)


def over_budget(what: str, needed: int) -> BadRequest:
    limit = budget() // MB
    return BadRequest(f"{what} needs about {-(-needed // MB)} MB of memory, more than the render memory budget "
                      f"of {limit} MB (DAM_RENDER_MEMORY_BUDGET)")


class Ledger:
    """The decoded images one render holds.  `current`: bytes of the images the next
    computation reads (they stay alive while it runs); `held`: bytes kept aside
    meanwhile (the base while a layer is prepared)."""

    def __init__(self):
        self.limit = budget()
        self.current = 0
        self.held = 0

    def need(self, nbytes: int, what: str = "This transformation") -> None:
        total = nbytes + self.current + self.held
        if total > self.limit:
            raise over_budget(what, total)

    def settle(self, image, what: str = "This transformation") -> None:
        """`image` is about to be computed into memory from what is current: refuse it if
        that does not fit, else it becomes the current image."""
        nbytes = image_bytes(image)
        self.need(nbytes, what)
        self.current = nbytes

    @contextmanager
    def holding(self):
        """The block prepares a layer while the current image (the base) stays in memory;
        afterwards the placement reads both."""
        base = self.current
        self.held += base
        self.current = 0
        try:
            yield
        finally:
            self.held -= base
            self.current += base


def image_layers(steps):
    """Every image layer source in `steps`, inside conditions and layers too."""
    for step in steps:
        if isinstance(step, Block):
            yield from image_layers(step.then)
            yield from image_layers(step.otherwise)
        elif isinstance(step, LayerStep):
            if isinstance(step.source, ImageSource):
                yield step.source
            yield from image_layers(step.steps)


def check_plan(asset, plan, *, from_original: bool = True) -> None:
    """400 before anything is opened when the plan names an image layer larger than the
    source limit, or an image that decodes whole (a layer; an original Pillow reads) into
    more than the budget.  Decoded whole and then normalised, such an image is held twice.
    Conservative: a layer in a condition's branch counts even if the branch is not taken.
    `from_original`: the render starts from the original (not from a stored AI result)."""
    limit = budget()
    if from_original and asset.format in PILLOW_FORMATS:
        needed = 2 * RGBA * (asset.width or 0) * (asset.height or 0)
        if needed > limit:
            raise over_budget(f"Decoding {asset.public_id} ({asset.width}x{asset.height})", needed)
    for source in dict.fromkeys(image_layers(plan.steps)):
        layer = layers.find_asset(source)
        width, height = layer.width or 0, layer.height or 0
        limits.check_source(width, height, "Layer")
        needed = 2 * RGBA * width * height
        if needed > limit:
            raise over_budget(f"Layer {source.public_id} ({width}x{height})", needed)
