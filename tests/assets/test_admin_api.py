"""Admin API (``/v1_1/<cloud>/...`` with HTTP Basic): auth, errors, rate limits, usage,
tags and reading and updating resources, through the Django test client.

Assets are made through the real Upload API from generated images; sizes tell
versions apart. Bodies go as JSON (what the Python SDK sends), form-encoded or multipart.
"""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from django.db import connection

from assets.api.admin_base import encode_cursor
from assets.models import Asset, AssetVersion
from tests.admin_client import admin, basic, put_image  # noqa: F401  (fixtures)
from tests.conftest import CLOUD

pytestmark = pytest.mark.django_db


# --- auth, errors, rate limits ---------------------------------------------------------


def test_ping_answers_ok_with_rate_limit_headers(admin, settings):
    response = admin.get("ping")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert response["X-FeatureRateLimit-Limit"] == str(settings.DAM_API_RATE_LIMIT)
    assert int(response["X-FeatureRateLimit-Remaining"]) == settings.DAM_API_RATE_LIMIT - 1
    assert response["X-FeatureRateLimit-Reset"].endswith("GMT")


@pytest.mark.parametrize("header, status", [
    (None, 401),
    ("wrong-secret", 401),
    ("unknown-key", 401),
    ("Basic !!!not-base64", 401),
    ("Bearer sometoken", 401),
])
def test_credentials_are_required(client, api_key, header, status):
    headers = {}
    if header == "wrong-secret":
        headers["HTTP_AUTHORIZATION"] = basic(api_key.key, "nope")
    elif header == "unknown-key":
        headers["HTTP_AUTHORIZATION"] = basic("123456789012345", api_key.secret)
    elif header is not None:
        headers["HTTP_AUTHORIZATION"] = header
    for path in ("ping", "resources/image", "folders", "upload_presets", "tags/image"):
        response = client.get(f"/v1_1/{CLOUD}/{path}", **headers)
        assert response.status_code == status, path
        assert "message" in response.json()["error"]


def test_unknown_cloud_is_404(client, api_key):
    response = client.get("/v1_1/othercloud/ping", HTTP_AUTHORIZATION=basic(api_key.key, api_key.secret))
    assert response.status_code == 404
    assert "othercloud" in response.json()["error"]["message"]


def test_rate_limit_gives_420_with_headers(admin, settings):
    settings.DAM_API_RATE_LIMIT = 3  # counted in the database (assets.throttle), per key per clock hour
    for remaining in (2, 1, 0):
        response = admin.get("ping")
        assert response.status_code == 200
        assert response["X-FeatureRateLimit-Remaining"] == str(remaining)
    response = admin.get("ping")
    assert response.status_code == 420
    assert "Rate Limit Exceeded" in response.json()["error"]["message"]
    assert response["X-FeatureRateLimit-Remaining"] == "0"


@pytest.mark.parametrize("method, path, params, status", [
    ("get", "resources/image", {"next_cursor": "not-a-cursor"}, 400),
    ("get", "transformations", {"next_cursor": encode_cursor("transformations", "abc")}, 400),
    ("get", "upload_presets", {"next_cursor": encode_cursor("preset", ["x"])}, 400),
    ("get", "resources/image", {"max_results": "0"}, 400),
    ("get", "resources/image", {"max_results": "501"}, 400),
    ("get", "resources/image", {"max_results": "ten"}, 400),
    ("get", "resources/image", {"direction": "sideways"}, 400),
    ("get", "resources/image", {"start_at": "yesterday"}, 400),
    ("get", "resources/image", {"tags": "maybe"}, 400),
    ("get", "resources/document", {}, 400),
    ("get", "resources/image/nonsense", {}, 400),
    ("get", "resources/image/upload/missing", {}, 404),
    ("get", "resources/0123456789abcdef0123456789abcdef", {}, 404),
    ("get", "resources/image/context", {}, 400),
    ("post", "resources/image/upload/missing", {"tags": "a"}, 404),
    ("delete", "resources/image/upload", {}, 400),
    ("get", "folders/nowhere", {}, 404),
    ("delete", "folders/nowhere", {}, 404),
    ("get", "upload_presets/none", {}, 404),
    ("put", "upload_presets/none", {"folder": "x"}, 404),
    ("delete", "upload_presets/none", {}, 404),
    ("post", "upload_presets", {"name": "bad/name"}, 400),
    ("post", "ping", {}, 405),
    ("post", "resources/image", {}, 405),
    ("get", "tags/document", {}, 400),
])
def test_errors_have_cloudinary_shape(admin, method, path, params, status):
    response = getattr(admin, method)(path, params)
    assert response.status_code == status, response.content
    assert isinstance(response.json()["error"]["message"], str)
    assert "X-FeatureRateLimit-Limit" in response


