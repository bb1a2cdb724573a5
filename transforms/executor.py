"""The only module that touches pixels: load the original, run the plan, encode.

Load: from a local path when the storage has one, else streamed from the storage
through a libvips custom source (``access="sequential"``).  BMP, ICO and TGA originals
are decoded by Pillow.  When the plan starts with a resize, its geometry is computed
from the header alone and the original is loaded already shrunk (libvips'
``thumbnail``: JPEG/WebP/HEIF decode at a fraction of their size), then cropped and
resized once.  Steps then run in order (transforms.run); the result is encoded through
transforms.encode.ENCODERS, with ``q_auto`` measured by transforms.quality.
"""

from __future__ import annotations

import logging
import os
import threading
from collections import OrderedDict
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass

import numpy as np
import pyvips
from django.core.files.storage import storages

from assets.api.errors import ApiError, BadRequest
from assets.imageinfo import PIL_FORMATS

from . import limits, memory, quality
from .encode import ENCODERS, ORIENTED_FORMATS, Encoder, Options
from .plan import Plan, ResolvedPlan

log = logging.getLogger(__name__)
PILLOW_FORMATS = frozenset(PIL_FORMATS.values())
_READ_BLOCK = 256 * 1024


class RenderError(ApiError):
    """The stored original could not be decoded or the result not encoded."""

    status = 422


class MissingOriginal(ApiError):
    status = 404


@dataclass(frozen=True)
class Rendered:
    width: int
    height: int
    format: str = ""
    data: bytes | None = None  # the encoded bytes, when they were written to memory


# Results up to this many pixels are encoded into memory (hashed, stored and served from
# the same bytes); larger ones go to the file `out_path` so memory stays bounded.
MEMORY_PIXELS = 16_000_000


# --- loading ------------------------------------------------------------------------


@contextmanager
def open_original(asset, access: str = "sequential"):
    """Yield the asset's original as a pyvips image (first page)."""
    storage = storages["default"]
    try:
        if asset.format in PILLOW_FORMATS:
            with storage.open(asset.storage_name, "rb") as fh:
                yield _from_pillow(fh)
            return
        try:
            path = storage.path(asset.storage_name)
        except NotImplementedError:
            path = None
        if path is not None and os.path.exists(path):
            yield pyvips.Image.new_from_file(path, access=access, fail_on="error")
            return
        with storage.open(asset.storage_name, "rb") as fh:
            source = pyvips.SourceCustom()
            source.on_read(lambda size: fh.read(min(size, _READ_BLOCK)))
            yield pyvips.Image.new_from_source(source, "", access=access, fail_on="error")
    except FileNotFoundError:
        log.error("original of %s is missing from storage: %s", asset, asset.storage_name)
        raise MissingOriginal(f"Resource not found - {asset.public_id}") from None
    except pyvips.Error as exc:
        log.error("cannot load the original of %s (%s): %s", asset, asset.storage_name, exc)
        raise RenderError(f"Error in loading {asset.public_id}: the stored file cannot be decoded") from None


def _from_pillow(fh) -> pyvips.Image:
    from PIL import Image as PILImage

    try:
        with PILImage.open(fh) as im:
            im.load()
            has_alpha = im.mode in ("RGBA", "LA", "PA") or "transparency" in im.info
            grey = im.mode in ("1", "L", "LA", "I", "I;16")
            mode = ("LA" if has_alpha else "L") if grey else ("RGBA" if has_alpha else "RGB")
            array = np.asarray(im.convert(mode))
    except (OSError, ValueError, SyntaxError) as exc:
        raise pyvips.Error(f"Pillow: {exc}") from None
    return pyvips.Image.new_from_array(array, interpretation="b-w" if grey else "srgb")


_orientations: OrderedDict[str, int] = OrderedDict()
_orientations_lock = threading.Lock()
_ORIENTATION_CACHE_SIZE = 4096


def orientation(asset) -> int:
    """The EXIF orientation of the current original (1 when none), read from its header once
    per version (a version's file never changes)."""
    if asset.format not in ORIENTED_FORMATS:
        return 1
    with _orientations_lock:
        if asset.version_id in _orientations:
            _orientations.move_to_end(asset.version_id)
            return _orientations[asset.version_id]
    with open_original(asset) as image:
        value = image.get("orientation") if image.get_typeof("orientation") else 1
    with _orientations_lock:
        _orientations[asset.version_id] = value
        while len(_orientations) > _ORIENTATION_CACHE_SIZE:
            _orientations.popitem(last=False)
    return value


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


