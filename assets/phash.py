"""Perceptual hash of an image version: Cloudinary's ``phash`` (upload, explicit and the
resource details with ``phash=true``), 16 hex digits.

The classic DCT pHash: the image shrunk to 32x32 grey (libvips, shrink-on-load), its 2-D
DCT-II (numpy, an orthonormal basis matrix), the 8x8 lowest frequencies compared with
their median (the DC term left out of the median) -> 64 bits, most significant first.
Similar pictures (rescaled, recompressed) differ in few bits. Computed once per version
and stored on it (AssetVersion.phash).
"""

from __future__ import annotations

import numpy as np
import pyvips
from django.core.files.storage import storages

from .models import AssetVersion
from .stream import local_path

SIZE = 32
LOW = 8


def _dct_matrix(n: int) -> np.ndarray:
    k = np.arange(n)[:, None]
    i = np.arange(n)[None, :]
    m = np.cos(np.pi * (2 * i + 1) * k / (2 * n)) * np.sqrt(2 / n)
    m[0, :] = np.sqrt(1 / n)
    return m


_DCT = _dct_matrix(SIZE)


def of_image(image: pyvips.Image) -> str:
    """The hash of a decoded image (any size, bands or format)."""
    image = image.autorot() if image.get_typeof("orientation") else image
    if image.hasalpha():
        image = image.flatten(background=[255] * (image.bands - 1))
    grey = image.colourspace("b-w") if image.bands >= 3 else image
    grey = grey.extract_band(0).resize(SIZE / grey.width, vscale=SIZE / grey.height, kernel="linear")
    pixels = np.ndarray(buffer=grey.cast("float").write_to_memory(), dtype=np.float32,
                        shape=(grey.height, grey.width))[:SIZE, :SIZE].astype(np.float64)
    if pixels.shape != (SIZE, SIZE):  # a rounding short of 32: pad by repeating the edge
        pixels = np.pad(pixels, ((0, SIZE - pixels.shape[0]), (0, SIZE - pixels.shape[1])), mode="edge")
    low = (_DCT @ pixels @ _DCT.T)[:LOW, :LOW].flatten()
    median = np.median(low[1:])
    bits = low > median
    value = 0
    for bit in bits:
        value = (value << 1) | int(bit)
    return f"{value:016x}"


def of_file(path: str) -> str:
    # shrink-on-load to a small thumbnail first: a big original is never decoded whole
    return of_image(pyvips.Image.thumbnail(path, 256, height=256, size="force"))


def of_buffer(data: bytes) -> str:
    return of_image(pyvips.Image.thumbnail_buffer(data, 256, height=256, size="force"))


def for_asset(asset) -> str | None:
    """The current version's hash, computed now (and stored) unless known; None for a file
    that is not an image or an original that cannot be read."""
    if asset.resource_type != "image" or not asset.storage_name:
        return None
    version = AssetVersion.objects.filter(asset=asset, version_id=asset.version_id).first()
    if version is not None and version.phash:
        return version.phash
    storage = storages["default"]
    try:
        path = local_path(storage, asset.storage_name)
        if path is not None:
            value = of_file(path)
        else:
            with storage.open(asset.storage_name, "rb") as fh:
                value = of_buffer(fh.read())
    except (pyvips.Error, OSError):
        return None
    if version is not None:
        AssetVersion.objects.filter(pk=version.pk).update(phash=value)
    return value
