"""assets.bodyguard, in-process: request bodies are received before the application runs,
within an admission bound, a size limit, an idle timeout and a minimum rate, on a helper
thread whose admission token is kept until it returns.  Streams here behave as a client's
body does through a server (pieces, stalls, an early end); tests/config/test_slow_bodies.py runs
the same through the production server."""

from __future__ import annotations

import hashlib
import io
import json
import os
import threading
import time
from wsgiref.util import setup_testing_defaults

import pytest

from assets import capacity
from assets.bodyguard import BodyGuard, body_limit
from config.wsgi import application
from tests.conftest import CLOUD, make_image, signed
from tests.http_bodies import chunk, multipart
from tests.wsgi import run_app as call


def probe(environ, start_response):
    """Reports the body it was handed."""
    stream = environ["wsgi.input"]
    length = int(environ.get("CONTENT_LENGTH") or 0)
    data = stream.read(length) if length else b""
    spool = getattr(stream, "_file", None)
    where = os.readlink(f"/proc/self/fd/{spool.fileno()}") if spool is not None and hasattr(spool, "fileno") \
        and not isinstance(spool, io.BytesIO) else "memory"
    body = json.dumps({"length": environ.get("CONTENT_LENGTH"), "md5": hashlib.md5(data).hexdigest(),
                       "te": environ.get("HTTP_TRANSFER_ENCODING"), "where": where,
                       "tokens": capacity.in_use("body")}).encode()
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]


def environ_for(stream, length: int | None, chunked: bool = False, terminated: bool = True) -> dict:
    environ = {}
    setup_testing_defaults(environ)
    environ.update({"REQUEST_METHOD": "POST", "PATH_INFO": f"/v1_1/{CLOUD}/image/upload", "wsgi.input": stream})
    environ.pop("CONTENT_LENGTH", None)
    if length is not None:
        environ["CONTENT_LENGTH"] = str(length)
    if chunked:
        environ["HTTP_TRANSFER_ENCODING"] = "chunked"
        environ["wsgi.input_terminated"] = terminated
    return environ


class Stalling:
    """A client that sends `head` and then nothing, until `end` is set (the connection closes)."""

    def __init__(self, head: bytes = b"--x\r\n"):
        self.head = head
        self.end = threading.Event()
        self.reads = 0

    def read(self, size=-1):
        self.reads += 1
        if self.head:
            out, self.head = self.head[:size], self.head[size:]
            return out
        self.end.wait(60)
        return b""


class Trickle:
    """`total` bytes in pieces of `piece` bytes, one every `every` seconds."""

    def __init__(self, total: int, piece: int, every: float):
        self.data = bytes(i * 7 % 251 for i in range(total))
        self.pos, self.piece, self.every = 0, piece, every

    def read(self, size=-1):
        time.sleep(self.every)
        out = self.data[self.pos:self.pos + min(size, self.piece)]
        self.pos += len(out)
        return out


@pytest.fixture
def quick(settings):
    settings.DAM_BODY_TIMEOUT = 1
    settings.DAM_BODY_MIN_RATE = 50_000
    settings.DAM_WEB_THREADS, settings.DAM_RESERVED_THREADS = 4, 2  # two body tokens
    yield settings
    deadline = time.monotonic() + 10
    while capacity.in_use("body") and time.monotonic() < deadline:
        time.sleep(0.05)
    assert capacity.in_use("body") == 0, "a body token was never released"


def test_a_body_is_buffered_whole_then_handed_over_with_its_length(quick):
    data = bytes(range(256)) * 8000  # 2 MB: past the memory spool, into the app's temp dir
    status, headers, body = call(BodyGuard(probe), environ_for(io.BytesIO(data), len(data)))
    report = json.loads(body)
    assert status.startswith("200") and report["length"] == str(len(data))
    assert report["md5"] == hashlib.md5(data).hexdigest()
    assert report["where"].startswith(str(quick.DAM_TEMP_DIR)), report["where"]
    assert report["tokens"] == 0  # the reading thread has returned: its token with it


@pytest.mark.parametrize("terminated", [True, False], ids=["server-dechunked", "raw-chunked"])
def test_a_chunked_body_gets_a_content_length(quick, terminated):
    data = b"abc" * 5000
    stream = io.BytesIO(data if terminated else chunk(data))
    status, _, body = call(BodyGuard(probe), environ_for(stream, None, chunked=True, terminated=terminated))
    report = json.loads(body)
    assert status.startswith("200") and report["length"] == str(len(data)) and report["te"] is None
    assert report["md5"] == hashlib.md5(data).hexdigest() and report["where"] == "memory"


def test_a_body_that_stops_gets_408_and_its_token_lasts_until_the_read_returns(quick):
    stream = Stalling()
    started = time.monotonic()
    status, headers, body = call(BodyGuard(probe), environ_for(stream, 100_000_000))
    assert status.startswith("408") and time.monotonic() - started >= 1
    assert headers["connection"] == "close"
    # The JSON error is whole; the declared length is one byte more than sent while the read
    # is still blocked, which makes granian drop the connection (test_slow_bodies.py).
    assert json.loads(body)["error"]["message"].startswith("Request Timeout")
    assert int(headers["content-length"]) == len(body) + 1
    assert capacity.in_use("body") == 1  # the helper is still blocked in read
    stream.end.set()  # the connection closes
    deadline = time.monotonic() + 5
    while capacity.in_use("body") and time.monotonic() < deadline:
        time.sleep(0.02)
    assert capacity.in_use("body") == 0


