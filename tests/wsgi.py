"""Support: call a WSGI application in-process, as a server would, and collect its answer; count the
requests that reach an application (what the delivery memo's tests check it spared)."""

from __future__ import annotations

import io
import sys
from typing import NamedTuple


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


class Answer(NamedTuple):
    status: int
    headers: dict[str, str]  # lower-case names
    body: bytes

    def without_request_id(self) -> dict[str, str]:
        return {k: v for k, v in self.headers.items() if k != "x-request-id"}


class Counting:
    """Passes every request on to `app` and counts them."""

    def __init__(self, app):
        self.app, self.calls = app, 0

    def __call__(self, environ, start_response):
        self.calls += 1
        return self.app(environ, start_response)


def call(app, path: str, method: str = "GET", query: str = "", **headers) -> Answer:
    """A request to `app` with the environ a server builds (`headers` as ``x_request_id="..."``)."""
    environ = {
        "REQUEST_METHOD": method, "PATH_INFO": path, "QUERY_STRING": query, "SCRIPT_NAME": "",
        "SERVER_NAME": "testserver", "SERVER_PORT": "80", "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": "testserver", "REMOTE_ADDR": "127.0.0.1", "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(b""), "wsgi.errors": sys.stderr, "wsgi.version": (1, 0),
        "wsgi.multithread": True, "wsgi.multiprocess": True, "wsgi.run_once": False,
        **{"HTTP_" + name.upper(): value for name, value in headers.items()},
    }
    status, response_headers, body = run_app(app, environ)
    return Answer(int(status[:3]), response_headers, body)