def open_thumbnail(asset, width: int, height: int, no_rotate: bool = False) -> pyvips.Image:
    """The asset's original (first page) at exactly `width` x `height`, shrunk while
    decoding where the format allows it."""
    storage = storages["default"]
    try:
        if asset.format in PILLOW_FORMATS:
            with storage.open(asset.storage_name, "rb") as fh:
                return _from_pillow(fh).thumbnail_image(width, height=height, size="force").copy_memory()
        try:
            path = storage.path(asset.storage_name)
        except NotImplementedError:
            path = None
        if path is not None and os.path.exists(path):
            return pyvips.Image.thumbnail(path, width, height=height, size="force", no_rotate=no_rotate,
                                          fail_on="error")
        with storage.open(asset.storage_name, "rb") as fh:
            source = pyvips.SourceCustom()
            source.on_read(lambda size: fh.read(min(size, _READ_BLOCK)))
            return pyvips.Image.thumbnail_source(source, width, height=height, size="force",
                                                 no_rotate=no_rotate, fail_on="error").copy_memory()
    except FileNotFoundError:
        raise MissingOriginal(f"Resource not found - {asset.public_id}") from None
    except pyvips.Error as exc:
        log.error("cannot load the original of %s (%s): %s", asset, asset.storage_name, exc)
        raise RenderError(f"Error in loading {asset.public_id}: the stored file cannot be decoded") from None


def normalise(image: pyvips.Image) -> pyvips.Image:
    """8-bit sRGB, 3 bands or 4 with alpha: what every step may assume."""
    if image.interpretation not in ("srgb", "b-w") or image.format != "uchar":
        if image.interpretation in ("multiband", "matrix", "fourier", "histogram") or image.bands in (1, 2) \
                and image.interpretation not in ("b-w", "grey16"):
            image = image.copy(interpretation="b-w" if image.bands <= 2 else "srgb")
        image = image.colourspace("srgb")
    if image.interpretation == "b-w" or image.bands < 3:
        image = image.colourspace("srgb")
    if image.format != "uchar":
        image = image.cast("uchar")
    if image.bands > 4:
        image = image[0:4]
    return image.copy(interpretation="srgb")


# --- encoding -----------------------------------------------------------------------


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


def render(asset, plan: Plan, out_path: str, *, signed: bool = False, to_memory: bool = False,
           overrides=None) -> Rendered:
    """Render `plan` for `asset` into the local file `out_path`; with `to_memory`, a result
    of at most MEMORY_PIXELS is returned as `Rendered.data` instead (nothing written).
    `overrides` (transforms.overrides) are the refiners' contributions to this render,
    asked for once by the caller; None: asked here."""
    from . import overrides as overrides_hook, pipeline

    from .ai import lifecycle

    budget = limits.Budget()
    ledger = memory.Ledger()  # DAM_RENDER_MEMORY_BUDGET, checked before each image is computed
    if overrides is None:
        overrides = overrides_hook.for_plan(asset, plan)
    cutout = lifecycle.open_result(asset, plan, overrides)  # plans starting with an AI effect (423 until stored)
    if cutout is not None:
        plan = lifecycle.pixel_plan(plan)
    with ExitStack() as stack:
        if cutout is not None:
            image = stack.enter_context(cutout)
        else:  # a first step planned from the asset row loads the original shrunk: no header read
            image = pipeline.known_original(asset, plan, lambda: stack.enter_context(open_original(asset))) \
                or stack.enter_context(open_original(asset))
        try:
            if plan.steps:
                image = pipeline.run_plan(asset, image, plan, budget=budget, signed=signed, ledger=ledger)
            else:
                image = image.autorot()
            if isinstance(plan, ResolvedPlan) and plan.alpha_format and image.hasalpha():
                ledger.settle(image)
                with budget.limit(image):  # looked at, then written: compute the pixels once
                    image = image.copy_memory()
            fmt = _output_format(plan, image) if isinstance(plan, ResolvedPlan) else plan.format
            encoder = ENCODERS[fmt]
            image = prepare(image, encoder)
            if encoder.max_side and max(image.width, image.height) > encoder.max_side:
                raise BadRequest(f"Image is too large for {fmt}: at most {encoder.max_side} pixels a side")
            limits.check_output(image.width, image.height)
            if isinstance(plan.quality, str):  # measured on the pixels, then written: compute them once
                ledger.settle(image)
                with budget.limit(image):
                    image = image.copy_memory()
            options = encode_options(plan, image, fmt) if isinstance(plan, ResolvedPlan) else Options()
            if options.strip and image.get_typeof("icc-profile-data") and image.interpretation == "srgb":
                image = _to_srgb(image)  # without its profile the colours must already be sRGB
            in_memory = to_memory and image.width * image.height <= MEMORY_PIXELS
            with budget.limit(image):
                data = encoder.save(image, None if in_memory else out_path, options)
        except (pyvips.Error, OSError, ValueError) as exc:
            if budget.expired:
                raise budget.error() from None
            log.error("rendering %s as %s failed: %s", asset, plan.format, exc)
            raise RenderError(f"Error in rendering {asset.public_id} as {plan.format}") from None
        return Rendered(image.width, image.height, fmt, data if in_memory else None)
