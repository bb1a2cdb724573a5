"""WSGI middleware that gives Django a Content-Length for chunked request bodies.

The npm SDK streams uploads with ``Transfer-Encoding: chunked`` and no
Content-Length.  Django reads exactly CONTENT_LENGTH bytes (zero when absent), so
such a body would be dropped.  Servers that de-chunk for us (gunicorn sets
``wsgi.input_terminated``) hand us the decoded stream; others (wsgiref, used by
runserver) hand us the raw framing, which is decoded here.  The body is spooled to
a temporary file past a few megabytes and capped at the upload limit.
"""

from __future__ import annotations

import json
import tempfile

from django.conf import settings

SPOOL_BYTES = 4 * 1024 * 1024


class BodyTooLarge(Exception):
    pass


def _copy_terminated(stream, out, limit: int) -> None:
    total = 0
    while True:
        block = stream.read(64 * 1024)
        if not block:
            return
        total += len(block)
        if total > limit:
            raise BodyTooLarge
        out.write(block)


def _copy_chunked(stream, out, limit: int) -> None:
    total = 0
    while True:
        line = stream.readline(1024)
        if not line:
            raise ValueError("truncated chunked body")
        size = int(line.split(b";", 1)[0].strip() or b"0", 16)
        if size == 0:
            # Trailers end with an empty line.
            while stream.readline(8192) not in (b"\r\n", b"\n", b""):
                pass
            return
        total += size
        if total > limit:
            raise BodyTooLarge
        remaining = size
        while remaining:
            block = stream.read(min(remaining, 64 * 1024))
            if not block:
                raise ValueError("truncated chunked body")
            out.write(block)
            remaining -= len(block)
        stream.readline(8)  # the CRLF after each chunk


def _error(start_response, status: str, message: str):
    body = json.dumps({"error": {"message": message}}).encode()
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]


class ChunkedBodyMiddleware:
    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        chunked = "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower()
        if not chunked or environ.get("CONTENT_LENGTH"):
            return self.app(environ, start_response)
        limit = int(settings.DATA_UPLOAD_MAX_MEMORY_SIZE) + 1024 * 1024
        body = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)
        try:
            if environ.get("wsgi.input_terminated"):
                _copy_terminated(environ["wsgi.input"], body, limit)
            else:
                _copy_chunked(environ["wsgi.input"], body, limit)
        except BodyTooLarge:
            body.close()
            return _error(start_response, "413 Request Entity Too Large", "Request body too large")
        except ValueError as exc:
            body.close()
            return _error(start_response, "400 Bad Request", f"Malformed chunked request body: {exc}")
        environ["CONTENT_LENGTH"] = str(body.tell())
        body.seek(0)
        environ["wsgi.input"] = body
        environ.pop("HTTP_TRANSFER_ENCODING", None)
        return self.app(environ, start_response)
