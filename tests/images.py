"""How the tests compare images: one place for similarity, so every module measures the
same way (pixels and structure, never bytes).

- `mean_difference(a, b, block=1)`: mean absolute difference, 0..255, of the colour bands
  of two images of one size, optionally of `block` x `block` averages first (a lossy codec
  moves single pixels, not blocks).  Arrays or pyvips images.
- `similarity(a, b)`: 1 - mean_difference / 255 (1.0 = identical); `b` is resized to
  `a`'s size first when the two differ (an SDK test compares a delivery with its original).
- `ssim(a, b)`: scikit-image's mean structural similarity of the luminance, for effects
  that must keep (or must change) an image's structure rather than its exact pixels.
- `grey(a)`: luminance (Rec. 601) of an RGB(A) array.

And the small images several modules upload: `two_colours()` (left half RED, right half
BLUE), `jpeg_with_exif()` (that, as a JPEG with camera EXIF, GPS and an sRGB profile),
`png_with_alpha()` (green, left half transparent).
"""

from __future__ import annotations

import io

import numpy as np
import pyvips
from PIL import Image, ImageCms
from skimage.metrics import structural_similarity

LUMA = np.array([0.299, 0.587, 0.114])


def as_array(image) -> np.ndarray:
    """A pyvips image or array as a float (height, width, bands) array."""
    if isinstance(image, pyvips.Image):
        image = image.colourspace("srgb").numpy()
    array = np.asarray(image, dtype=np.float64)
    return array[:, :, None] if array.ndim == 2 else array


def colour(array: np.ndarray) -> np.ndarray:
    """The colour bands: RGB of RGB(A), the grey band of a one- or two-band image."""
    return array[..., :3] if array.shape[2] >= 3 else array[..., :1]


def blocks(array: np.ndarray, size: int) -> np.ndarray:
    """`size` x `size` block averages (a partial last row/column of blocks is dropped)."""
    if size == 1:
        return array
    h, w = (array.shape[0] // size) * size, (array.shape[1] // size) * size
    return array[:h, :w].reshape(h // size, size, w // size, size, array.shape[2]).mean(axis=(1, 3))


def mean_difference(a, b, block: int = 1) -> float:
    x, y = as_array(a), as_array(b)
    assert x.shape[:2] == y.shape[:2], f"different sizes: {x.shape[:2]} vs {y.shape[:2]}"
    return float(np.abs(blocks(colour(x), block) - blocks(colour(y), block)).mean())


def similarity(a: pyvips.Image, b: pyvips.Image) -> float:
    if (a.width, a.height) != (b.width, b.height):
        b = b.resize(a.width / b.width, vscale=a.height / b.height)
    return 1.0 - mean_difference(a.colourspace("srgb")[0:3], b.colourspace("srgb")[0:3]) / 255.0


def grey(array) -> np.ndarray:
    return as_array(array)[..., :3] @ LUMA


def ssim(a, b) -> float:
    return float(structural_similarity(grey(a), grey(b), data_range=255))


RED, BLUE = (220, 30, 30), (20, 60, 200)


def two_colours(width=200, height=100) -> Image.Image:
    image = Image.new("RGB", (width, height), RED)
    image.paste(BLUE, (width // 2, 0, width, height))
    return image


def jpeg_with_exif() -> bytes:
    exif = Image.Exif()
    exif[0x010F], exif[0x0110], exif[0x0112] = "Canon", "EOS 5D", 1
    sub = exif.get_ifd(0x8769)
    sub[0x9003], sub[0x829A], sub[0x829D], sub[0x8827], sub[0x920A], sub[0xA434] = (
        "2024:05:01 10:20:30", 0.004, 2.8, 200, 50.0, "EF 50mm f/1.8")
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2], gps[3], gps[4] = "N", (52.0, 30.0, 0.0), "W", (1.0, 15.0, 0.0)
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    out = io.BytesIO()
    two_colours().save(out, "JPEG", exif=exif.tobytes(), icc_profile=icc, quality=95)
    return out.getvalue()


def png_with_alpha() -> bytes:
    image = Image.new("RGBA", (60, 40), (0, 160, 0, 255))
    image.paste((0, 0, 0, 0), (0, 0, 30, 40))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()
