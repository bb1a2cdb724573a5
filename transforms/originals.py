"""Loading an asset's original as pyvips pixels.

From a local path when the storage has one, else streamed from the storage through a
libvips custom source (``access="sequential"``).  BMP, ICO and TGA originals are
decoded by Pillow.  `open_thumbnail` loads it at a given size, shrunk while decoding
where the format allows; `orientation` reads the EXIF orientation once per version;
`normalise` brings any image to what every step may assume.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from contextlib import contextmanager

import numpy as np
import pyvips
from django.core.files.storage import storages
from PIL import Image as PILImage

from assets.imageinfo import PIL_FORMATS
from assets.stream import local_path, vips_source
from core.errors import ApiError

from .encode import ORIENTED_FORMATS

log = logging.getLogger(__name__)

PILLOW_FORMATS = frozenset(PIL_FORMATS.values())


class RenderError(ApiError):
    """The stored original could not be decoded or the result not encoded."""

    status = 422


class MissingOriginal(ApiError):
    status = 404


@contextmanager
def open_original(asset, access: str = "sequential"):
    """Yield the asset's original as a pyvips image (first page)."""
    storage = storages["default"]
    try:
        if asset.format in PILLOW_FORMATS:
            with storage.open(asset.storage_name, "rb") as fh:
                yield _from_pillow(fh)
            return
        path = local_path(storage, asset.storage_name)
        if path is not None:
            yield pyvips.Image.new_from_file(path, access=access, fail_on="error")
            return
        with storage.open(asset.storage_name, "rb") as fh:
            source = vips_source(fh)  # referenced while the image is read: libvips calls back into it
            yield pyvips.Image.new_from_source(source, "", access=access, fail_on="error")
    except FileNotFoundError:
        log.error("original of %s is missing from storage: %s", asset, asset.storage_name)
        raise MissingOriginal(f"Resource not found - {asset.public_id}") from None
    except pyvips.Error as exc:
        log.error("cannot load the original of %s (%s): %s", asset, asset.storage_name, exc)
        raise RenderError(f"Error in loading {asset.public_id}: the stored file cannot be decoded") from None


def _from_pillow(fh) -> pyvips.Image:
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


def open_thumbnail(asset, width: int, height: int, no_rotate: bool = False) -> pyvips.Image:
    """The asset's original (first page) at exactly `width` x `height`, shrunk while
    decoding where the format allows it."""
    storage = storages["default"]
    try:
        if asset.format in PILLOW_FORMATS:
            with storage.open(asset.storage_name, "rb") as fh:
                return _from_pillow(fh).thumbnail_image(width, height=height, size="force").copy_memory()
        path = local_path(storage, asset.storage_name)
        if path is not None:
            return pyvips.Image.thumbnail(path, width, height=height, size="force", no_rotate=no_rotate,
                                          fail_on="error")
        with storage.open(asset.storage_name, "rb") as fh:
            source = vips_source(fh)
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

