"""WSGI layer that receives every request body before Django runs, within bounds.

granian hands a request to one of its few Python threads as soon as the headers are in,
before the body has arrived, and nothing bounds a read of ``wsgi.input``: ten clients that
announce a large body, send a few bytes and then nothing held every thread until their
sockets closed, so cached hits and the screens stopped answering.  This layer sits in
front of Django (config/wsgi.py) and, for a request with a body (Content-Length > 0 or
``Transfer-Encoding: chunked``):

1. refuses a body larger than the upload limit (413) from its Content-Length, unread;
2. takes a ``body`` long-work token (assets.capacity): at most DAM_WEB_THREADS -
   DAM_RESERVED_THREADS request threads per process wait for bodies, the reserved ones
   stay free for everything else.  None free: 503 with ``Retry-After`` at once;
3. reads the whole body into a spool (memory up to SPOOL_BYTES, then an unnamed file in
   the app's temporary directory) on a helper thread (assets.bodyread), waiting at most
   ``DAM_BODY_TIMEOUT`` seconds for the first bytes and for each further piece, and,
   once the body has been arriving for that long, requiring an average of
   ``DAM_BODY_MIN_RATE`` bytes per second; 408 past either;
4. hands Django the spool as ``wsgi.input`` with its exact CONTENT_LENGTH (chunked bodies
   are de-chunked here, with the same limit).

Every refusal is Cloudinary's JSON error with ``Connection: close``.  The token follows
the helper thread: it is released when that thread returns, never before, so the bound
holds even when a read is still blocked after the request thread gave up.  granian keeps
a connection open for as long as its body is being read, even after a ``Connection:
close`` answer; so when the helper is still blocked after a timeout, the 408 is sent with
its last byte held back and then ended: granian (hyper) closes a connection whose
response falls short of its Content-Length, which ends the blocked read at once (the
client has the complete JSON error, then the connection drops, as nginx drops a
client past ``client_body_timeout``).  A client that is still sending when its body is
refused (413, or 408 for a too slow one) gets its answer and a closed connection.
"""

from __future__ import annotations

import json
import time

from django.conf import settings

from . import capacity, tempfiles
from .bodyread import PIECE, Malformed, TooLarge, Transfer, Truncated

SPOOL_BYTES = 1024 * 1024  # bodies up to this stay in memory
POLL = 0.5  # seconds between two looks at a body's progress
LINGER = 1.0  # seconds a refused body's read is given to end by itself (see the module doc)
RETRY_AFTER = "2"  # seconds, on a 503 (no token free)


def body_limit() -> int:
    """The largest body accepted: the largest upload with its multipart or base64 data-URI
    overhead (DATA_UPLOAD_MAX_MEMORY_SIZE is sized for the latter), plus room for fields."""
    return int(settings.DATA_UPLOAD_MAX_MEMORY_SIZE) + 1024 * 1024


def _payload(message: str) -> bytes:
    return json.dumps({"error": {"message": message}}).encode() + b"\n"


def _headers(payload: bytes, extra=()) -> list[tuple[str, str]]:
    message = json.loads(payload)["error"]["message"]
    return [("Content-Type", "application/json"), ("Content-Length", str(len(payload))),
            ("X-Cld-Error", message.encode("ascii", "replace").decode()), ("Connection", "close"), *extra]


def _refuse(start_response, status: str, message: str, extra=()):
    payload = _payload(message)
    start_response(status, _headers(payload, extra))
    return [payload]


def _declared(environ) -> tuple[int | None, bool]:
    """(Content-Length or None, chunked); raises ValueError on a malformed length."""
    text = environ.get("CONTENT_LENGTH")
    length = None
    if text not in (None, ""):
        length = int(text)
        if length < 0:
            raise ValueError(text)
    chunked = "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower()
    return length, chunked


