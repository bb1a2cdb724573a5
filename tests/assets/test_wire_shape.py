"""Wire details the SDKs' own suites check (issue 15, item 5, part W1): empty tags and
context left out, ``fields=`` selective answers, ``allowed_formats`` and ``format=`` on
upload, ``access_mode``/``access_control``, ``eval``/``on_success`` refused, bearer tokens,
``start_at`` dates and ``phash``. Through the Django test client; tests/sdk/test_sdk_wire.py
drives the real SDKs."""

from __future__ import annotations

import numpy as np
import pytest
import pyvips
from django.core.files.storage import storages

from assets import phash
from assets.api.params import parse_moment
from assets.models import Asset, AssetVersion
from core.errors import BadRequest
from tests.admin_client import admin, put_image  # noqa: F401  (fixtures)
from tests.conftest import CLOUD, make_image

pytestmark = pytest.mark.django_db


def stored_image(public_id: str) -> pyvips.Image:
    asset = Asset.objects.get(public_id=public_id)
    with storages["default"].open(asset.storage_name, "rb") as fh:
        return pyvips.Image.new_from_buffer(fh.read(), "")


# --- empty tags and context --------------------------------------------------------------


def test_empty_tags_and_context_left_out_everywhere(admin, put_image, upload):
    body = put_image("bare")
    assert "tags" not in body and "context" not in body and "metadata" not in body
    details = admin.get("resources/image/upload/bare").json()
    assert "tags" not in details and "context" not in details
    tagged = put_image("tagged", tags="a,b", context="k=v")
    assert tagged["tags"] == ["a", "b"] and tagged["context"] == {"custom": {"k": "v"}}
    explicit = upload(None, action="explicit", public_id="bare", type="upload").json()
    assert "tags" not in explicit and "context" not in explicit
    # a listing with tags=true gives every row its tags, [] included; without, none
    rows = {r["public_id"]: r for r in admin.get("resources/image", {"tags": "true"}).json()["resources"]}
    assert rows["bare"]["tags"] == [] and rows["tagged"]["tags"] == ["a", "b"]
    assert all("tags" not in r for r in admin.get("resources/image").json()["resources"])


# --- fields= ------------------------------------------------------------------------------


def test_fields_selects_keys_with_identity(admin, put_image):
    put_image("f/one", tags="x")
    put_image("f/two")
    for query in ({"fields": "tags"}, {"fields[]": ["tags"]}):
        rows = admin.get("resources/image", query).json()["resources"]
        assert {tuple(sorted(r)) for r in rows} == {("asset_id", "folder", "public_id", "tags")}
        assert {r["public_id"]: r["tags"] for r in rows} == {"f/one": ["x"], "f/two": []}
    rows = admin.get("resources/image", {"fields": "secure_url,width", "public_ids[]": ["f/one"]}).json()
    assert sorted(rows["resources"][0]) == ["asset_id", "folder", "public_id", "secure_url", "width"]
    rows = admin.get("resources/image/tags/x", {"fields": "bytes"}).json()["resources"]
    assert sorted(rows[0]) == ["asset_id", "bytes", "folder", "public_id"]
    details = admin.get("resources/image/upload/f/one", {"fields": "tags,width"}).json()
    assert details == {"public_id": "f/one", "asset_id": details["asset_id"], "folder": "f", "tags": ["x"],
                       "width": 64}
    full = admin.get("resources/image", {"fields": ""}).json()["resources"]
    assert "secure_url" in full[0]  # an empty fields is the whole answer


# --- allowed_formats and format= ------------------------------------------------------


def test_allowed_formats_refuses_other_formats(upload):
    png = make_image(40, 30, fmt="png")
    ok = upload(png, name="a.png", public_id="fmt/ok", allowed_formats="png,gif")
    assert ok.status_code == 200 and ok.json()["format"] == "png"
    refused = upload(png, name="a.png", public_id="fmt/no", allowed_formats="jpg")
    assert refused.status_code == 400
    assert refused.json()["error"]["message"] == "Image file format png not allowed"
    assert not Asset.objects.filter(public_id="fmt/no").exists()
    jpeg_alias = upload(make_image(40, 30), public_id="fmt/jpeg", allowed_formats="jpeg")
    assert jpeg_alias.status_code == 200, jpeg_alias.content


