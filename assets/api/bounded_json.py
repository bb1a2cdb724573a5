"""JSON from clients, bounded (core.bounded_json: `loads`, `MAX_DEPTH`), and Django REST
framework's JSON body parser with the same bounds.  A request body is read up to
``DATA_UPLOAD_MAX_MEMORY_SIZE`` (413 beyond), as Django bounds form bodies."""

from __future__ import annotations

from django.conf import settings
from rest_framework.parsers import JSONParser

from core.bounded_json import MAX_DEPTH, loads  # noqa: F401 - the API's way to them
from core.errors import ApiError, BadRequest


class BoundedJSONParser(JSONParser):
    """DRF's JSON body parser with the bounds of `loads` (400 instead of a 500 on deep nesting)."""

    def parse(self, stream, media_type=None, parser_context=None):
        encoding = (parser_context or {}).get("encoding") or "utf-8"
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        raw = (stream.read() if limit is None else stream.read(limit + 1)) if stream is not None else b""
        if limit is not None and len(raw) > limit:
            raise ApiError(f"Request body too large: at most {limit} bytes", status=413)
        try:
            text = raw.decode(encoding)
        except (UnicodeDecodeError, LookupError):
            raise BadRequest("JSON parse error - the body is not valid text in its declared encoding") from None
        return loads(text, "JSON body")
