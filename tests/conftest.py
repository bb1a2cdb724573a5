"""Shared fixtures: credentials, signed requests, generated images."""

from __future__ import annotations

import io
import time

import numpy as np
import pytest
import pyvips
from django.test import Client

from assets import signing
from assets.models import ApiKey

CLOUD = "demo"


@pytest.fixture
def shared_media():
    """For tests that start a worker process of their own: files in the session's media."""


@pytest.fixture(autouse=True)
def _isolated_media(request, settings, tmp_path):
    """Each test stores originals and derived files in its own folder, except tests that
    share files with a worker process (those use the session's DAM_VAR_DIR/media)."""
    if "celery_worker" in request.fixturenames or "shared_media" in request.fixturenames:
        yield
        return
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage",
                    "OPTIONS": {"location": str(tmp_path / "originals")}},
        "derived": {"BACKEND": "django.core.files.storage.FileSystemStorage",
                    "OPTIONS": {"location": str(tmp_path / "derived")}},
    }
    from django.core.files.storage import storages

    storages._storages = {}
    storages.backends  # re-read
    yield
    storages._storages = {}


@pytest.fixture
def api_key(db):
    return ApiKey.objects.create(name="tests")


def make_image(width=64, height=48, fmt="jpg", bands=3, seed=0, **save_options) -> bytes:
    """A textured test image (noise + gradient) in the given format."""
    rng = np.random.default_rng(seed)
    base = np.linspace(0, 255, width, dtype=np.float32)[None, :, None].repeat(height, 0).repeat(bands, 2)
    noise = rng.normal(0, 20, (height, width, bands)).astype(np.float32)
    array = np.clip(base + noise, 0, 255).astype(np.uint8)
    image = pyvips.Image.new_from_array(array, interpretation="srgb" if bands >= 3 else "b-w")
    if fmt == "bmp":
        from PIL import Image

        out = io.BytesIO()
        Image.fromarray(array).save(out, "BMP")
        return out.getvalue()
    return image.write_to_buffer("." + fmt, **save_options)


@pytest.fixture
def image_bytes():
    return make_image


def signed(params: dict, key: ApiKey, algorithm: str = "sha1") -> dict:
    params = {**params}
    params.setdefault("timestamp", str(int(time.time())))
    params["signature"] = signing.sign_params(params, key.secret, algorithm)
    params["api_key"] = key.key
    return params


@pytest.fixture
def upload(client: Client, api_key):
    """POST a signed upload; returns the response."""

    def _upload(data: bytes | str | None = None, name: str = "photo.jpg", action: str = "upload", **params):
        payload = signed({k: v for k, v in params.items() if v is not None}, api_key)
        if isinstance(data, bytes):
            payload["file"] = io.BytesIO(data)
            payload["file"].name = name
        elif data is not None:
            payload["file"] = data
        return client.post(f"/v1_1/{CLOUD}/image/{action}", payload)

    return _upload


# --- a real Celery worker and a recording HTTP server ------------------------------


@pytest.fixture(scope="session")
def celery_worker(django_db_setup, django_db_blocker, tmp_path_factory):
    """A real `celery -A config worker` on the test database and this session's queue.

    Tests using it need committed data: mark them django_db(transaction=True).
    """
    from tests.worker import start_worker, stop_worker

    log_path = tmp_path_factory.mktemp("worker") / "worker.log"
    proc = start_worker(log_path)
    proc.log_path = log_path
    yield proc
    stop_worker(proc)


class Recorder:
    """What an HTTP server on 127.0.0.1 received; `replies` scripts its status codes."""

    def __init__(self):
        import threading

        self.requests: list[dict] = []
        self.replies: list[int] = []
        self.files: dict[str, tuple[bytes, str]] = {}
        self.event = threading.Event()
        self.url = ""

    def wait_for(self, count: int, timeout: float = 60.0) -> list[dict]:
        deadline = time.monotonic() + timeout
        while len(self.requests) < count and time.monotonic() < deadline:
            self.event.wait(0.2)
            self.event.clear()
        return self.requests


@pytest.fixture
def http_recorder():
    """An HTTP server on 127.0.0.1: records POSTs, serves `files[path] = (bytes, type)` on GET."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    recorder = Recorder()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            body, ctype = recorder.files.get(self.path, (b"not found", "text/plain"))
            self.send_response(200 if self.path in recorder.files else 404)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            status = recorder.replies.pop(0) if recorder.replies else 200
            recorder.requests.append({"path": self.path, "headers": dict(self.headers), "body": body,
                                      "status": status})
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()
            recorder.event.set()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    recorder.url = f"http://127.0.0.1:{server.server_address[1]}"
    yield recorder
    server.shutdown()
    server.server_close()