def test_malformed_json_body_is_400(admin):
    response = admin.client.post(admin.url("upload_presets"), "{not json", content_type="application/json",
                                 **admin.auth)
    assert response.status_code == 400
    assert "error" in response.json()


# --- usage, resource types, tags -----------------------------------------------------------


def test_usage_counts_resources_and_storage(admin, put_image):
    first = put_image("u/one", 64, 48)
    second = put_image("u/two", 80, 60, seed=1)
    put_image("u/two", 32, 32, seed=2, overwrite="true", backup="true")  # backup keeps the old file
    body = admin.get("usage").json()
    assert body["resources"] == 2
    assert body["derived_resources"] == 0
    expected = first["bytes"] + second["bytes"] + Asset.objects.get(public_id="u/two").bytes
    assert body["storage"]["usage"] == expected
    assert body["objects"]["usage"] == 2
    for key in ("plan", "last_updated", "requests", "bandwidth", "transformations", "credits", "media_limits"):
        assert key in body
    assert admin.get("usage/2024-01-01").status_code == 200


def test_resource_types(admin, put_image):
    assert admin.get("resources").json() == {"resource_types": []}
    put_image("a")
    assert admin.get("resources").json() == {"resource_types": ["image"]}


def test_tags_listing_with_prefix_and_pages(admin, put_image):
    put_image("t1", tags="alpha,beta,shared")
    put_image("t2", tags="gamma,shared,beta2")
    assert admin.get("tags/image").json()["tags"] == ["alpha", "beta", "beta2", "gamma", "shared"]
    assert admin.get("tags/image", {"prefix": "be"}).json()["tags"] == ["beta", "beta2"]
    seen, cursor = [], None
    while True:
        body = admin.get("tags/image", {"max_results": 2, **({"next_cursor": cursor} if cursor else {})}).json()
        seen += body["tags"]
        cursor = body.get("next_cursor")
        if not cursor:
            break
    assert seen == ["alpha", "beta", "beta2", "gamma", "shared"]
    assert admin.get("tags/video").json() == {"tags": []}


# --- listing resources ------------------------------------------------------------------------


def _all_pages(admin, path, params):
    pages, cursor = [], None
    while True:
        body = admin.get(path, {**params, **({"next_cursor": cursor} if cursor else {})}).json()
        pages.append([r["public_id"] for r in body["resources"]])
        cursor = body.get("next_cursor")
        if not cursor:
            return pages


def test_list_paginates_25_assets_newest_first(admin, put_image):
    for i in range(25):
        put_image(f"p/{i:02d}", 16, 16, seed=i)
    pages = _all_pages(admin, "resources/image/upload", {"max_results": 10})
    assert [len(p) for p in pages] == [10, 10, 5]
    flat = [pid for p in pages for pid in p]
    assert flat == [f"p/{i:02d}" for i in reversed(range(25))]
    asc = [pid for p in _all_pages(admin, "resources/image", {"max_results": 7, "direction": "asc"}) for pid in p]
    assert asc == [f"p/{i:02d}" for i in range(25)]
    default = admin.get("resources/image").json()
    assert len(default["resources"]) == 10 and "next_cursor" in default


def test_cursor_is_stable_when_assets_arrive_between_pages(admin, put_image):
    for i in range(6):
        put_image(f"s{i}", 16, 16, seed=i)
    first = admin.get("resources/image", {"max_results": 3}).json()
    put_image("newcomer", 16, 16, seed=99)
    second = admin.get("resources/image", {"max_results": 3, "next_cursor": first["next_cursor"]}).json()
    assert [r["public_id"] for r in first["resources"]] == ["s5", "s4", "s3"]
    assert [r["public_id"] for r in second["resources"]] == ["s2", "s1", "s0"]
    assert "next_cursor" not in second


def test_cursor_of_one_ordering_is_refused_by_another(admin, put_image):
    for i in range(3):
        put_image(f"c{i}", 16, 16, seed=i)
    cursor = admin.get("resources/image", {"max_results": 1}).json()["next_cursor"]
    response = admin.get("resources/image", {"max_results": 1, "direction": "asc", "next_cursor": cursor})
    assert response.status_code == 400


