"""Real OpenAI-compatible images servers for tests on 127.0.0.1 (port 0).

``running``: ``POST /v1/images/generations``, answering PNGs made with numpy in ``b64_json`` (the size
and seed asked for), or told by its ``script`` to fail, to be slow or to answer garbage.  Used by the
Image Generation API's tests and the Generate screen's (which also point a worker process at it).

``running_edits``: ``POST /v1/images/edits`` (multipart ``image``, ``mask`` whose transparent pixels are
to be made, ``prompt``), answering ``data[0].b64_json`` with what the test's ``paint`` makes of the
image and the area to edit, so what the back-end answers is known.  Used by the generative effects'
tests (e_genvar, e_gen_remove and the others); ``parse_edit`` reads such a request for any server.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Callable
from contextlib import contextmanager
from email.parser import BytesParser
from email.policy import default as email_policy
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

    with serving(Handler) as port:
        state.url = f"http://127.0.0.1:{port}/v1"
        try:
            yield state
        finally:
            state.release.set()


@contextmanager
def serving(handler: type[BaseHTTPRequestHandler]):
    """`handler` served on 127.0.0.1 (a free port, yielded) in daemon threads until the block ends."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def png(array: np.ndarray) -> bytes:
    return pyvips.Image.new_from_array(np.ascontiguousarray(array)).pngsave_buffer()


def _array(data: bytes) -> np.ndarray:
    array = pyvips.Image.new_from_buffer(data, "").numpy()
    return array if array.ndim == 3 else array[:, :, np.newaxis]


def parse_edit(content_type: str, body: bytes) -> dict:
    """An images-edits request: its text ``fields`` (prompt, model, n, ...) and the ``image`` and ``mask``
    as arrays with their bands (height, width, bands)."""
    message = BytesParser(policy=email_policy).parsebytes(
        b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body)
    parts = {part.get_param("name", header="content-disposition"): part for part in message.iter_parts()}
    fields = {name: part.get_content() for name, part in parts.items() if name not in ("image", "mask")}
    return {"fields": fields, "image": _array(parts["image"].get_payload(decode=True)),
            "mask": _array(parts["mask"].get_payload(decode=True))}


@contextmanager
def running_edits(paint: Callable[[np.ndarray, np.ndarray], np.ndarray]):
    """An images-edits server until the block ends; yields (base URL, requests).  ``paint(image, edit)``
    makes the answer from the RGB image and the boolean area to edit (the mask's transparent pixels).
    Each request is recorded as ``path``, ``prompt``, ``fields``, ``image`` (RGB), ``edit``, ``auth``."""
    seen: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_POST(self):
            sent = parse_edit(self.headers["Content-Type"], self.rfile.read(int(self.headers["Content-Length"])))
            image, edit = sent["image"][:, :, :3], sent["mask"][:, :, 3] == 0
            seen.append({"path": self.path, "prompt": sent["fields"].get("prompt"), "fields": sent["fields"],
                         "image": image, "edit": edit, "auth": self.headers.get("Authorization")})
            answer = json.dumps({"data": [{"b64_json": base64.b64encode(png(paint(image, edit))).decode()}]}).encode()
            self.send_response(200 if self.path == "/v1/images/edits" else 404)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

    with serving(Handler) as port:
        yield f"http://127.0.0.1:{port}/v1/images/edits", seen


def configure_edits(settings, url: str) -> None:
    """Point the prompt-capable generation back-end (pytest-django's `settings`) at an edits server `url`
    (and no IOPaint)."""
    settings.DAM_INPAINT_URL = ""
    settings.DAM_INPAINT_PROMPTS = False
    settings.DAM_IMAGE_EDIT_URL = url
    settings.DAM_IMAGE_EDIT_KEY = "sk-test"
    settings.DAM_GENERATION_TIMEOUT = 20


def configure(settings, url: str) -> None:
    """Point the generation settings (pytest-django's `settings`) at the server `url`."""
    settings.DAM_IMAGE_GENERATION_URL = url
    settings.DAM_IMAGE_GENERATION_KEY = "sk-test-key"
    settings.DAM_IMAGE_GENERATION_BACKENDS = ""
    settings.DAM_IMAGE_GENERATION_RETRIES = 2
    settings.DAM_IMAGE_GENERATION_TIMEOUT = 30