def test_format_converts_the_stored_file(upload):
    rgba = make_image(40, 30, fmt="png", bands=4)
    body = upload(rgba, name="a.png", public_id="fmt/conv", format="jpg", allowed_formats="jpg").json()
    assert body["format"] == "jpg" and (body["width"], body["height"]) == (40, 30)
    image = stored_image("fmt/conv")
    assert image.get("vips-loader").startswith("jpeg") and image.bands == 3
    assert (image.width, image.height) == (40, 30)
    version = AssetVersion.objects.get(asset__public_id="fmt/conv")
    assert version.format == "jpg" and version.bytes == body["bytes"]
    webp = upload(make_image(20, 10), public_id="fmt/webp", format="webp").json()
    assert webp["format"] == "webp" and stored_image("fmt/webp").get("vips-loader").startswith("webp")
    bad = upload(make_image(20, 10), public_id="fmt/bad", format="exe")
    assert bad.status_code == 400 and "format" in bad.json()["error"]["message"]
    assert not Asset.objects.filter(public_id="fmt/bad").exists()


def test_allowed_formats_from_a_preset(admin, upload, client):
    created = admin.post("upload_presets", {"name": "only_png", "unsigned": "true", "allowed_formats": "png"})
    assert created.status_code == 200, created.content
    import io

    def unsigned(data, name):
        f = io.BytesIO(data)
        f.name = name
        return client.post(f"/v1_1/{CLOUD}/image/upload", {"file": f, "upload_preset": "only_png"})

    assert unsigned(make_image(8, 8, fmt="png"), "a.png").status_code == 200
    refused = unsigned(make_image(8, 8), "a.jpg")
    assert refused.status_code == 400 and "not allowed" in refused.json()["error"]["message"]


# --- access_mode and access_control ---------------------------------------------------


def test_access_mode_and_access_control_stored_and_returned(admin, upload):
    acl = '[{"access_type":"anonymous","start":"2019-02-22T16:20:57.000Z","end":"2019-03-22 00:00 +0200"}]'
    body = upload(make_image(), public_id="acl/a", access_mode="authenticated", access_control=acl).json()
    assert body["access_mode"] == "authenticated"
    assert body["access_control"] == [{"access_type": "anonymous", "start": "2019-02-22T16:20:57Z",
                                       "end": "2019-03-21T22:00:00Z"}]
    details = admin.get("resources/image/upload/acl/a").json()
    assert details["access_mode"] == "authenticated" and details["access_control"] == body["access_control"]
    updated = admin.post("resources/image/upload/acl/a",
                         {"access_mode": "public", "access_control": [{"access_type": "token"}]}).json()
    assert updated["access_mode"] == "public" and updated["access_control"] == [{"access_type": "token"}]
    asset = Asset.objects.get(public_id="acl/a")
    assert asset.access_mode == "public" and asset.access_control == [{"access_type": "token"}]
    plain = upload(make_image(), public_id="acl/plain").json()
    assert plain["access_mode"] == "public" and "access_control" not in plain
    for bad in ({"access_mode": "secret"}, {"access_control": "[{\"access_type\": \"everyone\"}]"},
                {"access_control": "[{\"access_type\": \"anonymous\", \"start\": \"soon\"}]"},
                {"access_control": "not json"}):
        refused = upload(make_image(), public_id="acl/bad", **bad)
        assert refused.status_code == 400, bad
        assert "access_" in refused.json()["error"]["message"] or "JSON" in refused.json()["error"]["message"]
    assert not Asset.objects.filter(public_id="acl/bad").exists()
    # an update with a bad one changes nothing
    assert admin.post("resources/image/upload/acl/a", {"access_mode": "nope", "tags": "t"}).status_code == 400
    assert Asset.objects.get(public_id="acl/a").tag_names == []


# --- eval and on_success --------------------------------------------------------------------


def test_eval_and_on_success_refused_never_run(upload, admin):
    for name in ("eval", "on_success"):
        refused = upload(make_image(), public_id=f"code/{name}", **{name: "upload_options['tags'] = 'x'"})
        assert refused.status_code == 400
        assert name in refused.json()["error"]["message"] and "not supported" in refused.json()["error"]["message"]
        assert not Asset.objects.filter(public_id=f"code/{name}").exists()
    upload(make_image(), public_id="code/ok")
    explicit = upload(None, action="explicit", public_id="code/ok", type="upload", eval="x")
    assert explicit.status_code == 400


