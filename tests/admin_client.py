"""The Admin API as the SDK calls it, through the Django test client, and fixtures for its tests."""

from __future__ import annotations

import base64
import json
from urllib.parse import urlencode

import pytest
import pyvips
from django.core.files.storage import storages

from assets.models import Asset
from tests.conftest import CLOUD, make_image


def basic(key: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{key}:{secret}".encode()).decode()


class Admin:
    """Admin API calls as the SDK makes them: GET with a query string, others with a JSON body."""

    def __init__(self, client, api_key):
        self.client = client
        self.auth = {"HTTP_AUTHORIZATION": basic(api_key.key, api_key.secret)}

    def url(self, path: str) -> str:
        return f"/v1_1/{CLOUD}/{path}"

    def get(self, path: str, params: dict | None = None, **extra):
        return self.client.get(self.url(path), params or {}, **{**self.auth, **extra})

    def _body(self, method: str, path: str, params: dict | None, as_: str, **extra):
        call = getattr(self.client, method)
        if as_ == "json":
            return call(self.url(path), json.dumps(params or {}), content_type="application/json",
                        **{**self.auth, **extra})
        if as_ == "form":
            return call(self.url(path), urlencode(params or {}, doseq=True),
                        content_type="application/x-www-form-urlencoded", **{**self.auth, **extra})
        if as_ == "query":
            return call(self.url(path) + "?" + urlencode(params or {}, doseq=True), **{**self.auth, **extra})
        if as_ == "multipart":
            return self.client.generic(method.upper(), self.url(path), _multipart(params or {}),
                                       content_type="multipart/form-data; boundary=BoUnDaRy",
                                       **{**self.auth, **extra})
        raise ValueError(as_)

    def post(self, path, params=None, as_="json", **extra):
        return self._body("post", path, params, as_, **extra)

    def put(self, path, params=None, as_="json", **extra):
        return self._body("put", path, params, as_, **extra)

    def delete(self, path, params=None, as_="json", **extra):
        return self._body("delete", path, params, as_, **extra)


def _multipart(params: dict) -> bytes:
    parts = []
    for key, value in params.items():
        for item in value if isinstance(value, list) else [value]:
            parts.append(f'--BoUnDaRy\r\nContent-Disposition: form-data; name="{key}"\r\n\r\n{item}\r\n')
    return ("".join(parts) + "--BoUnDaRy--\r\n").encode()


@pytest.fixture
def admin(client, api_key):
    return Admin(client, api_key)


@pytest.fixture
def put_image(upload):
    """Upload a generated image under ``public_id``; returns the upload JSON."""

    def _put(public_id: str, width: int = 64, height: int = 48, seed: int = 0, **params):
        response = upload(make_image(width, height, seed=seed), public_id=public_id, **params)
        assert response.status_code == 200, response.content
        return response.json()

    return _put


def stored_size(asset: Asset) -> tuple[int, int]:
    with storages["default"].open(asset.storage_name, "rb") as fh:
        image = pyvips.Image.new_from_buffer(fh.read(), "")
    return image.width, image.height
