"""config.accesslog: one Common Log Format line per request (plus the time taken),
written in batches; a path that could forge a line is percent-encoded."""

from __future__ import annotations

import io
import re
import threading

import pytest

from config import accesslog
from config.settings import env_bool


def app(environ, start_response):
    if environ["PATH_INFO"] == "/boom":
        raise RuntimeError("boom")
    status = "404 Not Found" if environ["PATH_INFO"] == "/missing" else "200 OK"
    start_response(status, [("Content-Type", "text/plain"), ("Content-Length", "5")])
    return [b"hello"]


def run(log, path, method="GET", query=""):
    environ = {"REQUEST_METHOD": method, "PATH_INFO": path, "QUERY_STRING": query, "REMOTE_ADDR": "10.1.2.3",
               "SERVER_PROTOCOL": "HTTP/1.1"}
    statuses = []
    body = b"".join(log(environ, lambda status, headers, exc_info=None: statuses.append(status)))
    return statuses[0], body


LINE = re.compile(r'^10\.1\.2\.3 - - \[\d{2}/\w{3}/\d{4}:\d{2}:\d{2}:\d{2} [+-]\d{4}\] "(.*)" (\d{3}) (\S+) [\d.]+ms$')


def lines(stream) -> list[tuple[str, str, str]]:
    return [LINE.match(line).groups() for line in stream.getvalue().splitlines()]


def test_one_line_per_request_in_the_common_log_format():
    out = io.StringIO()
    log = accesslog.AccessLog(app, out)
    assert run(log, "/demo/image/upload/c_fill,w_40,h_30/pic.jpg") == ("200 OK", b"hello")
    run(log, "/missing", query="a=1&b=2")
    run(log, "/x", method="HEAD")
    assert out.getvalue() == ""  # queued, not yet written
    log.flush()
    assert lines(out) == [
        ("GET /demo/image/upload/c_fill,w_40,h_30/pic.jpg HTTP/1.1", "200", "5"),
        ("GET /missing?a=1&b=2 HTTP/1.1", "404", "5"),
        ("HEAD /x HTTP/1.1", "200", "5"),
    ]


def test_a_path_that_could_forge_a_line_is_encoded():
    out = io.StringIO()
    log = accesslog.AccessLog(app, out)
    run(log, '/a b"c\n1.2.3.4 - - [x] "GET /forged HTTP/1.1" 200/\xc3\xa9')  # PATH_INFO is latin-1 text
    log.flush()
    (request, status, _), = lines(out)
    assert request == "GET /a%20b%22c%0A1.2.3.4%20-%20-%20%5Bx%5D%20%22GET%20/forged%20HTTP/1.1%22%20200/%C3%A9 HTTP/1.1"
    assert status == "200"


def test_an_exception_is_logged_as_500_and_raised():
    out = io.StringIO()
    log = accesslog.AccessLog(app, out)
    with pytest.raises(RuntimeError):
        run(log, "/boom")
    log.flush()
    assert lines(out) == [("GET /boom HTTP/1.1", "500", "-")]


def test_the_writer_thread_writes_without_a_flush_call():
    out = io.StringIO()
    log = accesslog.AccessLog(app, out)
    run(log, "/background")
    for _ in range(40):
        if out.getvalue():
            break
        threading.Event().wait(accesslog.FLUSH_EVERY / 2)
    assert lines(out) == [("GET /background HTTP/1.1", "200", "5")]


def test_lines_from_many_threads_are_all_written_once():
    out = io.StringIO()
    log = accesslog.AccessLog(app, out)
    threads = [threading.Thread(target=lambda i=i: [run(log, f"/t{i}/{j}") for j in range(200)]) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    log.flush()
    found = sorted(request for request, _, _ in lines(out))
    assert found == sorted(f"GET /t{i}/{j} HTTP/1.1" for i in range(6) for j in range(200))


@pytest.mark.parametrize("value, on", [("", True), ("1", True), ("0", False), ("off", False), ("no", False)])
def test_dam_access_log_turns_it_off(monkeypatch, settings, value, on):
    """The variable as config/settings.py reads it, then the setting as the WSGI stack reads it."""
    monkeypatch.setenv("DAM_ACCESS_LOG", value) if value else monkeypatch.delenv("DAM_ACCESS_LOG", raising=False)
    settings.DAM_ACCESS_LOG = env_bool("DAM_ACCESS_LOG", True)
    assert settings.DAM_ACCESS_LOG is on
    assert isinstance(accesslog.wrap(app), accesslog.AccessLog) is on