# --- bearer tokens ----------------------------------------------------------------------------


def test_bearer_token_answered_invalid_token(client):
    for path in (f"/v1_1/{CLOUD}/ping", f"/v1_1/{CLOUD}/resources/image"):
        response = client.get(path, HTTP_AUTHORIZATION="Bearer MTQ0NjJkZmQ5OTM2NDE1ZTZjNGZmZjI4")
        assert response.status_code == 401 and response.json()["error"]["message"] == "Invalid token"
    response = client.post(f"/v1_1/{CLOUD}/image/upload", {"file": "data:,x"},
                           HTTP_AUTHORIZATION="Bearer abc")
    assert response.status_code == 401 and response.json()["error"]["message"] == "Invalid token"


# --- start_at -----------------------------------------------------------------------------------


@pytest.mark.parametrize("text, iso", [
    ("Sat Dec 05 2026 06:27:24 GMT+0100 (Central European Standard Time)", "2026-12-05T05:27:24+00:00"),
    ("Sat, 05 Dec 2026 06:27:24 GMT", "2026-12-05T06:27:24+00:00"),
    ("2026-12-05T06:27:24.000Z", "2026-12-05T06:27:24+00:00"),
    ("2018-02-22 16:20:57 +0200", "2018-02-22T14:20:57+00:00"),
    ("2024-05-01", "2024-05-01T00:00:00+00:00"),
])
def test_parse_moment(text, iso):
    assert parse_moment(text).isoformat() == iso


@pytest.mark.parametrize("text", ["tomorrow", "Foo Bar 99 2026 25:00:00", "9" * 12, "2024-13-40",
                                  "2024-01-01" + " " * 5000 + "x"])
def test_parse_moment_refuses(text):
    with pytest.raises(BadRequest):
        parse_moment(text)


def test_start_at_as_the_node_sdk_sends_it(admin, put_image):
    put_image("old")
    Asset.objects.filter(public_id="old").update(created_at="2020-01-01T00:00:00Z")
    put_image("new")
    rows = admin.get("resources/image/upload", {"start_at": "Wed Jan 01 2025 00:00:00 GMT+0000 (UTC)",
                                                "direction": "asc"}).json()["resources"]
    assert [r["public_id"] for r in rows] == ["new"]
    bad = admin.get("resources/image/upload", {"start_at": "yesterday"})
    assert bad.status_code == 400 and "start_at" in bad.json()["error"]["message"]


# --- phash ---------------------------------------------------------------------------------------


def gradient(width, height, flip=False, seed=3) -> pyvips.Image:
    """Smooth blobs (blurred noise at 16x12, enlarged): a picture with structure at low frequencies."""
    rng = np.random.default_rng(seed)
    coarse = pyvips.Image.new_from_array(rng.uniform(0, 255, (12, 16)).astype(np.uint8))
    image = coarse.resize(width / 16, vscale=height / 12, kernel="cubic").gaussblur(width / 64)
    return image.flip("horizontal") if flip else image


def distance(a: str, b: str) -> int:
    return bin(int(a, 16) ^ int(b, 16)).count("1")


def test_phash_is_perceptual():
    big = phash.of_image(gradient(400, 300))
    small = phash.of_image(gradient(100, 75))
    mirrored = phash.of_image(gradient(400, 300, flip=True))
    assert len(big) == 16 and int(big, 16) >= 0
    assert distance(big, small) <= 8  # the same picture at another size
    assert distance(big, mirrored) >= 16  # another picture


def test_phash_on_upload_explicit_and_details(upload, admin):
    data = gradient(200, 150).jpegsave_buffer(Q=90)
    body = upload(data, public_id="ph/a", phash="true").json()
    assert len(body["phash"]) == 16
    assert "phash" not in upload(data, public_id="ph/b").json()
    assert AssetVersion.objects.get(asset__public_id="ph/a").phash == body["phash"]
    details = admin.get("resources/image/upload/ph/b", {"phash": "true"}).json()
    assert distance(details["phash"], body["phash"]) <= 2
    explicit = upload(None, action="explicit", public_id="ph/a", type="upload", phash="true").json()
    assert explicit["phash"] == body["phash"]
    assert "phash" not in admin.get("resources/image/upload/ph/a").json()
