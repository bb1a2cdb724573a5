"""What the production web server (granian, the Procfile's ``web:`` line) hands Django,
made to hold as WSGI promises it.

granian answers HTTP in Rust and calls the application from a few Python threads per
worker: a cached hit costs a fraction of what gunicorn's Python HTTP handling cost (see
the README's delivery benchmark).  Two things about its WSGI environ are taken care of
here, on the requests that reach Django (transforms.memo answers repeated delivery
requests before this and reads neither):

- Every environ starts as a copy of the worker's process environment (PEP 3333 allows
  it, CGI did it), so ``request.META`` would carry ``DATABASE_URL``, secret keys and
  the like into anything that logs or reports it.  Those entries are removed (a name
  the process environment defines, with its value; the CGI names of the request itself
  are never removed).
- ``wsgi.input``: granian 2.8 answers sized ``read(n)`` correctly, but a ``read()`` or
  ``readline()`` after an earlier read loses data.  Requests with a body get the stream
  wrapped in a standard ``io.BufferedReader`` that only ever asks granian for sized
  reads, so every read method works (Django itself reads in sized chunks).

Nothing is changed under other servers (``SERVER_SOFTWARE`` says which).
"""

from __future__ import annotations

import io
import os

# The names a request's own environ may carry (PEP 3333, CGI): never removed even when
# the process environment happens to define them too.
_REQUEST_KEYS = frozenset({
    "REQUEST_METHOD", "SCRIPT_NAME", "PATH_INFO", "QUERY_STRING", "CONTENT_TYPE", "CONTENT_LENGTH",
    "SERVER_NAME", "SERVER_PORT", "SERVER_PROTOCOL", "SERVER_SOFTWARE", "GATEWAY_INTERFACE",
    "REMOTE_ADDR", "REMOTE_HOST", "REMOTE_USER", "AUTH_TYPE", "HTTPS",
})


class _SizedReads(io.RawIOBase):
    """A raw stream over `stream` that calls only ``stream.read(n)`` with n > 0."""

    def __init__(self, stream):
        super().__init__()
        self.stream = stream

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        size = len(buffer)
        if size == 0:
            return 0
        data = self.stream.read(size)
        n = len(data)
        buffer[:n] = data
        return n


def sized_input(stream, buffer_size: int = 64 * 1024) -> io.BufferedReader:
    return io.BufferedReader(_SizedReads(stream), buffer_size)


class GranianEnviron:
    def __init__(self, app, process_environ=None):
        self.app = app
        # granian copies os.environ once per worker when it starts serving: the same names
        # and values as this snapshot, taken when the worker imports config.wsgi.
        source = os.environ if process_environ is None else process_environ
        self.process = {key: value for key, value in source.items() if key not in _REQUEST_KEYS}

    def __call__(self, environ, start_response):
        if environ.get("SERVER_SOFTWARE") == "Granian":
            self.clean(environ)
        return self.app(environ, start_response)

    def clean(self, environ) -> None:
        for key, value in self.process.items():
            found = environ.get(key)
            if found is not None and found == value:
                del environ[key]
        if environ.get("CONTENT_LENGTH") not in (None, "", "0") or environ.get("HTTP_TRANSFER_ENCODING"):
            stream = environ.get("wsgi.input")
            if stream is not None:
                environ["wsgi.input"] = sized_input(stream)
