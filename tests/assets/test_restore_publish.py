"""Restore with Cloudinary's placeholder semantics, publish_resources, GET config (Admin API)."""

from __future__ import annotations

import pyvips
import pytest

from assets.models import ApiKey, Asset
from tests.admin_client import admin, basic, put_image, stored_size  # noqa: F401  (fixtures)
from tests.conftest import CLOUD


def delivered(client, path: str):
    response = client.get(f"/{CLOUD}/image/{path}")
    image = pyvips.Image.new_from_buffer(b"".join(response.streaming_content) if response.streaming
                                         else response.content, "") if response.status_code == 200 else None
    return response.status_code, image


# --- placeholders and restore ----------------------------------------------------------


def test_deleted_asset_with_backup_reads_as_a_placeholder(admin, put_image, client):
    first = put_image("ph/pic", 30, 20, backup="true", tags="kept")
    admin.delete("resources/image/upload", {"public_ids": ["ph/pic"]})
    body = admin.get("resources/image/upload/ph/pic").json()
    assert (body["placeholder"], body["bytes"], body["width"], body["height"]) == (True, 0, 0, 0)
    assert (body["public_id"], body["asset_id"], body["tags"]) == ("ph/pic", first["asset_id"], ["kept"])
    assert [v["version_id"] for v in body["versions"]] == [first["version_id"]]
    assert admin.get(f"resources/{first['asset_id']}").json()["placeholder"] is True
    assert delivered(client, "upload/ph/pic.jpg")[0] == 404  # a placeholder is never delivered
    assert not Asset.objects.filter(public_id="ph/pic").exists()  # listings and the Library do not see it

    restored = admin.post("resources/image/upload/restore", {"public_ids": ["ph/pic"]}).json()["ph/pic"]
    assert (restored["bytes"], restored["placeholder"], restored["width"]) == (first["bytes"], False, 30)
    assert restored["asset_id"] == first["asset_id"]  # it comes back as the same asset
    detail = admin.get("resources/image/upload/ph/pic").json()
    assert (detail["bytes"], detail["placeholder"]) == (first["bytes"], False)
    status, image = delivered(client, "upload/ph/pic.jpg")
    assert status == 200 and (image.width, image.height) == (30, 20)


def test_deleted_asset_without_backup_is_gone(admin, put_image):
    put_image("nobackup", 16, 16)
    admin.delete("resources/image/upload", {"public_ids": ["nobackup"]})
    response = admin.get("resources/image/upload/nobackup")
    assert response.status_code == 404 and "nobackup" in response.json()["error"]["message"]
    assert admin.post("resources/image/upload/restore", {"public_ids": ["nobackup"]}).json() == {
        "nobackup": {"error": "no_backup"}}


def test_restore_by_asset_ids(admin, put_image):
    first = put_image("byid", 40, 30, backup="true")
    live = put_image("liveid", 20, 20, backup="true")
    put_image("liveid", 22, 22, seed=3, overwrite="true", backup="true")
    admin.delete("resources/image/upload", {"public_ids": ["byid"]})
    body = admin.post("resources/restore", {"asset_ids": [first["asset_id"], live["asset_id"], "f" * 32],
                                            "versions": [live["version_id"]]}).json()
    assert (body[first["asset_id"]]["public_id"], body[first["asset_id"]]["width"]) == ("byid", 40)
    assert body[live["asset_id"]]["width"] == 20  # a live asset's backed-up version
    assert body["f" * 32] == {"error": "no_backup"}
    assert stored_size(Asset.objects.get(public_id="byid")) == (40, 30)
    assert admin.post("resources/restore", {}).status_code == 400


# --- publish_resources --------------------------------------------------------------------


def test_publish_by_ids_makes_authenticated_assets_public(admin, put_image, client):
    put_image("pub/a", 24, 16, type="authenticated")
    put_image("pub/b", 24, 16, type="private")
    assert delivered(client, "upload/pub/a.jpg")[0] == 404
    body = admin.post("resources/image/publish_resources", {"public_ids": ["pub/a", "pub/b", "pub/none"]}).json()
    assert sorted(p["public_id"] for p in body["published"]) == ["pub/a", "pub/b"]
    assert all(p["type"] == "upload" for p in body["published"])
    assert body["failed"] == [{"public_id": "pub/none", "error": "not_found"}]
    assert set(Asset.objects.values_list("type", flat=True)) == {"upload"}
    status, image = delivered(client, "upload/pub/a.jpg")
    assert status == 200 and (image.width, image.height) == (24, 16)


