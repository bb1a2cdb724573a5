"""The only module that touches pixels: load the original, run the plan, encode.

Load: from a local path when the storage has one, else streamed from the storage
through a libvips custom source; always ``access="sequential"`` (shrink-on-load comes
with resizing).  BMP, ICO and TGA originals are decoded by Pillow.  Steps today: apply
the EXIF orientation.  Encode: through transforms.encode.ENCODERS.
"""

from __future__ import annotations

import logging
import os
import threading
from collections import OrderedDict
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import pyvips
from django.core.files.storage import storages

from assets.api.errors import ApiError, BadRequest
from assets.imageinfo import PIL_FORMATS

from .encode import ENCODERS, ORIENTED_FORMATS, Encoder
from .plan import Plan

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


def render(asset, plan: Plan, out_path: str) -> Rendered:
    """Render `plan` for `asset` into the local file `out_path`."""
    encoder = ENCODERS[plan.format]
    with open_original(asset) as image:
        try:
            image = image.autorot()
            image = prepare(image, encoder)
            if encoder.max_side and max(image.width, image.height) > encoder.max_side:
                raise BadRequest(f"Image is too large for {plan.format}: at most {encoder.max_side} pixels a side")
            encoder.save(image, out_path)
        except (pyvips.Error, OSError, ValueError) as exc:
            log.error("rendering %s as %s failed: %s", asset, plan.format, exc)
            raise RenderError(f"Error in rendering {asset.public_id} as {plan.format}") from None
        return Rendered(image.width, image.height)