def test_prefix_lists_by_public_id_case_sensitively(admin, put_image):
    for pid in ("photos/b", "photos/a", "Photos/c", "photosynthesis", "other/x", "photos/sub/z"):
        put_image(pid, 16, 16)
    ids = [pid for p in _all_pages(admin, "resources/image/upload", {"prefix": "photos/", "max_results": 2})
           for pid in p]
    assert ids == ["photos/a", "photos/b", "photos/sub/z"]
    body = admin.get("resources/image", {"prefix": "photos", "direction": "desc"}).json()
    assert [r["public_id"] for r in body["resources"]] == ["photosynthesis", "photos/sub/z", "photos/b", "photos/a"]


def test_tags_and_context_only_when_asked(admin, put_image):
    put_image("tc", tags="x,y", context="alt=A cat|caption=On a mat")
    plain = admin.get("resources/image/upload").json()["resources"][0]
    assert "tags" not in plain and "context" not in plain
    full = admin.get("resources/image/upload", {"tags": "true", "context": "true"}).json()["resources"][0]
    assert full["tags"] == ["x", "y"]
    assert full["context"] == {"custom": {"alt": "A cat", "caption": "On a mat"}}


def test_resources_by_public_ids_keep_the_requested_order(admin, put_image):
    for pid in ("one", "two", "dir/three"):
        put_image(pid, 16, 16)
    response = admin.client.get(admin.url("resources/image/upload") + "?"
                                + urlencode({"public_ids[]": ["dir/three", "missing", "one"]}, doseq=True),
                                **admin.auth)
    assert [r["public_id"] for r in response.json()["resources"]] == ["dir/three", "one"]


def test_start_at_filters_by_creation_time(admin, put_image):
    put_image("old", 16, 16)
    assert len(admin.get("resources/image", {"start_at": "2000-01-01 00:00:00"}).json()["resources"]) == 1
    assert admin.get("resources/image", {"start_at": "2999-01-01T00:00:00"}).json()["resources"] == []


def test_other_types_and_resource_types_are_listed_apart(admin, put_image):
    put_image("pub", 16, 16)
    put_image("priv", 16, 16, type="private")
    assert [r["public_id"] for r in admin.get("resources/image/private").json()["resources"]] == ["priv"]
    assert len(admin.get("resources/image").json()["resources"]) == 2
    assert admin.get("resources/video").json()["resources"] == []


def test_resources_by_tag(admin, put_image):
    put_image("a", 16, 16, tags="red")
    put_image("b", 16, 16, tags="red,blue")
    put_image("c", 16, 16, tags="blue")
    assert [r["public_id"] for r in admin.get("resources/image/tags/red").json()["resources"]] == ["b", "a"]
    pages = _all_pages(admin, "resources/image/tags/blue", {"max_results": 1})
    assert pages == [["c"], ["b"]]
    assert admin.get("resources/image/tags/none").json()["resources"] == []


def test_resources_by_context(admin, put_image):
    put_image("k1", 16, 16, context="mood=happy")
    put_image("k2", 16, 16, context="mood=sad|extra=1")
    put_image("k3", 16, 16)
    by_key = admin.get("resources/image/context", {"key": "mood"}).json()["resources"]
    assert sorted(r["public_id"] for r in by_key) == ["k1", "k2"]
    by_value = admin.get("resources/image/context", {"key": "mood", "value": "sad", "context": "true"}).json()
    assert [r["public_id"] for r in by_value["resources"]] == ["k2"]
    assert by_value["resources"][0]["context"]["custom"]["mood"] == "sad"


@pytest.mark.parametrize("key", ["a.b", 'we"ird', "$", "sp ace", "ключ", "x[0]", "back\\slash"])
def test_context_keys_with_odd_characters(admin, put_image, key):
    put_image("odd", 16, 16)
    assert admin.post("resources/image/upload/odd", {"context": {key: "val"}}).status_code == 200
    if connection.vendor == "sqlite" and ('"' in key or "\\" in key):
        assert admin.get("resources/image/context", {"key": key}).status_code == 400
        return
    for params in ({"key": key}, {"key": key, "value": "val"}):
        response = admin.get("resources/image/context", params)
        assert response.status_code == 200, response.content
        assert [r["public_id"] for r in response.json()["resources"]] == ["odd"]
    assert admin.get("resources/image/context", {"key": key, "value": "other"}).json()["resources"] == []


