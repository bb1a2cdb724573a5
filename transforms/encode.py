"""The table of output formats: URL extension -> (MIME type, saver with our defaults).

A saver writes a prepared image (sRGB or grey, 8-bit unless the format keeps more,
alpha flattened where the format has none) to a local file path, or returns the
bytes when the path is None, with `Options` from ``q_`` and the delivery flags.
libvips writes everything but BMP, which goes through Pillow.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass

import pyvips

ALIASES = {"jpeg": "jpg", "jpe": "jpg", "tif": "tiff"}
# MIME types of stored formats served as they are (no encoder needed to stream an original).
MIME_TYPES = {
    "jpg": "image/jpeg", "png": "image/png", "webp": "image/webp", "avif": "image/avif", "gif": "image/gif",
    "tiff": "image/tiff", "bmp": "image/bmp", "heic": "image/heic", "jp2": "image/jp2", "jxl": "image/jxl",
    "svg": "image/svg+xml", "ico": "image/vnd.microsoft.icon", "tga": "image/x-tga",
}
# Formats whose files can carry an EXIF orientation.
ORIENTED_FORMATS = frozenset({"jpg", "png", "webp", "tiff", "heic", "avif", "jxl"})


@dataclass(frozen=True)
class Options:
    """How to write: from q_ and the delivery flags (defaults are ours)."""

    quality: int | None = None  # None: the format's default
    progressive: bool = False  # fl_progressive
    strip: bool = False  # fl_strip_profile: no ICC profile either
    keep_iptc: bool = False  # fl_keep_iptc
    palette: bool = False  # fl_png8, or fl_lossy for PNG/GIF


DEFAULT = Options()


def keep(options: Options) -> int:
    """Metadata kept: the ICC profile (unless stripped), IPTC on request; never EXIF or XMP."""
    flags = 0 if options.strip else int(pyvips.enums.ForeignKeep.ICC)
    if options.keep_iptc:
        flags |= int(pyvips.enums.ForeignKeep.IPTC)
    return flags


def _write(image: pyvips.Image, saver: str, path: str | None, **options) -> bytes | None:
    """libvips' `saver` into the file `path`, or into memory (returned) when path is None."""
    if path is None:
        return getattr(image, saver + "_buffer")(**options)
    getattr(image, saver)(path, **options)
    return None


def _save_jpg(image: pyvips.Image, path: str | None, o: Options = DEFAULT) -> bytes | None:
    return _write(image, "jpegsave", path, Q=o.quality or 80, interlace=o.progressive, optimize_coding=True,
                  keep=keep(o))


def _save_png(image: pyvips.Image, path: str | None, o: Options = DEFAULT) -> bytes | None:
    if o.palette:
        return _write(image, "pngsave", path, compression=9, palette=True, bitdepth=8, Q=o.quality or 90,
                      keep=keep(o), interlace=o.progressive)
    else:
        return _write(image, "pngsave", path, compression=6, keep=keep(o), interlace=o.progressive)


def _save_webp(image: pyvips.Image, path: str | None, o: Options = DEFAULT) -> bytes | None:
    return _write(image, "webpsave", path, Q=o.quality or 80, effort=4, keep=keep(o))


def _save_avif(image: pyvips.Image, path: str | None, o: Options = DEFAULT) -> bytes | None:
    return _write(image, "heifsave", path, Q=o.quality or 50, effort=2, compression="av1", keep=keep(o))


def _save_gif(image: pyvips.Image, path: str | None, o: Options = DEFAULT) -> bytes | None:
    if o.palette:
        return _write(image, "gifsave", path, keep=0, interlace=o.progressive, bitdepth=6, dither=0.5)
    else:
        return _write(image, "gifsave", path, keep=0, interlace=o.progressive)


def _save_tiff(image: pyvips.Image, path: str | None, o: Options = DEFAULT) -> bytes | None:
    return _write(image, "tiffsave", path, compression="deflate", predictor="horizontal", keep=keep(o))


def _save_bmp(image: pyvips.Image, path: str | None, o: Options = DEFAULT) -> bytes | None:
    from PIL import Image as PILImage

    array = image.numpy()
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    if path is None:
        out = io.BytesIO()
        PILImage.fromarray(array).save(out, "BMP")
        return out.getvalue()
    PILImage.fromarray(array).save(path, "BMP")
    return None


@dataclass(frozen=True)
class Encoder:
    format: str
    mime: str
    save: Callable[..., bytes | None]  # (image, path or None for bytes, Options)
    alpha: bool = True  # False: alpha is flattened onto white first
    eight_bit: bool = True  # True: 16-bit input is scaled to 8 bits first
    max_side: int | None = None
    lossy: bool = False  # q_ changes the bytes (q_auto searches a quality for it)


ENCODERS: dict[str, Encoder] = {
    "jpg": Encoder("jpg", "image/jpeg", _save_jpg, alpha=False, max_side=65_535, lossy=True),
    "png": Encoder("png", "image/png", _save_png, eight_bit=False),
    "webp": Encoder("webp", "image/webp", _save_webp, max_side=16_383, lossy=True),
    "avif": Encoder("avif", "image/avif", _save_avif, max_side=16_384, lossy=True),
    "gif": Encoder("gif", "image/gif", _save_gif, max_side=65_535),
    "tiff": Encoder("tiff", "image/tiff", _save_tiff, eight_bit=False),
    "bmp": Encoder("bmp", "image/bmp", _save_bmp, alpha=False),
}


def canonical_format(extension: str | None) -> str | None:
    """``JPEG`` -> ``jpg``, ``tif`` -> ``tiff``; None stays None."""
    if extension is None:
        return None
    extension = extension.lower()
    return ALIASES.get(extension, extension)


def mime_type(fmt: str) -> str:
    return MIME_TYPES.get(fmt, "application/octet-stream")
