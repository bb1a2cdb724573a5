"""Support for the tests that run the official npm SDKs (tests/sdk/node, ``npm ci`` by ``./dam test``)
against a live server: the `wsgi_server` fixture (the production WSGI stack served in this process)
and a runner for one node script fed JSON on stdin."""

from __future__ import annotations

import json
import os
import shutil
import socketserver
import subprocess
import threading
from pathlib import Path
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import pytest

NODE_DIR = Path(__file__).parent / "node"


class _ThreadingServer(socketserver.ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def wsgi_server(transactional_db):
    """config.wsgi (memo, body guard that de-chunks, Django) on a loopback port, in this process (so the
    test reads the same database); yields its base URL.  pytest-django's live_server cannot serve the
    npm SDKs: Django's development server reads a body by its Content-Length only, and the SDK streams
    every upload chunked, without one."""
    from config.wsgi import application

    httpd = make_server("127.0.0.1", 0, application, server_class=_ThreadingServer, handler_class=_QuietHandler)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_port}"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=10)


def node_runner(script: str, packages: tuple[str, ...], home: Path, timeout: float, **env: str):
    """`run(payload)`: runs ``node <script>`` in tests/sdk/node with `payload` as JSON on stdin and only
    PATH, HOME (`home`) and `env` in its environment; returns its stdout parsed as JSON.  Fails at once,
    saying how to install them, when node or the npm `packages` are missing."""
    node = shutil.which("node")
    assert node is not None, "node is not installed (apt-get install nodejs npm)"
    for package in packages:
        assert (NODE_DIR / "node_modules" / package).is_dir(), (
            f"the npm package {package} is not installed: npm ci --prefix {NODE_DIR} (./dam test does it)")
    environ = {"PATH": os.environ.get("PATH", ""), "HOME": str(home), **env}

    def run(payload):
        done = subprocess.run([node, str(NODE_DIR / script)], input=json.dumps(payload), capture_output=True,
                              text=True, cwd=NODE_DIR, env=environ, timeout=timeout)
        assert done.returncode == 0, done.stderr[-3000:]
        return json.loads(done.stdout)

    return run
