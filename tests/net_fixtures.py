"""Network fixtures for the SSRF tests: no packet leaves the loopback.

``loopback_only`` makes every socket assets.outbound opens a `LoopbackOnly`, which
fails the test instead of connecting anywhere else; ``resolver`` stubs name
resolution in assets.netguard; ``server`` is an HTTP server on 127.0.0.1 whose routes
a test scripts (``serve``, ``redirect_to``, or any handler function).
"""

from __future__ import annotations

import ipaddress
import socket
import threading
import time
import types
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from assets import netguard, outbound


class LoopbackOnly(socket.socket):
    """What assets.outbound gets as socket.socket here: connects to the loopback or fails the test."""

    connected: list = []

    def connect(self, address):
        assert ipaddress.ip_address(address[0]).is_loopback, f"test tried to connect to {address}"
        LoopbackOnly.connected.append(address)
        return super().connect(address)


@pytest.fixture
def loopback_only(monkeypatch):
    """Every socket assets.outbound opens connects to the loopback or fails the test; yields the
    addresses connected to."""
    fake = types.SimpleNamespace(**{name: getattr(socket, name) for name in dir(socket) if name.isupper()})
    fake.socket = LoopbackOnly
    monkeypatch.setattr(outbound, "socket", fake)
    LoopbackOnly.connected = []
    return LoopbackOnly.connected


@pytest.fixture
def resolver(monkeypatch):
    """Stub name resolution: `names[host] = [address, ...]`, `later[host]` from the second
    lookup on (a rebinding name server); counts lookups per host."""
    names: dict[str, list[str]] = {}
    later: dict[str, list[str]] = {}
    calls: dict[str, int] = {}

    def getaddrinfo(host, port, family=0, type=0, proto=0, flags=0):
        calls[host] = calls.get(host, 0) + 1
        if host not in names:
            return socket.getaddrinfo(host, port, family, type, proto, flags)  # literals only in these tests
        out = []
        for address in later.get(host, names[host]) if calls[host] > 1 else names[host]:
            v6 = ":" in address
            out.append((socket.AF_INET6 if v6 else socket.AF_INET, socket.SOCK_STREAM, 6, "",
                        (address, port, 0, 0) if v6 else (address, port)))
        return out

    monkeypatch.setattr(netguard, "getaddrinfo", getaddrinfo)
    return types.SimpleNamespace(names=names, later=later, calls=calls)


@pytest.fixture
def server():
    """An HTTP server on 127.0.0.1; `routes[path] = handler(request_handler)` answers GETs
    (recorded in `seen`) and POSTs (recorded with their body and headers in `posts`)."""
    routes: dict = {}
    seen: list[dict] = []
    posts: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            seen.append({"path": self.path, "host": self.headers.get("Host")})
            self._answer()

        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            posts.append({"path": self.path, "host": self.headers.get("Host"), "body": body,
                          "headers": dict(self.headers)})
            self._answer()

        def _answer(self):
            route = routes.get(self.path.split("?")[0])
            if route is None:
                self.send_error(404)
                return
            try:
                route(self)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up, as it should

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    port = httpd.server_address[1]
    yield types.SimpleNamespace(routes=routes, seen=seen, posts=posts, port=port, url=f"http://127.0.0.1:{port}")
    httpd.shutdown()
    httpd.server_close()


def redirect_to(location: str, status: int = 302):
    def route(handler):
        handler.send_response(status)
        handler.send_header("Location", location)
        handler.send_header("Content-Length", "0")
        handler.end_headers()
    return route


def serve(body: bytes, content_type: str = "image/png"):
    def route(handler):
        handler.send_response(200)
        handler.send_header("Content-Type", content_type)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)
    return route


def trickle(head: bytes, limit: int = 40):
    """Sends `head` then one byte every 0.25 s: each read is quick, the whole never ends."""
    def route(handler):
        handler.wfile.write(head)
        handler.wfile.flush()
        for _ in range(limit):
            time.sleep(0.25)
            handler.wfile.write(b"x")
            handler.wfile.flush()
    return route
