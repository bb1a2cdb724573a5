"""Upload API: good input stored right, bad input refused with nothing left behind."""

from __future__ import annotations

import base64
import io
import threading
import time

import pytest
import pyvips
from django.core.files.storage import storages
from django.db import connection
from django.test import Client

from assets.models import Asset, AssetVersion, UploadPreset
from tests.conftest import CLOUD, make_image, signed
from tests.uploads import assert_nothing_left, stored_files

pytestmark = pytest.mark.django_db


# --- good input ----------------------------------------------------------------------

@pytest.mark.parametrize("fmt", ["jpg", "png", "webp", "gif", "tiff", "avif", "bmp"])
def test_each_format_is_read_from_its_header(upload, fmt):
    response = upload(make_image(50, 20, fmt=fmt), name=f"x.{fmt}", public_id=f"fmt/{fmt}")
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["format"], body["width"], body["height"]) == (fmt, 50, 20)
    asset = Asset.objects.get(public_id=f"fmt/{fmt}")
    assert asset.bytes == body["bytes"] > 0 and len(asset.content_hash) == 64


def test_exif_orientation_swaps_reported_dimensions(upload):
    image = pyvips.Image.new_from_buffer(make_image(60, 20), "").copy()
    image.set_type(pyvips.GValue.gint_type, "orientation", 6)
    response = upload(image.write_to_buffer(".jpg"), public_id="rotated")
    assert (response.json()["width"], response.json()["height"]) == (20, 60)


def test_response_fields_and_signature(upload, api_key):
    from assets.signing import response_signature

    response = upload(make_image(), name="Red Shoe.jpg", use_filename="true", folder="shoes",
                      tags="sale,red", context="alt=A red shoe|caption=left\\|right")
    assert response.status_code == 200
    body = response.json()
    assert body["public_id"].startswith("shoes/Red_Shoe_") and len(body["public_id"]) == len("shoes/Red_Shoe_") + 6
    assert body["original_filename"] == "Red Shoe"
    assert body["tags"] == ["red", "sale"]
    assert body["context"] == {"custom": {"alt": "A red shoe", "caption": "left|right"}}
    assert body["signature"] == response_signature(body["public_id"], body["version"], api_key.secret)
    assert body["url"].endswith(f"/{CLOUD}/image/upload/v{body['version']}/{body['public_id']}.jpg")
    assert response["X-Request-Id"]
    for field in ("asset_id", "version_id", "etag", "created_at", "bytes", "type", "resource_type", "placeholder",
                  "secure_url"):
        assert field in body


def test_data_uri_and_sha256_signature(client, api_key):
    uri = "data:image/png;base64," + base64.b64encode(make_image(30, 10, fmt="png")).decode()
    payload = signed({"public_id": "from-data-uri"}, api_key, algorithm="sha256")
    payload["file"] = uri
    response = client.post(f"/v1_1/{CLOUD}/image/upload", payload)
    assert response.status_code == 200, response.content
    assert (response.json()["format"], response.json()["width"]) == ("png", 30)


def test_overwrite_makes_a_new_version_and_backup_keeps_the_old_file(upload):
    first = upload(make_image(40, 40), public_id="v/one", backup="true").json()
    second = upload(make_image(80, 40), public_id="v/one", backup="true").json()
    assert second["version"] > first["version"] and second["asset_id"] == first["asset_id"]
    assert second["width"] == 80
    versions = AssetVersion.objects.filter(asset__public_id="v/one").order_by("version")
    assert [v.width for v in versions] == [40, 80]
    assert all(v.backed_up and storages["default"].exists(v.storage_name) for v in versions)


def test_overwrite_without_backup_removes_the_old_file(upload):
    upload(make_image(40, 40), public_id="v/two")
    old = Asset.objects.get(public_id="v/two").storage_name
    with_commit = upload(make_image(50, 40), public_id="v/two")
    assert with_commit.status_code == 200
    # on_commit runs at the end of the test transaction; check via the version row instead
    old_row = AssetVersion.objects.get(storage_name="", asset__public_id="v/two")
    assert old_row.width == 40 and old


