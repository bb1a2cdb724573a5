"""Upload parameters that act on the file itself: ``format`` (store the upload converted
to that format) and ``allowed_formats`` (refuse any other format), as Cloudinary does.

Conversion decodes and re-encodes with libvips' own savers, the same libraries the
engine's encoders use (assets may not import the engine: import layers). It is bounded
as an upload is: the source has passed the upload's byte and pixel limits
(assets.fileinfo.classify) before it is decoded, and the result must fit the byte limit.
"""

from __future__ import annotations

import os

import pyvips
from django.conf import settings

from core.errors import BadRequest

from . import fileinfo, tempfiles
from .ingest import Incoming, RemoveOnClose

# Target format -> (file suffix, saver options); aliases are written as Cloudinary names them.
TARGETS = {
    "jpg": (".jpg", {"Q": 90}), "png": (".png", {}), "webp": (".webp", {"Q": 90}),
    "gif": (".gif", {}), "tiff": (".tiff", {}), "avif": (".avif", {"Q": 60}),
}
ALIASES = {"jpeg": "jpg", "jpe": "jpg", "tif": "tiff"}


def canonical(fmt: str) -> str:
    fmt = str(fmt or "").strip().lower().lstrip(".")
    return ALIASES.get(fmt, fmt)


def check_target(fmt) -> str | None:
    """The ``format`` parameter, canonical; None when not given; 400 for one we cannot write."""
    if fmt in (None, ""):
        return None
    if not isinstance(fmt, str):
        raise BadRequest("Invalid format: expected one format name such as jpg")
    target = canonical(fmt)
    if target not in TARGETS:
        raise BadRequest(f"Invalid format {fmt!r} for conversion on upload: one of {', '.join(sorted(TARGETS))}")
    return target


def apply(incoming: Incoming, resource_type: str, target: str | None, allowed: list[str]) -> Incoming:
    """`incoming`, converted to `target` when it is an image of another format; 400 when the
    format that would be stored is not in `allowed` (when given). The original `incoming`
    is closed when a converted one replaces it."""
    if target is None and not allowed:
        return incoming
    info = fileinfo.classify(incoming.path, resource_type, incoming.size)  # the limits, before decoding
    current = canonical(info.format)
    if target is not None and info.resource_type == "image" and current != target:
        incoming = _convert(incoming, target)
        current = target
    allowed_set = {canonical(a) for a in allowed}
    if allowed_set and (current or "").lower() not in allowed_set:
        shown = current or "raw"
        kind = {"image": "Image", "video": "Video"}.get(info.resource_type, "File")
        raise BadRequest(f"{kind} file format {shown} not allowed")
    return incoming


def _convert(incoming: Incoming, target: str) -> Incoming:
    suffix, options = TARGETS[target]
    out = tempfiles.path("convert", suffix)
    try:
        image = pyvips.Image.new_from_file(incoming.path, access="sequential").autorot()
        if target == "jpg" and image.hasalpha():
            image = image.flatten(background=[255] * (image.bands - 1))
        image.write_to_file(out, **options)
    except pyvips.Error as exc:
        _remove(out)
        raise BadRequest(f"Cannot convert the file to {target}: {str(exc).splitlines()[0][:200]}") from None
    size = os.path.getsize(out)
    if size > settings.DAM_MAX_UPLOAD_BYTES:
        _remove(out)
        raise BadRequest(f"File size too large. Got {size}. Maximum is {settings.DAM_MAX_UPLOAD_BYTES}.")
    filename = incoming.filename
    incoming.close()
    return Incoming(out, size, filename, RemoveOnClose(out))


def _remove(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