def test_a_refused_body_whose_read_ends_gets_a_complete_408(quick):
    stream = Stalling()
    threading.Timer(1.3, stream.end.set).start()  # the read ends within the linger
    status, headers, body = call(BodyGuard(probe), environ_for(stream, 5000))
    assert status.startswith("408") and int(headers["content-length"]) == len(body)


def test_a_body_below_the_minimum_rate_gets_408(quick):
    stream = Trickle(400_000, piece=2000, every=0.1)  # 20 kB/s, minimum 50 kB/s
    status, _, body = call(BodyGuard(probe), environ_for(stream, 400_000))
    assert status.startswith("408") and "too slow" in json.loads(body)["error"]["message"]
    assert stream.pos < 400_000


def test_a_slow_but_steady_body_passes(quick):
    stream = Trickle(300_000, piece=16_384, every=0.05)  # ~330 kB/s for about a second
    status, _, body = call(BodyGuard(probe), environ_for(stream, 300_000))
    assert status.startswith("200") and json.loads(body)["md5"] == hashlib.md5(stream.data).hexdigest()


def test_no_free_token_is_503_at_once_without_reading(quick):
    held = [Stalling() for _ in range(2)]
    threads = [threading.Thread(target=call, args=(BodyGuard(probe), environ_for(s, 1000))) for s in held]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 5
    while capacity.in_use("body") < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    third = Stalling()
    started = time.monotonic()
    status, headers, body = call(BodyGuard(probe), environ_for(third, 1000))
    assert status.startswith("503") and time.monotonic() - started < 0.5
    assert headers["retry-after"] and headers["connection"] == "close" and third.reads == 0
    assert json.loads(body)["error"]["message"]
    for stream in held:
        stream.end.set()
    for thread in threads:
        thread.join(10)


def test_too_large_is_413_before_reading_or_while_reading(quick):
    stream = Stalling()
    status, headers, body = call(BodyGuard(probe), environ_for(stream, body_limit() + 1))
    assert status.startswith("413") and stream.reads == 0 and headers["connection"] == "close"
    quick.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000  # the limit follows the upload limit
    big = io.BytesIO(b"x" * (body_limit() + 100))
    status, _, body = call(BodyGuard(probe), environ_for(big, None, chunked=True))
    assert status.startswith("413") and json.loads(body)["error"]["message"].startswith("Request body too large")


def test_a_body_ending_early_is_400(quick):
    status, _, body = call(BodyGuard(probe), environ_for(io.BytesIO(b"abc"), 10))
    assert status.startswith("400") and "ended" in json.loads(body)["error"]["message"]
    status, _, _ = call(BodyGuard(probe), environ_for(io.BytesIO(b"abc"), None) | {"CONTENT_LENGTH": "-1"})
    assert status.startswith("400")


def test_requests_without_a_body_pass_straight_through(quick):
    stream = Stalling()
    for length in (None, 0):
        status, _, body = call(BodyGuard(probe), environ_for(stream, length))
        assert status.startswith("200") and json.loads(body)["tokens"] == 0
    assert stream.reads == 0


@pytest.mark.django_db(transaction=True)
def test_an_upload_through_the_wsgi_stack(api_key):
    body, ctype = multipart(signed({"public_id": "guarded/upload"}, api_key), make_image(90, 60))
    environ = environ_for(io.BytesIO(body), len(body))
    environ.update({"CONTENT_TYPE": ctype, "HTTP_HOST": "testserver"})
    status, _, payload = call(application, environ)
    assert status.startswith("200"), payload
    assert (json.loads(payload)["public_id"], json.loads(payload)["width"]) == ("guarded/upload", 90)


@pytest.mark.django_db(transaction=True)
def test_uploads_through_runserver_s_server(api_key):
    """runserver's server classes (wsgiref, a socket file under Django's LimitedStream)."""
    import http.client

    from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler

    class Quiet(WSGIRequestHandler):
        def log_message(self, *args):
            pass

    server = ThreadedWSGIServer(("127.0.0.1", 0), Quiet, allow_reuse_address=False)
    server.set_app(application)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        for public_id, size in (("runserver/small", (40, 30)), ("runserver/large", (900, 700))):
            body, ctype = multipart(signed({"public_id": public_id}, api_key), make_image(*size, "png"))
            conn = http.client.HTTPConnection("127.0.0.1", server.server_address[1], timeout=60)
            conn.request("POST", f"/v1_1/{CLOUD}/image/upload", body=body, headers={"Content-Type": ctype})
            response = conn.getresponse()
            payload = json.loads(response.read())
            conn.close()
            assert response.status == 200, payload
            assert (payload["public_id"], payload["width"], payload["height"]) == (public_id, *size)
    finally:
        server.shutdown()
        server.server_close()
    assert capacity.in_use("body") == 0
