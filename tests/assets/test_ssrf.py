"""SSRF guard of remote uploads (assets.netguard, assets.outbound, assets.remote).

No packet leaves the loopback: refusals are checked on literal addresses, names are
resolved by a stub, and every socket assets.outbound opens connects to the loopback
or fails the test (tests.net_fixtures).
"""

from __future__ import annotations

import ipaddress
import socket
import threading
import time
import types
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from assets import netguard, outbound, remote
from core.errors import BadRequest
from tests.conftest import make_image

from tests.net_fixtures import loopback_only, redirect_to, resolver, serve, server, trickle  # noqa: F401 (fixtures)
from tests.uploads import assert_nothing_left

pytestmark = pytest.mark.usefixtures("loopback_only")

REFUSED = [
    "127.0.0.1", "10.1.2.3", "172.16.0.1", "192.168.0.10", "0.0.0.0", "255.255.255.255", "240.0.0.1",
    "100.64.0.1", "100.127.255.254",  # carrier-grade NAT: is_private says False
    "100.100.100.200", "169.254.169.254", "169.254.170.2", "168.63.129.16", "192.0.0.192",  # metadata
    "192.0.0.8", "192.88.99.1", "198.18.0.1", "203.0.113.7", "224.0.0.1", "239.1.2.3",
    "::", "::1", "fe80::1", "fc00::1", "fd00:ec2::254", "ff02::1", "ff0e::1", "2001:db8::1",
    "::ffff:127.0.0.1", "::ffff:a9fe:a9fe", "::127.0.0.1", "::10.0.0.1",  # mapped / compatible IPv4
    "2002:7f00:1::1", "2002:a9fe:a9fe::", "2002:a00:1::5", "2002:6440:1::",  # 6to4 of 127/169.254/10/100.64
    "64:ff9b::7f00:1", "64:ff9b::a9fe:a9fe", "64:ff9b:1::808:808",  # NAT64
    "2001:0:4136:e378:8000:63bf:3fff:fdd2",  # Teredo
]
ALLOWED = ["8.8.8.8", "1.1.1.1", "2606:4700:4700::1111", "::ffff:8.8.8.8", "2002:808:808::1", "64:ff9b::808:808"]


# --- the policy on literal addresses ----------------------------------------------------------


