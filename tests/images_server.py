"""A real OpenAI-compatible images server for tests: ``POST /v1/images/generations`` on 127.0.0.1
(port 0), answering PNGs made with numpy in ``b64_json`` (the size and seed asked for), or told by
its ``script`` to fail, to be slow or to answer garbage.  Used by the Image Generation API's tests
and the Generate screen's (which also point a worker process at it)."""

from __future__ import annotations

import base64
import json
import threading
import time
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pyvips


def picture(width: int, height: int, seed: int) -> bytes:
    """A PNG with a gradient and seed-dependent noise: what a generation would answer."""
    rng = np.random.default_rng(seed)
    base = np.linspace(0, 255, width, dtype=np.float32)[None, :, None].repeat(height, 0).repeat(3, 2)
    array = np.clip(base + rng.normal(0, 30, (height, width, 3)), 0, 255).astype(np.uint8)
    return pyvips.Image.new_from_array(array, interpretation="srgb").pngsave_buffer()


class ImagesServer:
    """The server's state: `requests` received, `script` the behaviour of the next answers ("ok",
    "fail", "slow", "garbage", "not_json"), `default` after the script; "slow" waits for `release`
    (at most `slow_seconds`)."""

    def __init__(self):
        self.requests: list[dict] = []
        self.script: list[str] = []
        self.default = "ok"
        self.slow_seconds = 3.0
        self.release = threading.Event()
        self.url = ""

    def next(self) -> str:
        return self.script.pop(0) if self.script else self.default


@contextmanager
def running():
    """An ImagesServer serving on 127.0.0.1 until the block ends; its base URL is ``state.url``."""
    state = ImagesServer()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def _send(self, status: int, body: bytes, ctype: str = "application/json"):
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
            state.requests.append({"path": self.path, "body": body, "auth": self.headers.get("Authorization")})
            if self.path != "/v1/images/generations":
                return self._send(404, b'{"error": {"message": "no such route"}}')
            mode = state.next()
            if mode == "fail":
                return self._send(500, b'{"error": {"message": "the GPU caught fire"}}')
            if mode == "slow":
                state.release.wait(state.slow_seconds)
            if mode == "not_json":
                return self._send(200, b"<html>surprise</html>", "text/html")
            width, height = (int(v) for v in body["size"].split("x"))
            data = picture(width, height, body.get("seed") or 0)
            if mode == "garbage":
                data = b"these bytes are no image at all" * 10
            answer = {"created": int(time.time()), "data": [{"b64_json": base64.b64encode(data).decode()}]}
            self._send(200, json.dumps(answer).encode())

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    try:
        yield state
    finally:
        state.release.set()
        server.shutdown()
        server.server_close()


def configure(settings, url: str) -> None:
    """Point the generation settings (pytest-django's `settings`) at the server `url`."""
    settings.DAM_IMAGE_GENERATION_URL = url
    settings.DAM_IMAGE_GENERATION_KEY = "sk-test-key"
    settings.DAM_IMAGE_GENERATION_BACKENDS = ""
    settings.DAM_IMAGE_GENERATION_RETRIES = 2
    settings.DAM_IMAGE_GENERATION_TIMEOUT = 30
