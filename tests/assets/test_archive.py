"""generate_archive's bounds and refusals (the SDK round trips: tests/sdk/test_sdk_archive.py)."""

from __future__ import annotations

import io
import time
import zipfile

import pytest

from assets.models import Asset
from tests.conftest import CLOUD, make_image, signed

pytestmark = pytest.mark.django_db


def archive(client, api_key, method="post", resource_type="image", **params):
    payload = signed({k: v for k, v in params.items() if v is not None}, api_key)
    url = f"/v1_1/{CLOUD}/{resource_type}/generate_archive"
    return client.post(url, payload) if method == "post" else client.get(url, payload)


@pytest.fixture
def three(upload):
    for name in ("z/a", "z/b", "y/c"):
        assert upload(make_image(32, 24), public_id=name, tags="t").status_code == 200


def _message(response) -> str:
    return response.json()["error"]["message"]


def test_download_streams_a_zip_and_create_stores_nothing_on_refusal(client, api_key, three):
    response = archive(client, api_key, "get", prefixes="z/", mode="download")
    assert response.status_code == 200 and response.streaming
    data = b"".join(response.streaming_content)
    assert sorted(zipfile.ZipFile(io.BytesIO(data)).namelist()) == ["z/a.jpg", "z/b.jpg"]
    assert Asset.objects.filter(resource_type="raw").count() == 0  # download stores nothing


@pytest.mark.parametrize("params, word", [
    ({}, "Missing required parameter"),
    ({"tags": "t", "target_format": "rar"}, "target_format"),
    ({"tags": "t", "mode": "burn"}, "mode"),
    ({"prefixes": "/"}, "empty prefix"),
    ({"tags": "t", "flatten_folders": "perhaps"}, "flatten_folders"),
    ({"tags": "t", "transformations": "x_nonsense_1"}, ""),
    ({"tags": "t", "expires_at": str(int(time.time()) - 10)}, "expired"),
    ({"tags": "t", "async": "true"}, "async"),
    ({"tags": "absent"}, "No resources found"),
])
def test_refusals_are_400s_and_store_nothing(client, api_key, three, params, word):
    response = archive(client, api_key, **params)
    assert response.status_code == 400, response.content
    assert word in _message(response)
    assert Asset.objects.filter(resource_type="raw").count() == 0


def test_bounds(client, api_key, three, settings):
    settings.DAM_ARCHIVE_MAX_FILES = 2
    response = archive(client, api_key, tags="t")
    assert response.status_code == 400 and "at most 2" in _message(response)
    assert archive(client, api_key, public_ids="z/a", transformations="w_10|w_20").status_code == 200
    assert archive(client, api_key, public_ids="z/a", transformations="w_10|w_20|w_30").status_code == 400
    settings.DAM_ARCHIVE_MAX_FILES = 200
    settings.DAM_ARCHIVE_MAX_BYTES = 100
    response = archive(client, api_key, tags="t")
    assert response.status_code == 400 and "MB" in _message(response)


def test_get_only_for_downloads_and_signed(client, api_key, three):
    assert archive(client, api_key, "get", tags="t", mode="create").status_code == 400
    unsigned = client.get(f"/v1_1/{CLOUD}/image/generate_archive", {"tags": "t", "mode": "download"})
    assert unsigned.status_code == 401
    other = client.get(f"/v1_1/{CLOUD}/image/destroy", {"public_id": "z/a"})
    assert other.status_code == 405


def test_duplicate_names_after_flattening_get_numbered(client, api_key, upload):
    upload(make_image(8, 8), public_id="p/same", tags="d")
    upload(make_image(9, 9), public_id="q/same", tags="d")
    response = archive(client, api_key, tags="d", flatten_folders="true", target_public_id="flat")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["public_id"] == "flat.zip" and body["file_count"] == 2
    raw = Asset.objects.get(resource_type="raw", public_id="flat.zip")
    from django.core.files.storage import storages
    with storages["default"].open(raw.storage_name, "rb") as fh:
        assert sorted(zipfile.ZipFile(io.BytesIO(fh.read())).namelist()) == ["same (1).jpg", "same.jpg"]