@pytest.mark.parametrize("address", REFUSED)
def test_non_global_addresses_are_refused(address):
    assert netguard.refusal(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", ALLOWED)
def test_global_addresses_pass(address):
    assert netguard.refusal(ipaddress.ip_address(address)) is None


@pytest.mark.parametrize("address,allowed", [
    ("127.0.0.1", True), ("10.0.0.1", True), ("::1", True), ("fd12:3456::1", True), ("100.64.0.1", True),
    ("::ffff:192.168.1.1", True), ("169.254.169.254", False), ("fd00:ec2::254", False),
    ("100.100.100.200", False), ("168.63.129.16", False), ("::ffff:169.254.169.254", False),
    ("2002:a9fe:a9fe::", False), ("64:ff9b::a9fe:a9fe", False), ("0.0.0.0", False), ("224.0.0.1", False),
])
def test_allowing_private_addresses_never_allows_metadata(address, allowed):
    assert (netguard.refusal(ipaddress.ip_address(address), allow_private=True) is None) is allowed


def test_embedded_ipv4_is_what_is_judged():
    assert str(netguard.embedded_ipv4(ipaddress.ip_address("2002:a9fe:a9fe::1"))) == "169.254.169.254"
    assert str(netguard.embedded_ipv4(ipaddress.ip_address("64:ff9b::a00:1"))) == "10.0.0.1"
    assert str(netguard.embedded_ipv4(ipaddress.ip_address("::ffff:7f00:1"))) == "127.0.0.1"
    assert netguard.embedded_ipv4(ipaddress.ip_address("::1")) is None
    assert "embedded in 2002:a9fe:a9fe::1" in netguard.refusal(ipaddress.ip_address("2002:a9fe:a9fe::1"))


# --- names: every address checked, before anything connects -------------------------------------


@pytest.mark.parametrize("addresses", [
    ["100.64.0.1"], ["8.8.8.8", "10.0.0.7"], ["2002:a9fe:a9fe::"], ["1.1.1.1", "::ffff:127.0.0.1"],
])
def test_a_name_resolving_to_any_forbidden_address_is_refused_before_connecting(
        upload, resolver, loopback_only, addresses):
    resolver.names["images.example"] = addresses
    response = upload("http://images.example/cat.jpg")
    assert response.status_code == 400, response.content
    assert "refusing to connect" in response.json()["error"]["message"]
    assert resolver.calls["images.example"] == 1 and loopback_only == []
    assert_nothing_left()


def test_the_checked_address_is_the_one_connected_to(settings, resolver, server):
    """DNS rebinding: the name is resolved once; a second answer would be the metadata service."""
    settings.DAM_ALLOW_PRIVATE_REMOTE_URLS = True
    server.routes["/pic.png"] = serve(make_image(21, 13, fmt="png"))
    resolver.names["cdn.example"] = ["127.0.0.1"]
    resolver.later["cdn.example"] = ["169.254.169.254"]
    out, size, name = remote.fetch_to_tempfile(f"http://cdn.example:{server.port}/pic.png")
    with out:
        assert size == len(out.read()) > 0 and name == "pic.png"
    assert resolver.calls["cdn.example"] == 1
    assert server.seen == [{"path": "/pic.png", "host": f"cdn.example:{server.port}"}]


# --- redirects -----------------------------------------------------------------------------


@pytest.mark.parametrize("location", [
    "http://169.254.169.254/latest/meta-data/", "http://[fd00:ec2::254]/latest/", "http://100.100.100.200/",
    "http://[::ffff:169.254.169.254]/", "http://[2002:a9fe:a9fe::]/", "http://metadata.internal/computeMetadata/",
    "ftp://127.0.0.1/x.png", "file:///etc/passwd",
])
def test_a_redirect_to_a_forbidden_address_is_refused_before_connecting(
        upload, settings, resolver, server, loopback_only, location):
    settings.DAM_ALLOW_PRIVATE_REMOTE_URLS = True  # the first hop is on the loopback
    resolver.names["metadata.internal"] = ["169.254.169.254"]
    server.routes["/start.png"] = redirect_to(location)
    response = upload(f"{server.url}/start.png")
    assert response.status_code == 400, response.content
    message = response.json()["error"]["message"]
    assert "metadata" in message or "Invalid remote URL" in message
    assert [s["path"] for s in server.seen] == ["/start.png"]
    assert loopback_only == [("127.0.0.1", server.port)]
    assert_nothing_left()


def test_redirects_are_followed_within_a_bound(upload, settings, server):
    settings.DAM_ALLOW_PRIVATE_REMOTE_URLS = True
    server.routes["/a"] = redirect_to("/b", 301)
    server.routes["/b"] = redirect_to(f"{server.url}/final.png", 307)
    server.routes["/final.png"] = serve(make_image(33, 22, fmt="png"))
    response = upload(f"{server.url}/a")
    assert response.status_code == 200, response.content
    assert (response.json()["width"], response.json()["original_filename"]) == (33, "final")

    server.routes["/loop"] = redirect_to("/loop")
    server.seen.clear()
    looping = upload(f"{server.url}/loop")
    assert looping.status_code == 400 and "more than 5 redirects" in looping.json()["error"]["message"]
    assert len(server.seen) == outbound.MAX_REDIRECTS + 1


# --- the total deadline ------------------------------------------------------------------


@pytest.mark.parametrize("head", [
    b"HTTP/1.1 200 OK\r\nContent-Type: image/png\r\nContent-Length: 100000\r\n\r\n",  # the body trickles
    b"HTTP/1.1 200 OK\r\nX-Slow: ",  # the headers trickle
])
def test_a_trickling_download_is_cut_at_the_total_deadline(upload, settings, server, head):
    settings.DAM_ALLOW_PRIVATE_REMOTE_URLS = True
    settings.DAM_REMOTE_FETCH_TIMEOUT = 2
    server.routes["/slow.png"] = trickle(head)
    started = time.monotonic()
    response = upload(f"{server.url}/slow.png")
    elapsed = time.monotonic() - started
    assert response.status_code == 400, response.content
    assert "timed out after 2 s" in response.json()["error"]["message"]
    assert elapsed < 6, elapsed  # 40 bytes at 4 per second would take 10 s; per-read timeouts never fire
    assert_nothing_left()


def test_outbound_errors_are_not_refusals(settings, server):
    """A port nobody listens on is a failure to retry, not a policy refusal."""
    settings.DAM_ALLOW_PRIVATE_REMOTE_URLS = True
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()
    with pytest.raises(outbound.OutboundError):
        with outbound.exchange(f"http://127.0.0.1:{port}/", outbound.Deadline(2)):
            pass
    with pytest.raises(BadRequest, match="Error in loading"):
        remote.fetch_to_tempfile(f"http://127.0.0.1:{port}/x.png")


# --- TLS: pinned address, original name verified ------------------------------------------------


@pytest.fixture
def tls_server(server, tmp_path):
    """`server` again, over TLS with a self-signed certificate for cdn.example; records SNI."""
    import ssl
    import subprocess

    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
                    "/CN=cdn.example", "-addext", "subjectAltName=DNS:cdn.example", "-keyout", str(key),
                    "-out", str(cert)], check=True, capture_output=True)
    names: list = []
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    context.sni_callback = lambda sock, name, ctx: names.append(name)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), type("H", (BaseHTTPRequestHandler,), {
        "log_message": lambda self, *a: None,
        "do_GET": lambda self: (server.seen.append({"path": self.path, "host": self.headers.get("Host")}),
                                server.routes[self.path](self)),
    }))
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    yield types.SimpleNamespace(port=httpd.server_address[1], cert=str(cert), sni=names, seen=server.seen,
                                routes=server.routes)
    httpd.shutdown()
    httpd.server_close()


def test_tls_goes_to_the_checked_address_and_verifies_the_original_name(settings, resolver, tls_server,
                                                                        monkeypatch, loopback_only):
    settings.DAM_ALLOW_PRIVATE_REMOTE_URLS = True
    resolver.names["cdn.example"] = ["127.0.0.1"]
    resolver.names["other.example"] = ["127.0.0.1"]
    tls_server.routes["/pic.png"] = serve(make_image(12, 8, fmt="png"))
    with pytest.raises(BadRequest, match="CERTIFICATE_VERIFY_FAILED"):  # certifi's CAs do not know it
        remote.fetch_to_tempfile(f"https://cdn.example:{tls_server.port}/pic.png")

    monkeypatch.setattr(outbound, "certifi", types.SimpleNamespace(where=lambda: tls_server.cert))
    out, size, name = remote.fetch_to_tempfile(f"https://cdn.example:{tls_server.port}/pic.png")
    out.close()
    assert size > 0 and "cdn.example" in tls_server.sni
    assert tls_server.seen[-1] == {"path": "/pic.png", "host": f"cdn.example:{tls_server.port}"}
    with pytest.raises(BadRequest, match="Hostname mismatch|doesn't match"):
        remote.fetch_to_tempfile(f"https://other.example:{tls_server.port}/pic.png")
    assert set(loopback_only) == {("127.0.0.1", tls_server.port)}