def test_resources_by_asset_id_and_by_asset_ids(admin, put_image):
    one = put_image("folder/one", 16, 16)
    two = put_image("two", 16, 16)
    detail = admin.get(f"resources/{one['asset_id']}").json()
    assert detail["public_id"] == "folder/one" and detail["asset_id"] == one["asset_id"]
    response = admin.client.get(admin.url("resources/by_asset_ids") + "?" + urlencode(
        {"asset_ids[]": [two["asset_id"], one["asset_id"]]}, doseq=True), **admin.auth)
    assert [r["public_id"] for r in response.json()["resources"]] == ["two", "folder/one"]
    by_folder = admin.get("resources/by_asset_folder", {"asset_folder": "folder"}).json()
    assert [r["public_id"] for r in by_folder["resources"]] == ["folder/one"]


# --- one resource -------------------------------------------------------------------------------


def test_resource_details_with_versions_coordinates_and_derived(admin, put_image):
    put_image("deep/path/pic", 64, 48, backup="true", face_coordinates="1,2,3,4", custom_coordinates="5,6,7,8")
    put_image("deep/path/pic", 32, 24, seed=3, overwrite="true")
    body = admin.get("resources/image/upload/deep/path/pic", {"versions": "true", "coordinates": "true",
                                                              "faces": "true"}).json()
    assert body["public_id"] == "deep/path/pic" and (body["width"], body["height"]) == (32, 24)
    assert body["derived"] == []
    versions = body["versions"]
    assert len(versions) == 2
    assert set(versions[0]) == {"version_id", "version", "format", "size", "time", "restorable"}
    assert versions[0]["version_id"] == body["version_id"] and versions[0]["size"] == body["bytes"]
    assert versions[1]["restorable"] is True and versions[1]["version"] < versions[0]["version"]
    assert body["backup_bytes"] == AssetVersion.objects.get(version_id=versions[1]["version_id"]).bytes
    # a new version clears the coordinates of the old one
    assert body["coordinates"] == {"faces": [], "custom": []} and body["faces"] == []


def test_resource_details_defaults(admin, put_image):
    put_image("plain", 16, 16, tags="t")
    body = admin.get("resources/image/upload/plain").json()
    assert body["tags"] == ["t"] and "context" not in body  # empty context left out, as Cloudinary does
    assert body["backup_bytes"] == 0
    assert "versions" not in body and "coordinates" not in body and "faces" not in body


@pytest.mark.parametrize("as_", ["json", "form", "multipart"])
def test_update_replaces_tags_context_and_coordinates(admin, put_image, as_):
    put_image("upd/x", 64, 64, tags="old,keep")
    response = admin.post("resources/image/upload/upd/x", {
        "tags": "new,other", "context": "alt=Hello \\= world|k=v",
        "face_coordinates": "10,20,30,40|1,2,3,4", "custom_coordinates": "0,0,5,5",
    }, as_=as_)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["tags"] == ["new", "other"]
    assert body["context"] == {"custom": {"alt": "Hello = world", "k": "v"}}
    asset = Asset.objects.get(public_id="upd/x")
    assert asset.face_coordinates == [[10, 20, 30, 40], [1, 2, 3, 4]]
    assert asset.custom_coordinates == [[0, 0, 5, 5]]
    got = admin.get("resources/image/upload/upd/x", {"coordinates": "true"}).json()
    assert got["coordinates"] == {"faces": [[10, 20, 30, 40], [1, 2, 3, 4]], "custom": [[0, 0, 5, 5]]}


@pytest.mark.parametrize("params, tags, context", [
    ({"tags": ""}, [], {"a": "1"}),
    ({"context": ""}, ["t"], {}),
    ({"context": {"b": "2"}}, ["t"], {"b": "2"}),
    ({}, ["t"], {"a": "1"}),
])
def test_update_table(admin, put_image, params, tags, context):
    put_image("tbl", 16, 16, tags="t", context="a=1")
    assert admin.post("resources/image/upload/tbl", params).status_code == 200
    asset = Asset.objects.get(public_id="tbl")
    assert asset.tag_names == tags and asset.context == context


def test_update_by_asset_id_and_bad_coordinates(admin, put_image):
    asset_id = put_image("ua", 16, 16)["asset_id"]
    assert admin.post(f"resources/{asset_id}", {"tags": "z"}).json()["tags"] == ["z"]
    response = admin.post("resources/image/upload/ua", {"face_coordinates": "1,2,3"})
    assert response.status_code == 400
