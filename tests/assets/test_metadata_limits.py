"""Limits on tags and context (issue 10, item 10; assets.metadata).

Every way in (upload, unsigned upload, explicit, the Admin API's update, the tags and
context APIs, rename, the Studio) answers a clear 400 (422 on a Studio form) past a
limit, and changes nothing.
"""

from __future__ import annotations

import io

import pytest
from django.test import Client

from assets.models import Asset, UploadPreset
from tests.admin_client import admin  # noqa: F401 (fixture)
from tests.conftest import CLOUD, make_image, signed
from tests.studio_fixtures import login, users  # noqa: F401 (fixtures)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def limits(settings):
    settings.DAM_MAX_TAGS = 3
    settings.DAM_MAX_TAG_LENGTH = 10
    settings.DAM_MAX_CONTEXT_KEY_LENGTH = 8
    settings.DAM_MAX_CONTEXT_VALUE_LENGTH = 12
    settings.DAM_MAX_CONTEXT_BYTES = 40


def error(response) -> str:
    assert response.status_code == 400, response.content
    return response.json()["error"]["message"]


@pytest.fixture
def photo(upload):
    body = upload(make_image(20, 10), public_id="limits/photo", tags="a,b", context="k=v").json()
    return Asset.objects.get(public_id=body["public_id"])


def unchanged(asset: Asset) -> bool:
    fresh = Asset.objects.get(pk=asset.pk)
    return fresh.tag_names == ["a", "b"] and fresh.context == {"k": "v"} and fresh.public_id == "limits/photo"


@pytest.mark.parametrize("params, words", [
    ({"tags": "a,b,c,d"}, "Too many tags: at most 3 per asset (4 given)"),
    ({"tags": "a,elevenchars"}, "is longer than 10 characters"),
    ({"context": "ninechars=v"}, "must be 1 to 8 characters"),
    ({"context": "k=thirteen char"}, "is longer than 12 characters"),
    ({"context": "aaaaaaaa=bbbbbbbbbbbb|cccccccc=dddddddddddd|e=f"}, "Context too large: 42 bytes"),
])
def test_upload_past_a_limit_is_a_400_and_stores_nothing(upload, params, words):
    assert words in error(upload(make_image(), public_id="refused", **params))
    assert not Asset.objects.exists()


def test_context_total_counts_utf8_bytes(upload):
    # 2 keys of 1 char + 2 values of 10 two-byte characters: 42 bytes, though 22 characters
    assert "Context too large: 42 bytes" in error(upload(make_image(), context="a=éééééééééé|b=éééééééééé"))
    assert upload(make_image(), context="a=éééééééééé|b=ééééééééé").status_code == 200


def test_an_unsigned_upload_counts_the_presets_tags_too():
    UploadPreset.objects.create(name="open", unsigned=True, settings={"tags": "p1,p2"})
    data = {"upload_preset": "open", "tags": "mine,yours", "file": io.BytesIO(make_image())}
    data["file"].name = "a.jpg"
    response = Client().post(f"/v1_1/{CLOUD}/image/upload", data)
    assert "Too many tags" in error(response) and not Asset.objects.exists()


def test_explicit_past_a_limit_changes_nothing(upload, photo):
    assert "Too many tags" in error(upload(None, action="explicit", public_id=photo.public_id, type="upload",
                                           tags="w,x,y,z", context="k=new"))
    assert "Context too large" in error(upload(None, action="explicit", public_id=photo.public_id, type="upload",
                                               tags="c", context="aaaaaaaa=bbbbbbbbbbbb|cccccccc=dddddddddddd|e=f"))
    assert unchanged(photo)


def test_admin_update_past_a_limit_changes_nothing(admin, photo):  # noqa: F811
    path = f"resources/image/upload/{photo.public_id}"
    assert "longer than 10" in error(admin.post(path, {"tags": "ok,waytoolongatag", "context": "k=new"}))
    assert "must be 1 to 8" in error(admin.post(path, {"tags": "c", "context": {"ninechars": "x"}}))
    assert unchanged(photo)
    assert admin.post(path, {"tags": "c,d", "context": {"k": "w"}}).status_code == 200