def test_publish_by_prefix_tag_and_type(admin, put_image):
    put_image("pp/one", type="authenticated", tags="go")
    put_image("pp/two", type="private")
    put_image("other", type="authenticated", tags="go")
    # type narrows: a private asset is not published by type=authenticated
    body = admin.post("resources/image/publish_resources", {"prefix": "pp/", "type": "authenticated"}).json()
    assert [p["public_id"] for p in body["published"]] == ["pp/one"]
    assert Asset.objects.get(public_id="pp/two").type == "private"
    body = admin.post("resources/image/publish_resources", {"tag": "go"}).json()
    assert [p["public_id"] for p in body["published"]] == ["other"]
    body = admin.post("resources/image/publish_resources", {"public_ids": ["pp/two"], "type": "authenticated"})
    assert body.json() == {"published": [], "failed": [{"public_id": "pp/two", "error": "not_found"}]}


def test_publish_over_an_existing_public_asset(admin, put_image):
    put_image("clash", 10, 10)
    put_image("clash", 20, 20, type="authenticated")
    body = admin.post("resources/image/publish_resources", {"public_ids": ["clash"]}).json()
    assert body["published"] == [] and body["failed"][0]["public_id"] == "clash"
    assert "already exists" in body["failed"][0]["error"]
    assert Asset.objects.filter(public_id="clash").count() == 2
    body = admin.post("resources/image/publish_resources", {"public_ids": ["clash"], "overwrite": True}).json()
    assert [p["public_id"] for p in body["published"]] == ["clash"]
    only = Asset.objects.get(public_id="clash")
    assert (only.type, only.width) == ("upload", 20)


@pytest.mark.parametrize("params,message", [
    ({}, "public_ids, prefix or tag"),
    ({"prefix": "x", "type": "nonsense"}, "type"),
    ({"prefix": "x", "overwrite": "maybe"}, "overwrite"),
])
def test_publish_refuses_bad_input(admin, params, message):
    response = admin.post("resources/image/publish_resources", params)
    assert response.status_code == 400 and message in response.json()["error"]["message"]


def test_publish_needs_a_writing_key(client, db):
    viewer = ApiKey.objects.create(name="viewer", role="viewer")
    response = client.post(f"/v1_1/{CLOUD}/resources/image/publish_resources", {"prefix": "x"},
                           HTTP_AUTHORIZATION=basic(viewer.key, viewer.secret))
    assert response.status_code == 403


# --- config ------------------------------------------------------------------------------


def test_config(admin, api_key):
    body = admin.get("config").json()
    assert body["cloud_name"] == CLOUD and "settings" not in body
    assert body["created_at"] == api_key.created_at.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert admin.get("config", {"settings": "true"}).json()["settings"] == {"folder_mode": "fixed"}
    assert admin.get("config", {"settings": "perhaps"}).status_code == 400


# --- update_access_mode ------------------------------------------------------------------


def test_update_access_mode(admin, put_image):
    put_image("am/one", tags="am")
    put_image("am/two")
    body = admin.post("resources/image/upload/update_access_mode",
                      {"access_mode": "public", "public_ids": ["am/one", "am/none"]}).json()
    assert body == {"updated": [{"public_id": "am/one", "access_mode": "public"}],
                    "failed": [{"public_id": "am/none", "error": "not_found"}]}
    by_prefix = admin.post("resources/image/upload/update_access_mode", {"access_mode": "public", "prefix": "am/"})
    assert [u["public_id"] for u in by_prefix.json()["updated"]] == ["am/one", "am/two"]
    by_tag = admin.post("resources/image/upload/update_access_mode", {"access_mode": "public", "tag": "am"})
    assert [u["public_id"] for u in by_tag.json()["updated"]] == ["am/one"]
    bad = admin.post("resources/image/upload/update_access_mode", {"access_mode": "secret", "prefix": "am/"})
    assert bad.status_code == 400 and "access_mode" in bad.json()["error"]["message"]
    missing = admin.post("resources/image/upload/update_access_mode", {"access_mode": "public"})
    assert missing.status_code == 400


def test_update_access_mode_authenticated(admin, put_image):
    put_image("am/auth")
    response = admin.post("resources/image/upload/update_access_mode",
                          {"access_mode": "authenticated", "public_ids": ["am/auth"]})
    if any(f.name == "access_mode" for f in Asset._meta.get_fields()):  # stored (issue 15, access_mode)
        assert response.json()["updated"] == [{"public_id": "am/auth", "access_mode": "authenticated"}]
        assert Asset.objects.get(public_id="am/auth").access_mode == "authenticated"
    else:  # every asset is public: refused, never claimed
        assert response.status_code == 400 and "not supported" in response.json()["error"]["message"]
