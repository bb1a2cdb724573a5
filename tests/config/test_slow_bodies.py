"""Slow request bodies against the production web command (the Procfile's ``web:`` line,
granian with one worker of DAM_WEB_THREADS=8 threads): 400 connections that announce a
100 MB upload, send a few bytes and then nothing.  Cached hits and ``/login/`` keep
answering meanwhile, close to their quiet latency; the slow connections get 503 at once
(no body token free) or 408 once DAM_BODY_TIMEOUT has passed, and each is closed by the
server, so no thread stays blocked on them.  Afterwards every body token is free again (six
new slow bodies are admitted, a seventh refused) and an upload works.

Only 127.0.0.1 is contacted; every loop is bounded in count and time."""

from __future__ import annotations

import http.client
import json
import re
import selectors
import socket
import statistics
import threading
import time

import pytest

from tests.conftest import make_image
from tests.http_bodies import multipart
from tests.production_server import CLOUD, HOST, request, running_server, signed_fields

pytestmark = pytest.mark.django_db(transaction=True)  # only to learn which database engine the session runs
BODY_TIMEOUT = 5  # DAM_BODY_TIMEOUT for the server: the behaviour is the default's, the test shorter
SLOW = 400


@pytest.fixture
def guarded(tmp_path):
    with running_server(tmp_path, DAM_BODY_TIMEOUT=str(BODY_TIMEOUT), DAM_ACCESS_LOG="0") as server:
        yield server


class SlowClients:
    """`count` connections that each send an upload's headers (Content-Length 100 MB) and
    five bytes of body, then nothing; a thread collects what the server answers on each and
    when it closes them, until `deadline`."""

    def __init__(self, port: int, count: int):
        head = (f"POST /v1_1/{CLOUD}/image/upload HTTP/1.1\r\nHost: {HOST}:{port}\r\n"
                "Content-Type: multipart/form-data; boundary=x\r\nContent-Length: 100000000\r\n\r\n--x\r\n").encode()
        self.selector = selectors.DefaultSelector()
        self.received: dict[int, bytes] = {}
        self.closed: dict[int, float] = {}
        self.sockets = []
        for index in range(count):
            sock = socket.create_connection((HOST, port), timeout=10)
            sock.sendall(head)
            sock.setblocking(False)
            self.sockets.append(sock)
            self.received[index] = b""
            self.selector.register(sock, selectors.EVENT_READ, index)
        self.started = time.monotonic()
        self.halt = threading.Event()
        self.thread = threading.Thread(target=self._collect, args=(self.started + BODY_TIMEOUT + 20,), daemon=True)
        self.thread.start()

    def _collect(self, deadline: float) -> None:
        while len(self.closed) < len(self.sockets) and time.monotonic() < deadline and not self.halt.is_set():
            for key, _ in self.selector.select(timeout=0.2):
                try:
                    data = key.fileobj.recv(65536)
                except BlockingIOError:
                    continue
                except ConnectionResetError:
                    data = b""
                if data:
                    self.received[key.data] += data
                else:
                    self.closed[key.data] = time.monotonic() - self.started
                    self.selector.unregister(key.fileobj)

    def status(self, index: int) -> int | None:
        match = re.match(rb"HTTP/1\.1 (\d{3}) ", self.received[index])
        return int(match.group(1)) if match else None

    def close(self, wait: bool = True) -> None:
        """Once the server has closed every connection (`wait`), or at once."""
        if not wait:
            self.halt.set()
        self.thread.join(BODY_TIMEOUT + 25)
        self.selector.close()
        for sock in self.sockets:
            sock.close()


def timed(conn_factory, path: str) -> tuple[float, int]:
    conn = conn_factory()
    started = time.perf_counter()
    conn.request("GET", path)
    response = conn.getresponse()
    response.read()
    return time.perf_counter() - started, response.status


