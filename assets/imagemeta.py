"""What an image's file says about it (EXIF, colour) and its predominant colours.

``describe(path)`` reads the header (libvips opens lazily: EXIF, ICC profile, bands and
sample format come from the header, no pixel is decoded) and a thumbnail of at most
``PALETTE_SIZE`` pixels (JPEG and WebP shrink on load) for the palette.  The result is
plain JSON, named as Cloudinary's ``image_metadata`` (EXIF tag names) and ``colors``
(``[[hex, percent], ...]``) report them.

``describe_stored(storage, name)`` reads a stored original from its local path, or streams
it from the storage (S3) through a libvips source.  ``for_asset(asset)`` keeps the result on
the asset's current ``AssetVersion`` (``image_metadata``), computed once per version: in the
worker after the version is stored (``assets.tasks.request_image_metadata``, on ``assets.signals.asset_stored``), or at
once for the Admin API's ``image_metadata=true``.  A page view only reads the row
(``cached``): a 6000x4000 PNG takes about a second to read (no shrink-on-load).
"""

from __future__ import annotations

import io
import logging
from contextlib import nullcontext
from fractions import Fraction

import pyvips
from django.core.files.storage import storages
from PIL import Image as PILImage

from .models import AssetVersion
from .stream import local_path, vips_source

log = logging.getLogger(__name__)

PALETTE_SIZE = 64
PALETTE_COLOURS = 6
MAX_TEXT = 200  # characters of one EXIF text value kept
FORMAT_BITS = {"uchar": 8, "char": 8, "ushort": 16, "short": 16, "uint": 32, "int": 32, "float": 32,
               "double": 64}
EXIF_TAGS = {  # tag number -> name, in the order shown
    0x010F: "Make", 0x0110: "Model", 0xA434: "LensModel", 0x829A: "ExposureTime", 0x829D: "FNumber",
    0x920A: "FocalLength", 0x8827: "ISOSpeedRatings", 0x9003: "DateTimeOriginal", 0x0132: "DateTime",
    0x0112: "Orientation", 0x0131: "Software", 0x8298: "Copyright", 0x013B: "Artist",
}
EXIF_IFD, GPS_IFD = 0x8769, 0x8825


def _plain(value):
    """An EXIF value as JSON: rationals as numbers, bytes dropped, text bounded."""
    if isinstance(value, bytes):
        return None
    if isinstance(value, tuple):
        items = [_plain(v) for v in value]
        return items if all(i is not None for i in items) else None
    if hasattr(value, "numerator") and hasattr(value, "denominator") and not isinstance(value, int):
        return None if not value.denominator else round(float(value), 6)
    if isinstance(value, str):
        return value.strip("\x00 ").strip()[:MAX_TEXT] or None
    if isinstance(value, (int, float)):
        return value
    return None


def exif_fields(blob: bytes) -> dict:
    """``{"Make": ..., "GPSLatitude": ...}`` from an EXIF block; {} when unreadable."""
    exif = PILImage.Exif()
    try:
        exif.load(blob)
        sub = exif.get_ifd(EXIF_IFD)
        gps = exif.get_ifd(GPS_IFD)
    except Exception:  # noqa: BLE001 - a file's EXIF is untrusted bytes; unreadable means none
        return {}
    out = {}
    for tag, name in EXIF_TAGS.items():
        value = _plain(sub[tag] if tag in sub else exif.get(tag))
        if value is not None and value != []:
            out[name] = value
    latitude, longitude = _degrees(gps.get(2), gps.get(1)), _degrees(gps.get(4), gps.get(3))
    if latitude is not None and longitude is not None:
        out["GPSLatitude"], out["GPSLongitude"] = latitude, longitude
    return out


def _degrees(dms, ref) -> float | None:
    try:
        d, m, s = (float(x) for x in dms)
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    value = d + m / 60 + s / 3600
    return round(-value if str(ref).upper().startswith(("S", "W")) else value, 6)


def icc_name(blob: bytes) -> str:
    """The ICC profile's description (e.g. "sRGB IEC61966-2.1"), "" when unreadable."""
    try:
        from PIL import ImageCms  # optional part of Pillow (LittleCMS)

        return (ImageCms.ImageCmsProfile(io.BytesIO(blob)).profile.profile_description or "").strip()[:MAX_TEXT]
    except Exception:  # noqa: BLE001 - untrusted bytes
        return ""


def palette(image: pyvips.Image, colours: int = PALETTE_COLOURS) -> list[list]:
    """``[[hex, percent], ...]`` of the predominant colours of a small sRGB image: a
    histogram over 4 bits per channel, the largest bins merged with close neighbours,
    each reported as the mean colour of its pixels; transparent pixels do not count."""
    import numpy as np  # the engine's dependency; only needed here

    if image.interpretation not in ("srgb", "b-w") or image.format != "uchar":
        image = image.colourspace("srgb").cast("uchar")
    bands = image.bands
    pixels = np.ndarray(buffer=image.write_to_memory(), dtype=np.uint8, shape=(image.height * image.width, bands))
    if bands in (2, 4):
        pixels = pixels[pixels[:, -1] >= 128][:, :-1]
    if pixels.shape[1] == 1:
        pixels = np.repeat(pixels, 3, axis=1)
    pixels = pixels[:, :3].astype(np.int64)
    if not len(pixels):
        return []
    bins = (pixels[:, 0] >> 4) << 8 | (pixels[:, 1] >> 4) << 4 | pixels[:, 2] >> 4
    counts = np.bincount(bins, minlength=4096)
    order = np.argsort(counts)[::-1]
    groups: list[list] = []  # [mean rgb, count]
    for b in order[:64]:
        if not counts[b]:
            break
        mean = pixels[bins == b].mean(axis=0)
        for group in groups:
            if np.abs(group[0] - mean).max() < 40:
                total = group[1] + counts[b]
                group[0] = (group[0] * group[1] + mean * counts[b]) / total
                group[1] = total
                break
        else:
            groups.append([mean, int(counts[b])])
    total = len(pixels)
    groups.sort(key=lambda g: -g[1])
    return [["#%02X%02X%02X" % tuple(int(round(c)) for c in g[0]), round(100.0 * int(g[1]) / total, 1)]
            for g in groups[:colours]]