def sdk_post(client, api_key, action: str, params: dict):
    """Signed as the SDK signs a list (comma-joined), sent as it sends one (``key[]`` fields)."""
    payload = signed(params, api_key)
    body = {f"{k}[]" if isinstance(v, list) else k: v for k, v in payload.items()}
    return client.post(f"/v1_1/{CLOUD}/image/{action}", body)


def test_tags_api_checks_the_count_each_asset_would_have(client, api_key, upload, photo):
    upload(make_image(), public_id="limits/bare")
    both = ["limits/bare", photo.public_id]
    response = sdk_post(client, api_key, "tags", {"command": "add", "tag": "c,d", "public_ids": both})
    assert "Too many tags: at most 3 per asset (4 given)" in error(response)
    assert unchanged(photo) and Asset.objects.get(public_id="limits/bare").tag_names == []  # one transaction
    assert sdk_post(client, api_key, "tags", {"command": "add", "tag": "c", "public_ids": both}).status_code == 200
    assert Asset.objects.get(pk=photo.pk).tag_names == ["a", "b", "c"]
    too_long = {"command": "replace", "tag": "elevenchars", "public_ids": [photo.public_id]}
    assert "longer than 10" in error(sdk_post(client, api_key, "tags", too_long))


def test_context_api_checks_the_merged_context(client, api_key, photo):
    payload = {"command": "add", "context": "aaaaaaaa=bbbbbbbbbbbb|cccccccc=dddddddddddd",
               "public_ids": [photo.public_id]}
    assert "Context too large: 42" in error(sdk_post(client, api_key, "context", payload))  # with k=v: 42 bytes
    assert unchanged(photo)


def test_rename_with_too_much_context_is_refused(upload, photo):
    response = upload(None, action="rename", from_public_id=photo.public_id, to_public_id="limits/moved",
                      context="k=thirteen char")
    assert "longer than 12" in error(response)
    assert unchanged(photo)


def test_the_documented_defaults(settings, upload):
    settings.DAM_MAX_TAGS, settings.DAM_MAX_TAG_LENGTH = 1000, 255  # Cloudinary's documented limits
    assert upload(make_image(), tags="t" * 255).status_code == 200
    assert "longer than 255 characters" in error(upload(make_image(), tags="t" * 256))
    assert "at most 1000 per asset (1001 given)" in error(
        upload(make_image(), tags=",".join(f"t{n}" for n in range(1001))))


# --- the Studio ----------------------------------------------------------------------------------


def test_studio_tags_form_and_bulk_tagging(login, photo, upload):
    client = login("editor")
    response = client.post(f"/assets/{photo.asset_id}/tags/", {"tags": "a, b, c, d"})
    assert response.status_code == 422 and "Too many tags: at most 3 per asset (4 given)." in response.content.decode()
    assert unchanged(photo)
    upload(make_image(), public_id="limits/bare")
    ids = [photo.asset_id, Asset.objects.get(public_id="limits/bare").asset_id]
    page = client.post("/library/-/bulk/", {"action": "tag", "tags": "x, y", "ids": ids}, follow=True)
    assert "limits/photo: Too many tags" in page.content.decode()  # reported; the other asset is tagged
    assert unchanged(photo) and Asset.objects.get(public_id="limits/bare").tag_names == ["x", "y"]


def test_studio_context_form(login, photo):
    client = login("editor")
    context = "aaaaaaaa=bbbbbbbbbbbb\ncccccccc=dddddddddddd\ne=f"
    response = client.post(f"/assets/{photo.asset_id}/context/", {"context": context})
    assert response.status_code == 422 and "Context too large" in response.content.decode()
    assert unchanged(photo)
