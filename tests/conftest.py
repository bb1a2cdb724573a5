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


@pytest.fixture(autouse=True)
def _isolated_media(settings, tmp_path):
    """Each test stores originals and derived files in its own folder."""
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
