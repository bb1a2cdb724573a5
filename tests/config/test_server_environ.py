"""config.server: what granian hands the application, cleaned (process environment out of
the environ; a request body whose every read method works), checked on a fake stream that
behaves as granian 2.8's does and through the real granian binary the Procfile runs."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from config.server import GranianEnviron, sized_input
from core.process import at_exit

ROOT = Path(__file__).resolve().parents[2]
HOST = "127.0.0.1"


class GranianLikeStream:
    """Sized reads are right; anything else after a first read loses the buffered rest
    (what granian 2.8.7 does), so a wrapper that asks for more fails these tests."""

    def __init__(self, data: bytes, piece: int = 7):
        self.data, self.pos, self.piece, self.touched = data, 0, piece, False

    def read(self, size=-1):
        if size is None or size < 0:
            if self.touched:
                raise AssertionError("unsized read after a read")
            size = len(self.data)
        self.touched = True
        size = min(size, self.piece)  # short reads, as a socket gives them
        out = self.data[self.pos:self.pos + size]
        self.pos += len(out)
        return out

    def readline(self, *args):
        raise AssertionError("readline on the server's stream")


def test_sized_input_reads_every_way_with_sized_reads_only():
    data = b"first line\nsecond line\n" + bytes(range(256)) * 40
    stream = sized_input(GranianLikeStream(data))
    assert stream.read(5) == b"first"
    assert stream.readline() == b" line\n"
    assert stream.readline(4) == b"seco"
    assert stream.read() == data[15:]
    assert stream.read() == b""
    assert b"".join(sized_input(GranianLikeStream(data))) == data  # iteration by lines
    assert sized_input(GranianLikeStream(b"")).read() == b""


def _app(environ, start_response):
    start_response("200 OK", [])
    return [environ]


def test_process_environment_is_removed_and_the_request_kept():
    process = {"DATABASE_URL": "postgres://u:secret@db/x", "HOME": "/root", "PATH_INFO": "/not-the-request",
               "HTTP_PROXY": "http://proxy:3128"}
    wrapper = GranianEnviron(_app, process)
    environ = {**process, "SERVER_SOFTWARE": "Granian", "REQUEST_METHOD": "GET", "PATH_INFO": "/demo/x.jpg",
               "HTTP_HOST": "h", "HTTP_ACCEPT": "image/webp", "CONTENT_LENGTH": "", "wsgi.input": object()}
    (seen,) = wrapper(environ, lambda *a: None)
    assert "DATABASE_URL" not in seen and "HOME" not in seen and "HTTP_PROXY" not in seen
    assert seen["PATH_INFO"] == "/demo/x.jpg" and seen["HTTP_ACCEPT"] == "image/webp"
    assert seen["REQUEST_METHOD"] == "GET"


def test_a_request_header_with_another_value_than_the_process_one_is_kept():
    wrapper = GranianEnviron(_app, {"HTTP_X_TRACE": "from-env"})
    (seen,) = wrapper({"SERVER_SOFTWARE": "Granian", "HTTP_X_TRACE": "from-client"}, lambda *a: None)
    assert seen["HTTP_X_TRACE"] == "from-client"


def test_other_servers_are_left_alone():
    wrapper = GranianEnviron(_app, {"HOME": "/root"})
    stream = object()
    (seen,) = wrapper({"SERVER_SOFTWARE": "gunicorn/23", "HOME": "/root", "CONTENT_LENGTH": "3",
                       "wsgi.input": stream}, lambda *a: None)
    assert seen["HOME"] == "/root" and seen["wsgi.input"] is stream


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


@pytest.fixture
def probe_server(tmp_path):
    port = _free_port()
    env = {**os.environ, "DAM_PROBE_SECRET": "s3cret-value", "PYTHONPATH": str(ROOT)}
    log = tmp_path / "granian.log"
    granian = Path(sys.executable).with_name("granian")
    with open(log, "ab") as out:
        proc = subprocess.Popen([str(granian), "--interface", "wsgi", "--no-ws", "--host", HOST, "--port", str(port),
                                 "--workers", "1", "tests.granian_probe:application"], cwd=ROOT, env=env,
                                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 30
        while True:
            assert proc.poll() is None, log.read_text()
            try:
                socket.create_connection((HOST, port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.1)
        yield port
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


@pytest.mark.parametrize("chunked", [False, True])
def test_through_the_real_granian(probe_server, chunked):
    body = b"0123456789first line\n" + os.urandom(300_000)
    conn = http.client.HTTPConnection(HOST, probe_server, timeout=30)
    if chunked:
        pieces = (body[i:i + 5000] for i in range(0, len(body), 5000))
        conn.request("POST", "/probe", body=pieces, encode_chunked=True)
    else:
        conn.request("POST", "/probe", body=body)
    response = conn.getresponse()
    found = json.loads(response.read())
    conn.close()
    assert response.status == 200
    assert found["server"] == "Granian"
    assert found["pieces"] == [10, 11, len(body) - 21]
    assert found["body"].encode("latin-1") == body
    assert found["secret"] is None and "DAM_PROBE_SECRET" not in found["keys"]
    assert "PATH" not in found["keys"] and "HOME" not in found["keys"]
    assert "PATH_INFO" in found["keys"] and "REQUEST_METHOD" in found["keys"]


def _register_and_return(path: str) -> None:
    at_exit(lambda: open(path, "a").write("flushed\n"))


def test_at_exit_runs_once_in_a_multiprocessing_child_and_in_a_plain_process(tmp_path):
    """A granian worker, like a forked multiprocessing child, leaves through os._exit after
    the multiprocessing finalizers, never running atexit handlers."""
    import multiprocessing

    child = tmp_path / "child.log"
    process = multiprocessing.get_context("fork").Process(target=_register_and_return, args=(str(child),))
    process.start()
    process.join(60)
    assert process.exitcode == 0 and child.read_text() == "flushed\n"

    plain = tmp_path / "plain.log"
    out = subprocess.run([sys.executable, "-c", f"from tests.config.test_server_environ import _register_and_return; "
                                                f"_register_and_return({str(plain)!r})"],
                         cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert plain.read_text() == "flushed\n"
