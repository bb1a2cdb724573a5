"""The web server's access log, one line per request, written in batches.

granian's own access log (``--access-log``) formats each line through Python's logging
module and writes it with a flush of its own: on a cached hit that cost about a fifth
of the request rate (README, delivery benchmark).  This outermost WSGI layer writes the
same information in the Common Log Format plus the time taken:

    127.0.0.1 - - [22/Nov/2026:08:00:00 +0000] "GET /demo/image/upload/w_400/x.jpg HTTP/1.1" 200 24981 1.2ms

Lines are queued and written to standard error a few times per second by one thread of
the worker (and at exit), so a request pays for building its line, not for a write.  A
worker killed with SIGKILL loses at most the lines of its last quarter second.
``DAM_ACCESS_LOG=0`` turns it off (e.g. when the reverse proxy or CDN in front logs).

The path is logged as requested, percent-encoded where it holds anything but printable
ASCII (PATH_INFO is decoded), so a line cannot be forged with quotes or newlines.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections import deque
from urllib.parse import quote

from django.conf import settings

from core.process import at_exit

FLUSH_EVERY = 0.25  # seconds
_SAFE = "/:@!$&'()*+,;=-._~"


def enabled() -> bool:
    return settings.DAM_ACCESS_LOG


def _target(environ) -> str:
    path = environ.get("PATH_INFO", "")
    if not (path.isascii() and path.isprintable()) or '"' in path or " " in path:
        path = quote(path.encode("latin-1", "replace"), safe=_SAFE)
    query = environ.get("QUERY_STRING")
    if query:
        if not (query.isascii() and query.isprintable()) or '"' in query or " " in query:
            query = quote(query.encode("latin-1", "replace"), safe=_SAFE + "%?")
        return f"{path}?{query}"
    return path


class AccessLog:
    def __init__(self, app, stream=None):
        self.app = app
        self.stream = stream
        self.lines: deque[str] = deque()
        self.second = -1
        self.stamp = ""
        self.wake = threading.Event()
        self.pid = 0
        at_exit(self.flush)

    def _start_writer(self) -> None:
        # Started lazily, in the process that serves (a thread does not survive a fork).
        self.pid = os.getpid()
        threading.Thread(target=self._writer, name="access-log", daemon=True).start()

    def _writer(self) -> None:
        while True:
            self.wake.wait(FLUSH_EVERY)
            self.wake.clear()
            self.flush()

    def flush(self) -> None:
        lines = self.lines
        out = []
        while True:
            try:
                out.append(lines.popleft())
            except IndexError:
                break
        if out:
            stream = self.stream or sys.stderr
            try:
                stream.write("".join(out))
                stream.flush()
            except (OSError, ValueError):  # stderr closed at exit: nothing to tell
                pass

    def _time(self) -> str:
        now = time.time()
        second = int(now)
        if second != self.second:
            self.stamp = time.strftime("%d/%b/%Y:%H:%M:%S %z", time.localtime(now))
            self.second = second
        return self.stamp

    def __call__(self, environ, start_response):
        if self.pid != os.getpid():
            self._start_writer()
        started = time.perf_counter()
        seen = []

        def logged_start_response(status, headers, exc_info=None):
            seen[:] = [status, headers]
            return start_response(status, headers, exc_info)

        try:
            result = self.app(environ, logged_start_response)
        except BaseException:
            self._line(environ, "500", "-", started)
            raise
        if seen:
            status, headers = seen
            size = "-"
            for name, value in headers:
                if len(name) == 14 and name.lower() == "content-length":
                    size = value
                    break
            self._line(environ, status[:3], size, started)
        return result

    def _line(self, environ, code: str, size: str, started: float) -> None:
        elapsed = (time.perf_counter() - started) * 1000
        self.lines.append(
            f'{environ.get("REMOTE_ADDR") or "-"} - - [{self._time()}] "{environ.get("REQUEST_METHOD", "")} '
            f'{_target(environ)} {environ.get("SERVER_PROTOCOL", "HTTP/1.1")}" {code} {size} {elapsed:.1f}ms\n')
        if len(self.lines) > 10000:
            self.wake.set()


def wrap(app):
    return AccessLog(app) if enabled() else app