def test_overwrite_false_returns_the_existing_asset(upload):
    first = upload(make_image(40, 40), public_id="keep").json()
    again = upload(make_image(90, 40), public_id="keep", overwrite="false").json()
    assert again["existing"] is True and again["version"] == first["version"] and again["width"] == 40
    assert len(stored_files()) == 1


def test_unsigned_upload_through_an_unsigned_preset(client):
    UploadPreset.objects.create(name="open", unsigned=True, settings={"folder": "inbox", "tags": "incoming"})
    data = {"upload_preset": "open", "tags": "mine", "file": io.BytesIO(make_image())}
    data["file"].name = "a.jpg"
    response = client.post(f"/v1_1/{CLOUD}/image/upload", data)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["public_id"].startswith("inbox/") and set(body["tags"]) == {"incoming", "mine"}


# --- bad input: a clear 4xx and nothing left behind --------------------------------

TRUNCATED = make_image(200, 200)[:1500]
NOT_AN_IMAGE = b"%PDF-1.4 this is not an image at all" * 20


@pytest.mark.parametrize("data,params,status,message", [
    (NOT_AN_IMAGE, {}, 400, "Invalid image file"),
    (TRUNCATED, {}, 400, "Invalid image file"),
    (make_image(fmt="png")[:-40], {}, 400, "Invalid image file"),
    (b"", {}, 400, ""),
    (make_image(), {"public_id": "../etc/passwd"}, 400, "'..'"),
    (make_image(), {"public_id": "a/./b"}, 400, "'.'"),
    (make_image(), {"public_id": "bad\x07id"}, 400, "control characters"),
    (make_image(), {"public_id": "a//b"}, 400, "empty"),
    (make_image(), {"public_id": "x" * 300}, 400, "255"),
    (make_image(), {"type": "secret"}, 400, "Invalid type"),
    (make_image(), {"overwrite": "perhaps"}, 400, "boolean"),
])
def test_bad_input_table(upload, data, params, status, message):
    response = upload(data, **params)
    assert response.status_code == status, response.content
    assert message in response.json()["error"]["message"]
    assert_nothing_left()


def test_pixel_limit_refuses_a_decompression_bomb_from_its_header(upload, settings):
    # A 12000x10000 PNG of one colour is tiny on disk and 120 megapixels decoded.
    bomb = pyvips.Image.black(12000, 10000).cast("uchar").write_to_buffer(".png", compression=9)
    assert len(bomb) < 1_000_000
    started = time.monotonic()
    response = upload(bomb, name="bomb.png")
    assert response.status_code == 400
    assert "too large" in response.json()["error"]["message"]
    assert time.monotonic() - started < 5  # refused from the header, not after decoding
    assert_nothing_left()
    settings.DAM_MAX_IMAGE_PIXELS = 1000
    response = upload(make_image(64, 48))
    assert response.status_code == 400 and "3072 pixels" in response.json()["error"]["message"]


def test_file_size_limit(upload, settings):
    settings.DAM_MAX_UPLOAD_BYTES = 500
    response = upload(make_image(100, 100))
    assert response.status_code == 400 and "File size too large" in response.json()["error"]["message"]
    assert_nothing_left()


@pytest.mark.parametrize("url", [
    "http://127.0.0.1:9/x.jpg", "http://localhost:9/x.jpg", "http://[::1]:9/x.jpg", "http://10.1.2.3/x.jpg",
    "http://192.168.0.10/x.jpg", "http://169.254.169.254/latest/meta-data", "http://0.0.0.0/x.jpg",
    "http://[::ffff:127.0.0.1]/x.jpg", "ftp://example.com/x.jpg", "file:///etc/passwd",
])
def test_remote_urls_to_internal_addresses_are_refused(upload, url):
    response = upload(url)
    assert response.status_code == 400, response.content
    assert_nothing_left()