class _Closing:
    """The application's response, closing the spool after it (WSGI's close())."""

    def __init__(self, response, spool):
        self.response = response
        self.spool = spool

    def __iter__(self):
        return iter(self.response)

    def close(self):
        try:
            close = getattr(self.response, "close", None)
            if close is not None:
                close()
        finally:
            self.spool.close()


class BodyGuard:
    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        try:
            length, chunked = _declared(environ)
        except ValueError:
            return _refuse(start_response, "400 Bad Request", "Invalid Content-Length header")
        if length is not None:
            if length == 0:
                return self.app(environ, start_response)
        elif not chunked:
            return self.app(environ, start_response)
        tempfiles.maybe_sweep()
        limit = body_limit()
        if length is not None and length > limit:
            return _refuse(start_response, "413 Request Entity Too Large",
                           f"Request body too large. Got {length}. Maximum is {limit}.")
        if not capacity.try_acquire("body"):
            return _refuse(start_response, "503 Service Unavailable",
                           "Server busy receiving other uploads, retry shortly", [("Retry-After", RETRY_AFTER)])
        spool = None
        try:
            spool = tempfiles.spooled(SPOOL_BYTES)
            transfer = Transfer(environ["wsgi.input"], spool, length=length,
                                framed=length is None and not environ.get("wsgi.input_terminated"),
                                limit=limit, on_exit=lambda: capacity.release("body"))
            transfer.start()
        except BaseException as exc:  # no helper thread: the token is still ours to give back
            capacity.release("body")
            if spool is not None:
                spool.close()
            if isinstance(exc, RuntimeError):  # "can't start new thread": out of threads is busy too
                return _refuse(start_response, "503 Service Unavailable", "Server busy, retry shortly",
                               [("Retry-After", RETRY_AFTER)])
            raise
        slow = _wait(transfer)
        if slow:
            return _timed_out(transfer, start_response, slow)
        error = transfer.error
        if error is not None:
            if isinstance(error, TooLarge):
                return _refuse(start_response, "413 Request Entity Too Large",
                               f"Request body too large. Maximum is {limit}.")
            if isinstance(error, Malformed):
                return _refuse(start_response, "400 Bad Request", f"Malformed chunked request body: {error}")
            if isinstance(error, (Truncated, OSError)):  # the client went away (or reset)
                return _refuse(start_response, "400 Bad Request", "Request body ended before its Content-Length")
            raise error
        spool.seek(0)
        environ["wsgi.input"] = spool
        environ["CONTENT_LENGTH"] = str(transfer.received)
        environ.pop("HTTP_TRANSFER_ENCODING", None)
        try:
            response = self.app(environ, start_response)
        except BaseException:
            spool.close()
            raise
        return _Closing(response, spool)


def _wait(transfer: Transfer) -> str | None:
    """Until the body is complete (None) or too slow (the reason)."""
    timeout = float(settings.DAM_BODY_TIMEOUT)
    min_rate = float(settings.DAM_BODY_MIN_RATE)
    while True:
        now = time.monotonic()
        idle = now - transfer.last
        if idle >= timeout:
            what = "the request body" if transfer.received == 0 else "more of the request body"
            return f"Request Timeout: no data of {what} for {timeout:g} s"
        elapsed = now - transfer.started
        # The grace period is the idle timeout; one piece may be in flight, unseen yet.
        if elapsed > timeout and transfer.received + PIECE < min_rate * elapsed:
            return (f"Request Timeout: request body too slow ({transfer.received / elapsed:.0f} bytes/s, "
                    f"minimum {min_rate:g})")
        if transfer.finished.wait(min(POLL, timeout - idle)):
            return None


def _timed_out(transfer: Transfer, start_response, message: str):
    transfer.cancel()
    payload = _payload(message)
    start_response("408 Request Timeout", _headers(payload))

    def body():
        yield payload[:-1]  # the JSON error whole; the final newline only if the read ended
        if transfer.finished.wait(LINGER):
            yield payload[-1:]
        # else: the response falls one byte short, and the server drops the connection, which
        # ends the helper's blocked read (module doc)

    return body()
