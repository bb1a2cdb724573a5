"""Outbound HTTP on a client's behalf (remote uploads, notifications): pinned and bounded.

- Pinned: each hop's host is resolved once and every address checked by
  ``assets.netguard``; the socket connects to a checked address and nothing resolves
  the name again (DNS rebinding gets no second answer).  The request still names the
  original host (``Host`` header) and TLS verifies the original name (SNI and
  certificate, certifi's CAs).
- Bounded: one ``Deadline`` covers the whole exchange, redirects and the body included.
  Socket timeouts only bound each read, so a server sending a byte every few seconds
  (in the headers or the body) would hold the thread indefinitely; a watchdog timer
  shuts the socket down when the deadline passes, which wakes any blocked read.
- Redirects are followed here, never by a library: at most ``MAX_REDIRECTS`` hops, each
  one checked like the first before anything connects to it.  A GET follows
  301/302/303/307/308; a POST only 307/308 (which repeat the POST; the others would
  turn it into a bodiless GET, useless for a notification).
"""

from __future__ import annotations

import http.client
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urljoin, urlsplit

import certifi
from requests.utils import requote_uri

from . import netguard

MAX_REDIRECTS = 5
CONNECT_TIMEOUT = 5.0
REDIRECTS = {"GET": (301, 302, 303, 307, 308), "POST": (307, 308)}
DEFAULT_PORTS = {"http": 80, "https": 443}


class OutboundError(Exception):
    """The exchange failed (network, TLS, protocol, deadline, redirect loop): worth a retry."""


class Deadline:
    def __init__(self, seconds: float):
        self.seconds = seconds
        self.end = time.monotonic() + seconds

    def left(self) -> float:
        """Seconds left; raises OutboundError once there are none."""
        remaining = self.end - time.monotonic()
        if remaining <= 0:
            raise OutboundError(self.message())
        return remaining

    def passed(self) -> bool:
        return time.monotonic() >= self.end

    def message(self) -> str:
        return f"timed out after {self.seconds:g} s"


class _Watchdog:
    """Shuts a connection down when its deadline passes.

    It holds a duplicate of the socket's descriptor: shutting that down ends the
    connection under the (possibly TLS-wrapped) socket another thread is blocked in,
    and closing it later never closes a descriptor number someone else reuses.
    """

    def __init__(self, sock: socket.socket, seconds: float):
        self._lock = threading.Lock()
        self._handle: socket.socket | None = sock.dup()
        self._timer = threading.Timer(seconds, self._fire)
        self._timer.daemon = True
        self._timer.start()

    def _fire(self) -> None:
        with self._lock:
            if self._handle is not None:
                try:
                    self._handle.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def stop(self) -> None:
        self._timer.cancel()
        with self._lock:
            if self._handle is not None:
                self._handle.close()
                self._handle = None


class Response:
    """The final response of an exchange: ``status``, ``reason``, ``headers``, ``url``, ``read``."""

    def __init__(self, url: str, raw: http.client.HTTPResponse, deadline: Deadline):
        self.url, self._raw, self._deadline = url, raw, deadline
        self.status, self.reason, self.headers = raw.status, raw.reason, raw.headers

    def read(self, size: int = 64 * 1024) -> bytes:
        """Up to `size` bytes as soon as any arrive; b"" at the end."""
        try:
            block = self._raw.read1(size)
        except (OSError, http.client.HTTPException) as exc:
            raise _failure(exc, self._deadline) from None
        # http.client's read1 takes a connection closed early (by the peer, or by the
        # watchdog) for the end of the body: a declared length not reached says otherwise
        if not block and (self._deadline.passed() or self._raw.length):
            raise _failure(http.client.IncompleteRead(b"", self._raw.length), self._deadline)
        return block


def _failure(exc: Exception, deadline: Deadline) -> OutboundError:
    if deadline.passed():  # the watchdog cut the connection: say so, not "connection reset"
        return OutboundError(deadline.message())
    detail = str(exc) or exc.__class__.__name__
    return OutboundError(detail if isinstance(exc, OutboundError) else f"{exc.__class__.__name__}: {detail}")


def _target(url: str) -> tuple[str, str, int, str]:
    """(scheme, ASCII host, port, request target) of an http(s) URL; Refused otherwise."""
    try:
        parts = urlsplit(url)
        port = parts.port
        host = (parts.hostname or "").encode("idna").decode("ascii")
    except (ValueError, UnicodeError):
        raise netguard.Refused(f"Invalid remote URL {url!r}") from None
    if parts.scheme not in DEFAULT_PORTS or not host:
        raise netguard.Refused(f"Invalid remote URL {url!r}")
    target = requote_uri((parts.path or "/") + (f"?{parts.query}" if parts.query else ""))
    return parts.scheme, host, port or DEFAULT_PORTS[parts.scheme], target


def _connect(scheme: str, host: str, port: int, deadline: Deadline):
    """(HTTP connection on a checked address, its watchdog)."""
    try:
        addresses = netguard.resolve(host, port)
    except OSError as exc:
        raise OutboundError(f"cannot resolve host {host} ({exc.__class__.__name__})") from None
    sock, failure = None, None
    for family, sockaddr in addresses:  # every one was checked; try them in order as a browser does
        timeout = min(CONNECT_TIMEOUT, deadline.left())
        candidate = socket.socket(family, socket.SOCK_STREAM)
        try:
            candidate.settimeout(timeout)
            candidate.connect(sockaddr)
            sock = candidate
            break
        except OSError as exc:
            candidate.close()
            failure = exc
    if sock is None:
        raise _failure(failure or OSError("no address"), deadline)
    watchdog = _Watchdog(sock, deadline.left())
    try:
        sock.settimeout(deadline.left())  # no single operation outlives the deadline either
        if scheme == "https":
            context = ssl.create_default_context(cafile=certifi.where())
            sock = context.wrap_socket(sock, server_hostname=host)
            conn = http.client.HTTPSConnection(host, port, context=context)
        else:
            conn = http.client.HTTPConnection(host, port)
    except (OSError, OutboundError) as exc:
        watchdog.stop()
        sock.close()
        raise _failure(exc, deadline) from None
    conn.sock = sock  # already connected: http.client never resolves or connects by itself here
    conn.auto_open = 0
    return conn, watchdog


@contextmanager
def exchange(url: str, deadline: Deadline, *, method: str = "GET", body: bytes | None = None,
             headers: dict | None = None, max_redirects: int = MAX_REDIRECTS) -> Iterator[Response]:
    """Send one request, following redirects (each hop checked); yields the final Response.

    Raises netguard.Refused for a forbidden or invalid URL at any hop, OutboundError for
    everything that went wrong on the way (deadline included).
    """
    for _ in range(max_redirects + 1):
        scheme, host, port, target = _target(url)
        conn, watchdog = _connect(scheme, host, port, deadline)
        try:
            try:
                conn.request(method, target, body=body, headers=headers or {})
                raw = conn.getresponse()
            except (OSError, http.client.HTTPException) as exc:
                raise _failure(exc, deadline) from None
            if deadline.passed():  # http.client takes headers cut short by the watchdog for complete ones
                raise OutboundError(deadline.message())
            location = raw.getheader("Location")
            if raw.status in REDIRECTS.get(method, ()) and location:
                url = urljoin(url, location.strip())
                continue
            yield Response(url, raw, deadline)
            return
        finally:
            watchdog.stop()
            conn.close()
    raise OutboundError(f"more than {max_redirects} redirects")
