"""Support: call a WSGI application in-process, as a server would, and collect its answer."""

from __future__ import annotations


def run_app(app, environ) -> tuple[str, dict, bytes]:
    """(status line, headers with lower-case names, body); the iterable is closed."""
    seen = {}

    def start_response(status, headers, exc_info=None):
        seen["status"], seen["headers"] = status, {k.lower(): v for k, v in headers}

    result = app(environ, start_response)
    try:
        body = b"".join(result)
    finally:
        if hasattr(result, "close"):
            result.close()
    return seen["status"], seen["headers"], body