def test_remote_url_allowed_when_configured(upload, settings, http_recorder):
    http_recorder.files["/pic.png"] = (make_image(33, 22, fmt="png"), "image/png")
    response = upload(http_recorder.url + "/pic.png")
    assert response.status_code == 400 and "non-public" in response.json()["error"]["message"]
    settings.DAM_ALLOW_PRIVATE_REMOTE_URLS = True
    response = upload(http_recorder.url + "/pic.png")
    assert response.status_code == 200, response.content
    assert (response.json()["width"], response.json()["original_filename"]) == (33, "pic")
    missing = upload(http_recorder.url + "/missing.png")
    assert missing.status_code == 400 and "404" in missing.json()["error"]["message"]


def _post(client, params, with_file=True):
    data = dict(params)
    if with_file:
        data["file"] = io.BytesIO(make_image())
        data["file"].name = "a.jpg"
    return client.post(f"/v1_1/{CLOUD}/image/upload", data)


@pytest.mark.parametrize("mutate,status,message", [
    (lambda p, k: p.update(signature="0" * 40), 401, "Invalid Signature"),
    (lambda p, k: p.update(public_id="tampered"), 401, "Invalid Signature"),
    (lambda p, k: p.pop("api_key"), 401, "Must supply api_key"),
    (lambda p, k: p.update(api_key="999"), 401, "Unknown API key"),
    (lambda p, k: p.pop("signature"), 400, "Upload preset must be specified"),
    (lambda p, k: p.update(signature="abc"), 401, "Invalid Signature"),
])
def test_signature_failures(client, api_key, mutate, status, message):
    params = signed({"public_id": "signed"}, api_key)
    mutate(params, api_key)
    response = _post(client, params)
    assert response.status_code == status, response.content
    assert message in response.json()["error"]["message"]
    assert_nothing_left()


def test_stale_timestamp_is_refused(client, api_key):
    params = signed({"public_id": "old", "timestamp": str(int(time.time()) - 7200)}, api_key)
    response = _post(client, params)
    assert response.status_code == 400 and "Stale request" in response.json()["error"]["message"]


def test_wrong_cloud_name_and_resource_type(client, api_key):
    params = signed({}, api_key)
    assert client.post("/v1_1/other/image/upload", params).status_code == 404
    assert client.post(f"/v1_1/{CLOUD}/video/upload", params).status_code == 400


# --- concurrency -----------------------------------------------------------------------

@pytest.mark.django_db(transaction=True)
def test_concurrent_uploads_to_one_public_id_end_as_two_consistent_versions(api_key):
    results, barrier = [], threading.Barrier(2)

    def worker(width):
        payload = signed({"public_id": "race/same"}, api_key)
        payload["file"] = io.BytesIO(make_image(width, 30, seed=width))
        payload["file"].name = "r.jpg"
        barrier.wait()
        try:
            results.append(Client().post(f"/v1_1/{CLOUD}/image/upload", payload))
        finally:
            connection.close()  # a thread's connection would outlive the test and block the test DB's teardown

    threads = [threading.Thread(target=worker, args=(w,)) for w in (41, 42)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert [r.status_code for r in results] == [200, 200], [r.content for r in results]
    asset = Asset.objects.get(public_id="race/same")
    versions = list(AssetVersion.objects.filter(asset=asset).order_by("version"))
    assert len(versions) == 2 and versions[0].version < versions[1].version
    current = versions[-1]
    assert (asset.version, asset.version_id, asset.width) == (current.version, current.version_id, current.width)
    with storages["default"].open(asset.storage_name) as fh:
        image = pyvips.Image.new_from_buffer(fh.read(), "")
    assert image.width == asset.width
    assert sorted(r.json()["width"] for r in results) == [41, 42]
