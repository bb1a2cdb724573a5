"""A chunked upload belongs to the credential that sent its first chunk (issue 10, item 10).

Chunks of one ``X-Unique-Upload-Id`` sent with another API key, another unsigned preset
or anonymously are refused (403) and change nothing; the owner finishes the upload
intact.
"""

from __future__ import annotations

import io
import uuid

import numpy as np
import pytest
import pyvips

from assets.models import ApiKey, Asset, UploadPreset
from tests.conftest import CLOUD, make_image, signed

pytestmark = pytest.mark.django_db


def send(client, piece: bytes, start: int, total: int, upload_id: str, params: dict):
    data = {**params, "file": io.BytesIO(piece)}
    data["file"].name = "blob"
    content_range = f"bytes {start}-{start + len(piece) - 1}/{total}"
    return client.post(f"/v1_1/{CLOUD}/image/upload", data, HTTP_CONTENT_RANGE=content_range,
                       HTTP_X_UNIQUE_UPLOAD_ID=upload_id)


@pytest.fixture
def image():
    data = make_image(120, 80, fmt="png", seed=9)
    half = len(data) // 2
    return data, data[:half], data[half:]


def decoded(asset_public_id: str) -> np.ndarray:
    asset = Asset.objects.get(public_id=asset_public_id)
    from django.core.files.storage import storages

    with storages["default"].open(asset.storage_name) as fh:
        return pyvips.Image.new_from_buffer(fh.read(), "").numpy()


def test_another_key_cannot_continue_a_session(client, api_key, image):
    data, first, second = image
    upload_id = uuid.uuid4().hex
    other = ApiKey.objects.create(name="other", role="editor")
    answer = send(client, first, 0, len(data), upload_id, signed({"public_id": "chunks/mine"}, api_key))
    assert answer.status_code == 200 and answer.json()["done"] is False
    stolen = send(client, b"\0" * len(second), len(first), len(data), upload_id, signed({}, other))
    assert stolen.status_code == 403
    assert "another credential" in stolen.json()["error"]["message"]
    assert not Asset.objects.exists()
    done = send(client, second, len(first), len(data), upload_id, signed({"public_id": "chunks/mine"}, api_key))
    assert done.status_code == 200, done.content
    assert (done.json()["public_id"], done.json()["width"], done.json()["height"]) == ("chunks/mine", 120, 80)
    expected = pyvips.Image.new_from_buffer(data, "").numpy()
    assert np.array_equal(decoded("chunks/mine"), expected)  # no byte of the other key's chunk in it


def test_unsigned_sessions_are_bound_to_their_preset(client, api_key, image):
    data, first, second = image
    UploadPreset.objects.create(name="a", unsigned=True, settings={"folder": "from_a"})
    UploadPreset.objects.create(name="b", unsigned=True, settings={"folder": "from_b"})
    upload_id = uuid.uuid4().hex
    assert send(client, first, 0, len(data), upload_id, {"upload_preset": "a"}).status_code == 200
    assert send(client, second, len(first), len(data), upload_id, {"upload_preset": "b"}).status_code == 403
    # a signed key cannot take over an anonymous session either
    assert send(client, second, len(first), len(data), upload_id, signed({}, api_key)).status_code == 403
    done = send(client, second, len(first), len(data), upload_id, {"upload_preset": "a"})
    assert done.status_code == 200 and done.json()["public_id"].startswith("from_a/")


def test_a_key_cannot_continue_an_anonymous_preset_session_nor_the_reverse(client, api_key, image):
    data, first, second = image
    UploadPreset.objects.create(name="a", unsigned=True, settings={})
    upload_id = uuid.uuid4().hex
    assert send(client, first, 0, len(data), upload_id, signed({}, api_key)).status_code == 200
    assert send(client, second, len(first), len(data), upload_id, {"upload_preset": "a"}).status_code == 403
    assert send(client, second, len(first), len(data), upload_id, signed({}, api_key)).status_code == 200
