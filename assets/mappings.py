"""Upload mappings (Cloudinary's "auto-upload" folders).

A mapping joins a folder to a URL prefix (``template``). Delivering
``/<cloud>/image/upload/[<transformation>/]<folder>/<rest>`` when no asset of that
public_id exists fetches ``<template><rest>`` once, stores it as the public_id
``<folder>/<rest without extension>`` (type upload) and delivers it; later requests find
the stored asset. The fetch is the Upload API's remote fetch (``assets.remote``: every hop
through the SSRF guard, the body under ``DAM_MAX_UPLOAD_BYTES``, one deadline), and at
most ``FETCH_SLOTS`` fetches per process run at once (a miss beyond that is a 503), so
anonymous requests cannot turn the server into a crawler. A failed fetch, or a file that is
not an image, is a 404 with the reason; nothing is stored, and the same miss is answered
from the cache for ``MISS_SECONDS`` without fetching again (repeated requests for a
missing file cannot hammer the source).
"""

from __future__ import annotations

import hashlib
from urllib.parse import quote, urlsplit

from django.core.cache import cache

from core.errors import ApiError, BadRequest, NotFound

from . import capacity, ingest
from .models import Asset, UploadMapping

FETCH_SLOTS = 2
MISS_SECONDS = 60
MAX_TEMPLATE = 1024


def check_folder(value) -> str:
    folder = str(value or "").strip().strip("/")
    if not folder:
        raise BadRequest("Missing required parameter - folder")
    return ingest.validate_folder(folder)


def check_template(value) -> str:
    template = str(value or "").strip()
    if not template:
        raise BadRequest("Missing required parameter - template")
    if len(template) > MAX_TEMPLATE:
        raise BadRequest(f"Invalid template: longer than {MAX_TEMPLATE} characters")
    parts = urlsplit(template)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
        raise BadRequest("Invalid template: must be an http(s) URL prefix without a query or fragment")
    return template


def mapping_for(public_id: str) -> tuple[UploadMapping, str] | None:
    """The mapping whose folder holds ``public_id`` (the deepest), and the rest of the path."""
    parts = public_id.split("/")
    prefixes = ["/".join(parts[:i]) for i in range(1, len(parts))]
    if not prefixes:
        return None
    found = max(UploadMapping.objects.filter(folder__in=prefixes), key=lambda m: len(m.folder), default=None)
    if found is None:
        return None
    return found, public_id[len(found.folder) + 1:]


def source_url(mapping: UploadMapping, rest: str) -> str:
    template = mapping.template if mapping.template.endswith("/") else mapping.template + "/"
    return template + quote(rest, safe="/")


def fetch_mapped(public_id: str, extension: str = "") -> Asset | None:
    """Fetch and store the asset a mapped folder names; None when no mapping holds it."""
    found = mapping_for(public_id)
    if found is None:
        return None
    mapping, rest = found
    url = source_url(mapping, f"{rest}.{extension}" if extension else rest)
    miss_key = "upload-mapping-miss:" + hashlib.sha256(url.encode()).hexdigest()
    remembered = cache.get(miss_key)
    if remembered:
        raise NotFound(remembered)
    try:
        return _fetch(url, public_id)
    except NotFound as exc:
        cache.set(miss_key, exc.message, MISS_SECONDS)
        raise


def _fetch(url: str, public_id: str) -> Asset:
    if not capacity.try_acquire("upload_mapping", FETCH_SLOTS):
        raise ApiError("Too many remote fetches for mapped folders at once; try again", 503, {"Retry-After": "2"})
    try:
        try:
            incoming = ingest.open_source(url)
        except BadRequest as exc:
            raise NotFound(f"Resource not found - {public_id} ({exc.message})") from None
        try:
            return ingest.store(incoming=incoming, public_id=public_id, type="upload", overwrite=False,
                                original_filename=incoming.filename.rsplit(".", 1)[0]).asset
        except BadRequest as exc:  # not an image we can read: nothing is stored
            raise NotFound(f"Resource not found - {public_id} ({exc.message})") from None
        finally:
            incoming.close()
    finally:
        capacity.release("upload_mapping")