def test_slow_bodies_leave_cached_hits_and_screens_answering(guarded):
    server = guarded
    conn = http.client.HTTPConnection(HOST, server.port, timeout=30)
    body, ctype = multipart(signed_fields(server, public_id="slow/pic"), make_image(320, 240, "jpg"))
    response, payload = request(conn, "POST", f"/v1_1/{CLOUD}/image/upload", body, {"Content-Type": ctype})
    assert response.status == 200, payload
    hit = f"/{CLOUD}/image/upload/c_fill,w_80,h_60/slow/pic.jpg"
    assert request(conn, "GET", hit)[0].status == 200  # first render: later requests are cached hits

    kept = http.client.HTTPConnection(HOST, server.port, timeout=30)

    def measure(rounds: int) -> tuple[list[float], list[float], set]:
        hits, logins, statuses = [], [], set()
        for _ in range(rounds):
            seconds, status = timed(lambda: kept, hit)
            hits.append(seconds)
            statuses.add(status)
            seconds, status = timed(lambda: http.client.HTTPConnection(HOST, server.port, timeout=30), "/login/")
            logins.append(seconds)
            statuses.add(status)
        return hits, logins, statuses

    quiet_hits, quiet_logins, statuses = measure(20)
    assert statuses == {200}

    slow = SlowClients(server.port, SLOW)
    try:
        time.sleep(0.5)  # every slow request has reached the server
        busy_hits, busy_logins, statuses = [], [], set()
        while time.monotonic() - slow.started < BODY_TIMEOUT - 1:  # while the slow bodies still wait
            hits, logins, seen = measure(1)
            busy_hits += hits
            busy_logins += logins
            statuses |= seen
        assert statuses == {200}
        assert len(busy_hits) >= 5
        print(f"\ncached hit ms: quiet median {statistics.median(quiet_hits) * 1000:.1f}, "
              f"max {max(quiet_hits) * 1000:.1f}; with {SLOW} slow bodies median "
              f"{statistics.median(busy_hits) * 1000:.1f}, max {max(busy_hits) * 1000:.1f} ({len(busy_hits)})")
        print(f"/login/ ms: quiet median {statistics.median(quiet_logins) * 1000:.1f}; with slow bodies median "
              f"{statistics.median(busy_logins) * 1000:.1f}, max {max(busy_logins) * 1000:.1f}")
        # Before the body guard every one of these waited until the slow sockets closed.
        for quiet, busy in ((quiet_hits, busy_hits), (quiet_logins, busy_logins)):
            assert statistics.median(busy) < statistics.median(quiet) + 0.05
            assert max(busy) < 2.0
    finally:
        slow.close()

    statuses = [slow.status(index) for index in range(SLOW)]
    assert set(statuses) <= {408, 503}, [s for s in statuses if s not in (408, 503)][:5]
    assert 1 <= statuses.count(408) <= 6  # DAM_WEB_THREADS - DAM_RESERVED_THREADS body tokens
    assert len(slow.closed) == SLOW, "the server left some slow connections open"
    for index in range(SLOW):
        if statuses[index] == 408:  # after the timeout, a JSON error, then the connection closed
            assert BODY_TIMEOUT - 0.5 <= slow.closed[index] <= BODY_TIMEOUT + 5
            text = slow.received[index].split(b"\r\n\r\n", 1)[1]
            assert json.loads(text)["error"]["message"].startswith("Request Timeout")
        else:
            assert slow.closed[index] < BODY_TIMEOUT  # refused at once

    # every body token came back: six new slow bodies are all admitted, a seventh is refused
    again = SlowClients(server.port, 7)
    try:
        time.sleep(1.5)
        assert [again.status(i) for i in range(7)].count(503) == 1
        assert [again.status(i) for i in range(7)].count(None) == 6  # still waiting for their bodies
    finally:
        again.close(wait=False)  # they go away: their reads end, their tokens return
    body, ctype = multipart(signed_fields(server, public_id="slow/after"), make_image(64, 48, "png"), "a.png")
    deadline = time.monotonic() + 10
    while True:
        response, payload = request(http.client.HTTPConnection(HOST, server.port, timeout=60), "POST",
                                    f"/v1_1/{CLOUD}/image/upload", body, {"Content-Type": ctype})
        if response.status != 503 or time.monotonic() > deadline:  # 503 only while the closes propagate
            break
        time.sleep(0.2)
    assert response.status == 200, payload


def _send_slowly(port: int, body: bytes, ctype: str, piece: int, every: float, length: int | None = None):
    """POST `body` in pieces of `piece` bytes every `every` seconds (stopping when the server
    answers or closes); returns (status, body of the answer, seconds)."""
    sock = socket.create_connection((HOST, port), timeout=60)
    sock.sendall((f"POST /v1_1/{CLOUD}/image/upload HTTP/1.1\r\nHost: {HOST}\r\nContent-Type: {ctype}\r\n"
                  f"Content-Length: {length or len(body)}\r\nConnection: close\r\n\r\n").encode())
    started = time.monotonic()
    selector = selectors.DefaultSelector()
    selector.register(sock, selectors.EVENT_READ)
    answer = b""
    try:
        for offset in range(0, len(body), piece):
            if selector.select(timeout=every):  # answered (or closed) before the body was all sent
                break
            sock.sendall(body[offset:offset + piece])
        sock.settimeout(30)
        while True:
            data = sock.recv(65536)
            if not data:
                break
            answer += data
    except OSError:
        pass
    finally:
        selector.close()
        sock.close()
    head, _, payload = answer.partition(b"\r\n\r\n")
    status = int(head.split()[1]) if head.startswith(b"HTTP/1.1 ") else None
    return status, payload, time.monotonic() - started


def test_a_slow_link_passes_and_a_dribble_is_cut_off(guarded):
    server = guarded
    image = make_image(400, 300, "png", seed=3)
    body, ctype = multipart(signed_fields(server, public_id="slow/link"), image, "link.png")
    assert 150_000 < len(body) < 600_000
    results = {}
    link = threading.Thread(target=lambda: results.update(
        link=_send_slowly(server.port, body, ctype, piece=8192, every=0.2)))  # ~40 kB/s, for several seconds
    dribble = threading.Thread(target=lambda: results.update(
        dribble=_send_slowly(server.port, b"x" * 60_000, "multipart/form-data; boundary=x", piece=1000,
                             every=0.25, length=1_000_000)))  # 4 kB/s, below DAM_BODY_MIN_RATE (8 kB/s)
    link.start()
    dribble.start()
    link.join(120)
    dribble.join(120)
    status, payload, seconds = results["link"]
    assert status == 200 and seconds > BODY_TIMEOUT, (status, payload[:300], seconds)  # past the grace period
    assert json.loads(payload)["width"] == 400
    status, payload, seconds = results["dribble"]
    assert status == 408 and "too slow" in json.loads(payload)["error"]["message"], (status, payload[:300])
    assert seconds < BODY_TIMEOUT + 5