def describe(path: str) -> dict:
    """The metadata of the image file at ``path`` (see the module's docstring)."""
    return _describe(lambda: nullcontext(path), path)


def describe_stored(storage, name: str) -> dict:
    """The metadata of the file ``name`` in ``storage``: read from its local path when the
    storage has one, else streamed from the storage (S3) through a libvips source."""
    path = local_path(storage, name)
    if path is not None:
        return describe(path)
    return _describe(lambda: storage.open(name, "rb"), name)


def _describe(opened, label: str) -> dict:
    """``opened()``: a context manager yielding a path or an open binary file (opened once for
    the header, once more for the palette's thumbnail: a stream is read front to back)."""
    with opened() as src:
        # the source stays referenced while the image is used: libvips calls back into it
        source = None if isinstance(src, str) else vips_source(src)
        try:
            image = (pyvips.Image.new_from_file(src, access="sequential") if source is None
                     else pyvips.Image.new_from_source(source, "", access="sequential"))
        except pyvips.Error:
            image = None
        if image is None:
            return _describe_pillow(src)
        fields = set(image.get_fields())
        out: dict = {"exif": exif_fields(image.get("exif-data")) if "exif-data" in fields else {}}
        out["orientation"] = image.get("orientation") if "orientation" in fields else 1
        out["icc_profile"] = icc_name(image.get("icc-profile-data")) if "icc-profile-data" in fields else ""
        out["colorspace"] = image.interpretation
        out["bit_depth"] = (image.get("bits-per-sample") if "bits-per-sample" in fields
                            else FORMAT_BITS.get(image.format, 8))
        out["has_alpha"] = bool(image.hasalpha())
    try:
        with opened() as src:
            source = None if isinstance(src, str) else vips_source(src)
            thumb = (pyvips.Image.thumbnail(src, PALETTE_SIZE) if source is None
                     else pyvips.Image.thumbnail_source(source, PALETTE_SIZE))
            out["colors"] = palette(thumb)
    except pyvips.Error as exc:
        log.warning("no palette for %s: %s", label, exc)
        out["colors"] = []
    return out


def _describe_pillow(src) -> dict:
    """``src``: a path or a seekable binary file."""
    try:
        if not isinstance(src, str):
            src.seek(0)
        with PILImage.open(src) as im:
            im.thumbnail((PALETTE_SIZE, PALETTE_SIZE))
            rgba = im.convert("RGBA")
            mode = im.mode
            thumb = pyvips.Image.new_from_memory(rgba.tobytes(), rgba.width, rgba.height, 4, "uchar")
            return {"exif": {}, "orientation": 1, "icc_profile": "", "colorspace": mode.lower(),
                    "bit_depth": 8, "has_alpha": "A" in mode or "transparency" in im.info,
                    "colors": palette(thumb.copy(interpretation="srgb"))}
    except (OSError, ValueError, SyntaxError, PILImage.DecompressionBombError, pyvips.Error):
        return {"exif": {}, "colors": [], "unreadable": True}


def has_metadata(asset) -> bool:
    """Whether the asset has a file this module describes (an image with a stored original);
    raw files, videos and assets without an original get no Metadata card."""
    return asset.resource_type == "image" and bool(asset.storage_name)


def cached(asset) -> dict | None:
    """The current version's metadata when it has been computed, else None (no file read)."""
    if not has_metadata(asset):
        return None
    return (AssetVersion.objects.filter(asset=asset, version_id=asset.version_id)
            .values_list("image_metadata", flat=True).first())


def for_asset(asset) -> dict | None:
    """The current version's metadata, computed now (and stored) unless it is already; None
    when the asset has no image file (raw files, a missing original)."""
    if not has_metadata(asset):
        return None
    version = AssetVersion.objects.filter(asset=asset, version_id=asset.version_id).first()
    if version is not None and version.image_metadata is not None:
        return version.image_metadata
    storage = storages["default"]
    if local_path(storage, asset.storage_name) is None and not storage.exists(asset.storage_name):
        return None
    data = describe_stored(storage, asset.storage_name)
    if version is not None:
        AssetVersion.objects.filter(pk=version.pk).update(image_metadata=data)
    return data


def exposure_text(value) -> str:
    """1/250 s for 0.004; 2 s for 2."""
    if not isinstance(value, (int, float)) or value <= 0:
        return ""
    if value >= 1:
        return f"{value:g} s"
    return f"{Fraction(value).limit_denominator(10000)} s"


def as_image_metadata(data: dict) -> dict:
    """The Admin API's ``image_metadata`` (resource details with ``image_metadata=true``):
    EXIF tag names with text values, as Cloudinary reports them, and the colour facts."""
    out = {}
    for name, value in (data.get("exif") or {}).items():
        if name == "ExposureTime" and isinstance(value, (int, float)):
            value = exposure_text(value).removesuffix(" s")
        elif isinstance(value, list):
            value = ", ".join(str(v) for v in value)
        out[name] = str(value)
    if data.get("icc_profile"):
        out["ProfileDescription"] = data["icc_profile"]
    if data.get("colorspace"):
        out["ColorSpace"] = str(data["colorspace"])
    if data.get("bit_depth"):
        out["BitsPerSample"] = str(data["bit_depth"])
    return out
