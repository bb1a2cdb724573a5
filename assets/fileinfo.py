"""What an uploaded file is when it is not (only) an image: Cloudinary's resource types.

``classify(path, requested)`` answers a `FileInfo` for ``image``, ``video``, ``raw`` or
``auto`` (image when libvips/Pillow read it as one, video when its container signature
says so, else raw).  Video is recognised by signature only (MP4/MOV ``ftyp``, WebM/MKV
EBML, Ogg, AVI ``RIFF``); no decoder is run (the machine has no ffprobe).  Width, height
and duration are read from an MP4/MOV header (``tkhd``, ``mvhd``) or a WebM/MKV one
(``PixelWidth``, ``PixelHeight``, ``Duration`` in its first MiB) when there; other
containers (Ogg, AVI) are stored without them.  Raw files are stored as they are: no format
(the extension is part of their public_id), no dimensions.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from django.conf import settings

from core.errors import BadRequest

from . import imageinfo

RESOURCE_TYPES = ("image", "video", "raw")
VIDEO_FORMATS = ("mp4", "mov", "webm", "mkv", "ogv", "avi")
VIDEO_MIME = {"mp4": "video/mp4", "mov": "video/quicktime", "webm": "video/webm", "mkv": "video/x-matroska",
              "ogv": "video/ogg", "avi": "video/x-msvideo"}
_HEAD = 4096


@dataclass(frozen=True)
class FileInfo:
    resource_type: str
    format: str  # "" for raw
    width: int = 0
    height: int = 0
    duration: float | None = None
    image: imageinfo.ImageInfo | None = None


def sniff_video(head: bytes) -> str | None:
    """The container of a video file's first bytes, or None."""
    if len(head) >= 12 and head[4:8] == b"ftyp":
        return "mov" if head[8:12] == b"qt  " else "mp4"
    if len(head) >= 8 and head[4:8] in (b"moov", b"mdat", b"wide"):
        return "mov"
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return "webm" if b"webm" in head[:64] else "mkv"
    if head.startswith(b"OggS") and b"theora" in head[:512]:
        return "ogv"
    if head.startswith(b"RIFF") and head[8:12] == b"AVI ":
        return "avi"
    return None


def _mp4_boxes(fh, start: int, end: int):
    """(type, payload offset, payload end) of the boxes between start and end."""
    offset = start
    while offset + 8 <= end:
        fh.seek(offset)
        header = fh.read(16)
        if len(header) < 8:
            return
        size, kind = struct.unpack(">I4s", header[:8])
        payload = offset + 8
        if size == 1 and len(header) == 16:
            size, payload = struct.unpack(">Q", header[8:16])[0], offset + 16
        elif size == 0:
            size = end - offset
        if size < 8:
            return
        yield kind, payload, min(offset + size, end)
        offset += size


def mp4_dimensions(path: str) -> tuple[int, int, float | None]:
    """(width, height, duration in seconds) from an MP4/MOV header; zeros when not found."""
    width = height = 0
    duration = None
    try:
        with open(path, "rb") as fh:
            fh.seek(0, 2)
            end = fh.tell()
            for kind, start, stop in _mp4_boxes(fh, 0, end):
                if kind != b"moov":
                    continue
                for inner, istart, istop in _mp4_boxes(fh, start, stop):
                    if inner == b"mvhd":
                        fh.seek(istart)
                        data = fh.read(32)
                        if data[:1] == b"\x01":
                            scale, length = struct.unpack(">IQ", data[20:32])
                        else:
                            scale, length = struct.unpack(">II", data[12:20])
                        duration = round(length / scale, 3) if scale else None
                    elif inner == b"trak" and not width:
                        for leaf, lstart, _ in _mp4_boxes(fh, istart, istop):
                            if leaf == b"tkhd":
                                fh.seek(lstart)
                                data = fh.read(96)
                                at = 88 if data[:1] == b"\x01" else 76  # version 1 has 64-bit times
                                w, h = struct.unpack(">II", data[at:at + 8])
                                width, height = w >> 16, h >> 16
                break
    except (OSError, struct.error):
        return 0, 0, None
    return width, height, duration


_EBML_MASTERS = {0x18538067, 0x1654AE6B, 0xAE, 0xE0, 0x1549A966}  # Segment, Tracks, TrackEntry, Video, Info
_EBML_HEAD = 1 << 20  # the Tracks and Info elements come first in the files muxers write


def _vint(data: bytes, at: int, keep_marker: bool) -> tuple[int, int]:
    """(value, length) of an EBML variable-size integer; (-1, length) for an unknown size."""
    first = data[at]
    length = next((n for n in range(8) if first & (0x80 >> n)), None)
    if length is None or at + length + 1 > len(data):
        raise ValueError("bad EBML number")
    length += 1
    value = first if keep_marker else first & (0xFF >> length)
    for byte in data[at + 1:at + length]:
        value = (value << 8) | byte
    if not keep_marker and value == (1 << (7 * length)) - 1:
        return -1, length
    return value, length


def webm_dimensions(path: str) -> tuple[int, int, float | None]:
    """(width, height, duration in seconds) from a WebM/MKV header; zeros when not found."""
    with open(path, "rb") as fh:
        data = fh.read(_EBML_HEAD)
    found: dict[int, bytes] = {}

    def walk(start: int, end: int, depth: int) -> None:
        at = start
        while at < end and depth < 6:
            ident, n = _vint(data, at, True)
            size, m = _vint(data, at + n, False)
            body = at + n + m
            stop = end if size < 0 else min(body + size, end)
            if ident in _EBML_MASTERS:
                walk(body, stop, depth + 1)
            elif ident in (0xB0, 0xBA, 0x4489, 0x2AD7B1) and ident not in found:
                found[ident] = data[body:stop]
            at = stop

    try:
        walk(0, len(data), 0)
    except (ValueError, IndexError):
        pass
    width = int.from_bytes(found.get(0xB0, b""), "big")
    height = int.from_bytes(found.get(0xBA, b""), "big")
    duration = None
    raw = found.get(0x4489)
    if raw and len(raw) in (4, 8):
        ticks = struct.unpack(">f" if len(raw) == 4 else ">d", raw)[0]
        scale = int.from_bytes(found.get(0x2AD7B1, b""), "big") or 1_000_000
        duration = round(ticks * scale / 1e9, 3)
    return (width, height, duration) if width and height else (0, 0, duration)


def classify(path: str, requested: str, size: int) -> FileInfo:
    """Raises BadRequest: not an image for ``image``, not a video for ``video``, too large."""
    if requested in ("image", "auto"):
        try:
            info = imageinfo.probe(path)
        except BadRequest as exc:
            if requested == "image" or not exc.message.startswith("Invalid image file"):
                raise
        else:
            imageinfo.verify(path, info)
            return FileInfo("image", info.format, info.width, info.height, image=info)
    with open(path, "rb") as fh:
        head = fh.read(_HEAD)
    container = sniff_video(head)
    if requested == "video" and container is None:
        raise BadRequest("Invalid video file: not a recognised container (mp4, mov, webm, mkv, ogv, avi)")
    if container is not None and requested in ("video", "auto"):
        if container in ("mp4", "mov"):
            width, height, duration = mp4_dimensions(path)
        elif container in ("webm", "mkv"):
            width, height, duration = webm_dimensions(path)
        else:
            width, height, duration = 0, 0, None
        return FileInfo("video", container, width, height, duration)
    limit = settings.DAM_MAX_RAW_BYTES
    if size > limit:
        raise BadRequest(f"File size too large. Got {size}. Maximum is {limit}.")
    return FileInfo("raw", "")
