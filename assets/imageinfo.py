"""What an image file is, read from its header, and whether its pixels decode.

``probe`` reads only the header (libvips opens lazily; no pixel is decoded), so it
costs the same for a 1 MP and a 100 MP file.  ``verify`` then decodes the file at
a reduced size (JPEG, WebP and HEIF shrink on load) with ``fail_on=truncated`` to
reject truncated or corrupt data before anything is stored.  Formats libvips does
not read (BMP, ICO, TGA) go through Pillow.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyvips
from django.conf import settings
from PIL import Image as PILImage

from core.errors import BadRequest

VIPS_LOADERS = {
    "jpegload": "jpg",
    "pngload": "png",
    "webpload": "webp",
    "gifload": "gif",
    "tiffload": "tiff",
    "heifload": "heic",
    "jp2kload": "jp2",
    "jxlload": "jxl",
    "svgload": "svg",
}
PIL_FORMATS = {"BMP": "bmp", "ICO": "ico", "TGA": "tga"}
ROTATED_ORIENTATIONS = {5, 6, 7, 8}


@dataclass(frozen=True)
class ImageInfo:
    format: str
    width: int  # as displayed, after the EXIF orientation
    height: int
    orientation: int = 1
    pages: int = 1
    via_pillow: bool = False

    @property
    def pixels(self) -> int:
        return self.width * self.height


def _vips_format(image: pyvips.Image) -> str:
    loader = image.get("vips-loader").removesuffix("_buffer").removesuffix("_source").removesuffix("_file")
    fmt = VIPS_LOADERS.get(loader)
    if fmt is None:
        raise BadRequest("Invalid image file: unsupported image format")
    if fmt == "heic" and image.get_typeof("heif-compression") and image.get("heif-compression") == "av1":
        fmt = "avif"
    return fmt


def probe(path: str) -> ImageInfo:
    """Header-only read. Raises BadRequest for anything that is not a supported image."""
    try:
        image = pyvips.Image.new_from_file(path, access="sequential")
        fmt = _vips_format(image)
        width, height = image.width, image.height
        orientation = image.get("orientation") if image.get_typeof("orientation") else 1
        pages = image.get("n-pages") if image.get_typeof("n-pages") else 1
        if pages > 1 and image.get_typeof("page-height"):
            height = image.get("page-height")
        if orientation in ROTATED_ORIENTATIONS:
            width, height = height, width
        info = ImageInfo(fmt, width, height, orientation, pages)
    except pyvips.Error:
        info = _probe_pillow(path)
    check_pixels(info)
    return info


def _probe_pillow(path: str) -> ImageInfo:
    try:
        with PILImage.open(path) as im:
            fmt = PIL_FORMATS.get(im.format or "")
            width, height = im.size
    except (OSError, ValueError, PILImage.DecompressionBombError, SyntaxError):
        fmt = None
    if fmt is None:
        raise BadRequest("Invalid image file")
    return ImageInfo(fmt, width, height, 1, 1, via_pillow=True)


def check_pixels(info: ImageInfo) -> None:
    limit = settings.DAM_MAX_IMAGE_PIXELS
    if info.width <= 0 or info.height <= 0:
        raise BadRequest("Invalid image file: zero-sized image")
    if info.pixels > limit:
        raise BadRequest(
            f"Image is too large: {info.width}x{info.height} is {info.pixels} pixels, "
            f"the limit is {limit} pixels"
        )


def verify(path: str, info: ImageInfo) -> None:
    """Decode the whole file at a reduced size; raise BadRequest if it is truncated or corrupt."""
    if info.via_pillow:
        try:
            PILImage.MAX_IMAGE_PIXELS = settings.DAM_MAX_IMAGE_PIXELS
            with PILImage.open(path) as im:
                im.load()
        except (OSError, ValueError, SyntaxError, PILImage.DecompressionBombError) as exc:
            raise BadRequest(f"Invalid image file: {exc}") from None
        return
    try:
        thumb = pyvips.Image.thumbnail(path, 256, fail_on="truncated")
        thumb.avg()
    except pyvips.Error as exc:
        first = str(exc).strip().splitlines()
        detail = next((line for line in first[1:] if line.strip()), first[0] if first else "")
        raise BadRequest(f"Invalid image file: corrupt or truncated data ({detail.strip()[:160]})") from None
