"""One request body, read on a helper thread into a spool, so the request thread can stop
waiting for it (assets.bodyguard decides when).

A blocked read of the server's input stream cannot be interrupted from Python: granian's
``wsgi.input.read(n)`` waits inside Rust (GIL released) until n bytes or the end of the
body have arrived, and a socket file waits in ``recv``.  So the reads happen here, on a
thread of their own, and the request thread only watches ``received`` and ``last`` (when
the latest piece arrived).  The thread ends when the body is complete, when it breaks a
rule (too large, malformed chunk framing, ended early), or at the first read that returns
after :meth:`Transfer.cancel`; ``on_exit`` runs then, whatever happened (the caller
releases its admission token there, so the bound holds for as long as the thread lives).

Three shapes of body:
- a Content-Length: exactly that many bytes, in sized reads (never one byte more: on a
  kept-alive socket the next request follows);
- chunked, de-chunked by the server (granian, gunicorn: ``wsgi.input_terminated``): read
  until the stream ends;
- chunked, raw framing (wsgiref, i.e. runserver): the framing is decoded here.

Pieces are at most ``PIECE`` bytes, read with ``read1`` where the stream has it (a
buffered stream then makes one read of the underlying server stream of that size): the
request thread sees progress at least every ``PIECE`` bytes.
"""

from __future__ import annotations

import threading
import time

PIECE = 16 * 1024


class TooLarge(Exception):
    pass


class Malformed(ValueError):
    pass


class Truncated(Exception):
    """The stream ended before the body did (the client went away)."""


class _Cancelled(Exception):
    pass


class Transfer:
    def __init__(self, stream, out, *, length: int | None, framed: bool, limit: int, on_exit):
        self.stream = stream
        self.out = out
        self.length = length  # bytes announced by Content-Length, or None (chunked)
        self.framed = framed  # chunked framing still on the stream (to decode here)
        self.limit = limit
        self.on_exit = on_exit
        self.started = self.last = time.monotonic()
        self.received = 0
        self.error: BaseException | None = None
        self.finished = threading.Event()
        self._lock = threading.Lock()
        self._cancelled = False
        self._done = False
        self._read = getattr(stream, "read1", None) or stream.read

    def start(self) -> None:
        threading.Thread(target=self._run, name="request-body", daemon=True).start()

    def cancel(self) -> None:
        """The request thread gives up: the helper stops at its next read, and the spool
        is closed by whichever of the two is last."""
        with self._lock:
            self._cancelled = True
            if self._done:
                self.out.close()

    def _run(self) -> None:
        try:
            if self.length is not None:
                self._sized(self.length)
            elif self.framed:
                self._chunked()
            else:
                self._to_end()
        except _Cancelled:
            pass
        except BaseException as exc:  # noqa: BLE001 - reported to the request thread
            self.error = exc
        finally:
            with self._lock:
                self._done = True
                if self._cancelled or self.error is not None:
                    self.out.close()
            self.finished.set()
            self.on_exit()

    def _piece(self, data: bytes) -> None:
        if self._cancelled:
            raise _Cancelled
        self.received += len(data)
        if self.received > self.limit:
            raise TooLarge
        self.out.write(data)
        self.last = time.monotonic()

    def _sized(self, remaining: int) -> None:
        while remaining:
            data = self._read(min(PIECE, remaining))
            if not data:
                raise Truncated
            self._piece(data)
            remaining -= len(data)

    def _to_end(self) -> None:
        while True:
            data = self._read(PIECE)
            if not data:
                return
            self._piece(data)

    def _chunked(self) -> None:
        stream = self.stream
        while True:
            line = stream.readline(1024)
            if not line:
                raise Malformed("truncated chunked body")
            try:
                size = int(line.split(b";", 1)[0].strip() or b"0", 16)
            except ValueError:
                raise Malformed(f"bad chunk size line {line[:40]!r}") from None
            if size < 0:
                raise Malformed("negative chunk size")
            if size == 0:
                while stream.readline(8192) not in (b"\r\n", b"\n", b""):  # trailers, then an empty line
                    pass
                return
            if self.received + size > self.limit:
                raise TooLarge
            while size:
                data = stream.read(min(size, PIECE))
                if not data:
                    raise Malformed("truncated chunked body")
                self._piece(data)
                size -= len(data)
            stream.readline(8)  # the CRLF closing each chunk
