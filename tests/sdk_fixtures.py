"""Fixtures that point the real, unchanged ``cloudinary`` SDK at a live test server.

Imported by the ``test_sdk_*`` modules.  ``sdk`` configures the SDK for one test
and puts its global configuration back afterwards; ``remote_files`` serves bytes
from a small HTTP server on 127.0.0.1 for remote-URL uploads; ``fetch_image``
downloads a delivery URL and decodes it.
"""

from __future__ import annotations

import copy
import http.server
import io
import threading
from dataclasses import dataclass
from urllib.parse import urlsplit

import cloudinary
import cloudinary.api
import cloudinary.uploader
import pytest
import pyvips
import requests

from .conftest import make_image

CLOUD = "demo"
HTTP_TIMEOUT = 30


@dataclass
class Sdk:
    url: str  # the live server, e.g. http://127.0.0.1:PORT
    host: str  # host:port
    key: object  # assets.models.ApiKey

    def upload(self, data: bytes | None = None, **options) -> dict:
        """Upload bytes (a generated JPEG by default) as a named stream."""
        stream = io.BytesIO(data if data is not None else make_image(64, 48))
        stream.name = options.pop("filename", "photo.jpg")
        return cloudinary.uploader.upload(stream, **options)


def configure(**overrides) -> None:
    cloudinary.config(**overrides)


@pytest.fixture
def sdk(live_server, transactional_db, api_key):
    """The SDK configured against `live_server`; the previous configuration is restored after."""
    config = cloudinary.config()
    saved = copy.deepcopy(config.__dict__)
    host = urlsplit(live_server.url).netloc
    # With a cname, no secure flag and the shared (non-private) CDN, build_url() yields
    # http://<cname>/<cloud>/image/<type>/... which is our delivery layout.
    cloudinary.config(
        cloud_name=CLOUD, api_key=api_key.key, api_secret=api_key.secret,
        upload_prefix=live_server.url, secure=False, cname=host, private_cdn=False,
        cdn_subdomain=False, secure_distribution=None, signature_algorithm="sha1",
        sign_url=False, long_url_signature=False, timeout=HTTP_TIMEOUT,
    )
    try:
        yield Sdk(live_server.url, host, api_key)
    finally:
        config.__dict__.clear()
        config.__dict__.update(saved)


class _Handler(http.server.BaseHTTPRequestHandler):
    files: dict[str, tuple[str, bytes]] = {}

    def do_GET(self):  # noqa: N802 (http.server's naming)
        found = self.files.get(self.path)
        if found is None:
            self.send_error(404)
            return
        content_type, body = found
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):  # keep test output quiet
        pass


@pytest.fixture
def remote_files():
    """A tiny HTTP server on 127.0.0.1: `serve(path, body)` returns the URL of `body`."""
    handler = type("Handler", (_Handler,), {"files": {}})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()

    def serve(path: str, body: bytes, content_type: str = "image/jpeg") -> str:
        handler.files[path] = (content_type, body)
        return f"http://127.0.0.1:{server.server_address[1]}{path}"

    try:
        yield serve
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def fetch_image(url: str, **kwargs):
    """GET `url`; returns (response, decoded pyvips image or None)."""
    response = requests.get(url, timeout=HTTP_TIMEOUT, **kwargs)
    image = None
    if response.status_code == 200:
        image = pyvips.Image.new_from_buffer(response.content, "")
    return response, image
