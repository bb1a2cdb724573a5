"""Admin API (``/v1_1/<cloud>/...``): deleting, restoring, folders, upload presets and routing.

DELETE parameters go as JSON, form, multipart or query string; restores are checked
on the stored pixels (generated images of different sizes tell versions apart).
"""

from __future__ import annotations

import io

import pytest

from assets.models import Asset, AssetTag, AssetVersion, Folder, UploadPreset
from tests.admin_client import admin, put_image, stored_size  # noqa: F401  (fixtures)
from tests.conftest import CLOUD, make_image

pytestmark = pytest.mark.django_db


# --- delete -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("as_", ["json", "form", "query", "multipart"])
def test_delete_by_public_ids_in_any_encoding(admin, put_image, as_):
    put_image("d/one", 16, 16)
    put_image("d/two", 16, 16)
    put_image("keep", 16, 16)
    key = "public_ids" if as_ == "json" else "public_ids[]"
    response = admin.delete("resources/image/upload", {key: ["d/one", "d/two", "ghost"]}, as_=as_)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["deleted"] == {"d/one": "deleted", "d/two": "deleted", "ghost": "not_found"}
    assert body["deleted_counts"] == {"d/one": {"original": 1, "derived": 0}, "d/two": {"original": 1, "derived": 0}}
    assert body["partial"] is False and "next_cursor" not in body
    assert list(Asset.objects.values_list("public_id", flat=True)) == ["keep"]
    assert AssetVersion.objects.count() == 1


def test_delete_by_prefix_all_and_tag(admin, put_image):
    for pid in ("pre/a", "pre/b", "prefix", "other"):
        put_image(pid, 16, 16, tags="doomed" if pid == "other" else "")
    put_image("secret", 16, 16, type="private")
    body = admin.delete("resources/image/upload", {"prefix": "pre/"}, as_="query").json()
    assert body["deleted"] == {"pre/a": "deleted", "pre/b": "deleted"}
    body = admin.delete("resources/image/tags/doomed", {"invalidate": True}).json()
    assert body["deleted"] == {"other": "deleted"}
    body = admin.delete("resources/image/upload", {"all": True}).json()
    assert body["deleted"] == {"prefix": "deleted"}
    assert list(Asset.objects.values_list("public_id", flat=True)) == ["secret"]
    body = admin.delete("resources/image/private", {"all": "true"}, as_="form").json()
    assert body["deleted"] == {"secret": "deleted"}


def test_delete_keep_original_keeps_the_asset(admin, put_image):
    put_image("kept", 16, 16)
    body = admin.delete("resources/image/upload", {"public_ids": ["kept"], "keep_original": True}).json()
    assert body["deleted"] == {"kept": "deleted"}
    assert body["deleted_counts"] == {"kept": {"original": 0, "derived": 0}}
    assert Asset.objects.filter(public_id="kept").exists()


def test_delete_by_asset_ids(admin, put_image):
    asset_id = put_image("gone", 16, 16)["asset_id"]
    body = admin.delete("resources", {"asset_ids": [asset_id, "f" * 32]}).json()
    assert body["deleted"] == {asset_id: "deleted", "f" * 32: "not_found"}
    assert not Asset.objects.exists()


def test_delete_all_is_capped_with_partial_and_next_cursor(admin):
    rows = [Asset(public_id=f"bulk/{i:04d}", folder="bulk", version=1, format="jpg", width=1, height=1, bytes=1,
                  etag="0" * 32, content_hash="0" * 64, storage_name=f"missing/{i}.jpg") for i in range(1003)]
    Asset.objects.bulk_create(rows)
    first = admin.delete("resources/image/upload", {"all": True}).json()
    assert len(first["deleted"]) == 1000 and first["partial"] is True and first["next_cursor"]
    second = admin.delete("resources/image/upload", {"all": True, "next_cursor": first["next_cursor"]}).json()
    assert sorted(second["deleted"]) == ["bulk/1000", "bulk/1001", "bulk/1002"]
    assert second["partial"] is False and not Asset.objects.exists()


# --- restore -------------------------------------------------------------------------------------------


def test_restore_brings_back_the_backed_up_version_as_a_new_one(admin, put_image):
    first = put_image("r/pic", 64, 48, backup="true")
    second = put_image("r/pic", 100, 80, seed=5, overwrite="true", backup="true")
    assert (second["width"], second["height"]) == (100, 80)
    response = admin.post("resources/image/upload/restore", {"public_ids": ["r/pic", "nothing"]})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["nothing"] == {"error": "no_backup"}
    restored = body["r/pic"]
    assert (restored["width"], restored["height"]) == (64, 48)
    assert restored["etag"] == first["etag"]
    assert restored["version"] > second["version"]
    assert restored["version_id"] not in (first["version_id"], second["version_id"])
    asset = Asset.objects.get(public_id="r/pic")
    assert stored_size(asset) == (64, 48)
    versions = admin.get("resources/image/upload/r/pic", {"versions": "true"}).json()["versions"]
    assert len(versions) == 3 and all(v["restorable"] for v in versions)
    # and back to the second by its version_id, given as form data
    again = admin.post("resources/image/upload/restore", {"public_ids[]": "r/pic",
                                                          "versions[]": second["version_id"]}, as_="form").json()
    assert (again["r/pic"]["width"], again["r/pic"]["height"]) == (100, 80)
    assert stored_size(Asset.objects.get(public_id="r/pic")) == (100, 80)


def test_restore_without_backup_and_keeps_tags(admin, put_image):
    put_image("nb", 16, 16)
    put_image("nb", 20, 20, overwrite="true")
    assert admin.post("resources/image/upload/restore", {"public_ids": ["nb"]}).json() == {"nb": {"error": "no_backup"}}
    put_image("tagged", 16, 16, backup="true", tags="a")
    put_image("tagged", 24, 24, overwrite="true", tags="b", context="k=v")
    body = admin.post("resources/image/upload/restore", {"public_ids": ["tagged"]}).json()["tagged"]
    assert (body["width"], body["tags"], body["context"]) == (16, ["b"], {"custom": {"k": "v"}})
    assert admin.post("resources/image/upload/restore", {}).status_code == 400


def test_deleted_asset_comes_back_from_its_backups(admin, put_image, upload):
    first = put_image("undel/pic", 30, 20, backup="true", tags="kept", context="k=v")
    second = put_image("undel/pic", 50, 40, seed=2, overwrite="true", backup="true", tags="kept")
    body = admin.delete("resources/image/upload", {"public_ids": ["undel/pic"]}).json()
    assert body["deleted"] == {"undel/pic": "deleted"}
    # a placeholder stays (Cloudinary's semantics): no bytes, its backups listed, delivery 404
    placeholder = admin.get("resources/image/upload/undel/pic").json()
    assert (placeholder["placeholder"], placeholder["bytes"], placeholder["width"]) == (True, 0, 0)
    assert placeholder["backup_bytes"] == first["bytes"] + second["bytes"]
    assert {v["version_id"] for v in placeholder["versions"]} == {first["version_id"], second["version_id"]}
    assert admin.get("usage").json()["storage"]["usage"] == first["bytes"] + second["bytes"]
    restored = admin.post("resources/image/upload/restore", {"public_ids": ["undel/pic"]}).json()["undel/pic"]
    assert (restored["width"], restored["height"], restored["etag"]) == (50, 40, second["etag"])
    assert restored["tags"] == ["kept"]
    versions = admin.get("resources/image/upload/undel/pic", {"versions": "true"}).json()["versions"]
    assert {v["version_id"] for v in versions} >= {first["version_id"], second["version_id"]}
    assert all(v["restorable"] for v in versions)
    # the re-attached first version can be restored in turn
    again = admin.post("resources/image/upload/restore", {"public_ids": ["undel/pic"],
                                                          "versions": [first["version_id"]]}).json()["undel/pic"]
    assert (again["width"], again["height"]) == (30, 20)
    assert stored_size(Asset.objects.get(public_id="undel/pic")) == (30, 20)


def test_destroy_keeps_backups_and_an_unbacked_asset_is_gone_for_good(admin, put_image, upload):
    put_image("dz", 24, 12, backup="true")
    put_image("plain_gone", 16, 16)
    assert upload(action="destroy", public_id="dz").json() == {"result": "ok"}
    admin.delete("resources/image/upload", {"public_ids": ["plain_gone"]})
    body = admin.post("resources/image/upload/restore", {"public_ids": ["dz", "plain_gone"]}).json()
    assert (body["dz"]["width"], body["dz"]["height"]) == (24, 12)
    assert body["plain_gone"] == {"error": "no_backup"}


# --- folders ---------------------------------------------------------------------------------------------


def test_folders_list_create_and_subfolders(admin, put_image):
    put_image("animals/cats/tom", 16, 16)
    put_image("plants/fern", 16, 16)
    body = admin.get("folders").json()
    assert body["folders"] == [
        {"name": "animals", "path": "animals", "external_id": body["folders"][0]["external_id"]},
        {"name": "plants", "path": "plants", "external_id": body["folders"][1]["external_id"]},
    ]
    assert body["total_count"] == 2 and body["next_cursor"] is None
    created = admin.post("folders/animals/dogs/puppies").json()
    assert created == {"success": True, "path": "animals/dogs/puppies", "name": "puppies"}
    sub = admin.get("folders/animals").json()
    assert [f["path"] for f in sub["folders"]] == ["animals/cats", "animals/dogs"]
    assert [f["name"] for f in admin.get("folders/animals/dogs").json()["folders"]] == ["puppies"]
    first = admin.get("folders", {"max_results": 1}).json()
    assert [f["path"] for f in first["folders"]] == ["animals"] and first["total_count"] == 2
    rest = admin.get("folders", {"max_results": 1, "next_cursor": first["next_cursor"]}).json()
    assert [f["path"] for f in rest["folders"]] == ["plants"] and rest["next_cursor"] is None


def test_delete_folder_only_when_empty(admin, put_image):
    put_image("full/item", 16, 16)
    admin.post("folders/empty/inner/deeper")
    response = admin.delete("folders/full")
    assert response.status_code == 400 and response.json()["error"]["message"] == "Folder is not empty"
    assert admin.delete("folders/empty").json() == {"deleted": ["empty/inner/deeper", "empty/inner", "empty"]}
    assert not Folder.objects.filter(path__startswith="empty").exists()
    admin.post("folders/full/sub")
    assert admin.delete("folders/full/sub").json() == {"deleted": ["full/sub"]}


def test_rename_folder_moves_its_assets(admin, put_image):
    put_image("old/a", 16, 16)
    put_image("old/inner/b", 16, 16)
    put_image("older/c", 16, 16)
    response = admin.put("folders/old", {"to_folder": "new/place"})
    assert response.status_code == 200, response.content
    assert response.json()["to"]["path"] == "new/place" and response.json()["from"]["path"] == "old"
    assert sorted(Asset.objects.values_list("public_id", flat=True)) == ["new/place/a", "new/place/inner/b", "older/c"]
    assert Asset.objects.get(public_id="new/place/inner/b").folder == "new/place/inner"
    assert set(Folder.objects.values_list("path", flat=True)) == {"new", "new/place", "new/place/inner", "older"}
    assert admin.get("resources/image/upload/new/place/a").status_code == 200
    assert admin.put("folders/older", {"to_folder": "new"}).status_code == 409
    assert admin.put("folders/older", {"to_folder": "older/inside"}).status_code == 400
    assert admin.put("folders/older", {}).status_code == 400


# --- upload presets ----------------------------------------------------------------------------------------


SDK_PRESET_BODY = {  # what cloudinary.api.create_upload_preset(name=..., unsigned=True, folder=..., tags=[...]) sends
    "folder": "incoming", "tags": "a,b", "overwrite": False, "context": "src=preset",
    "allowed_formats": "jpg,png", "timestamp": 1700000000, "name": "my_preset", "unsigned": True,
    "disallow_public_id": True,
}


def test_preset_create_get_list_update_delete(admin):
    response = admin.post("upload_presets", SDK_PRESET_BODY)
    assert response.status_code == 200, response.content
    assert response.json() == {"message": "created", "name": "my_preset"}
    assert admin.get("upload_presets/my_preset").json() == {
        "name": "my_preset", "unsigned": True,
        "settings": {"folder": "incoming", "tags": "a,b", "overwrite": False, "context": "src=preset",
                     "allowed_formats": "jpg,png", "disallow_public_id": True},
    }
    assert admin.put("upload_presets/my_preset", {"folder": "moved", "unsigned": False,
                                                  "timestamp": 1}).json() == {"message": "updated"}
    got = admin.get("upload_presets/my_preset").json()
    assert got["unsigned"] is False and got["settings"]["folder"] == "moved" and got["settings"]["tags"] == "a,b"
    assert admin.post("upload_presets", {"name": "other", "folder": "x"}, as_="form").status_code == 200
    assert UploadPreset.objects.get(name="other").settings == {"folder": "x"}
    listing = admin.get("upload_presets").json()
    assert [p["name"] for p in listing["presets"]] == ["my_preset", "other"]
    page1 = admin.get("upload_presets", {"max_results": 1}).json()
    page2 = admin.get("upload_presets", {"max_results": 1, "next_cursor": page1["next_cursor"]}).json()
    assert [p["name"] for p in page1["presets"] + page2["presets"]] == ["my_preset", "other"]
    assert admin.delete("upload_presets/my_preset").json() == {"message": "deleted"}
    assert admin.get("upload_presets/my_preset").status_code == 404


def test_preset_duplicate_name_is_409_and_unnamed_gets_a_name(admin):
    assert admin.post("upload_presets", {"name": "dup"}).status_code == 200
    response = admin.post("upload_presets", {"name": "dup", "folder": "x"})
    assert response.status_code == 409 and "dup" in response.json()["error"]["message"]
    unnamed = admin.post("upload_presets", {"folder": "y"}).json()
    assert unnamed["message"] == "created" and UploadPreset.objects.filter(name=unnamed["name"]).exists()


@pytest.mark.parametrize("name, ok", [
    ("simple", True), ("with-dash_and.dot", True), ("Has Space", True), ("9lives", True),
    ("", True),  # no name: one is made up
    ("-leading", False), ("slash/inside", False), ("x" * 256, False), ("emoji😀", False),
])
def test_preset_name_validation(admin, name, ok):
    response = admin.post("upload_presets", {"name": name} if name else {})
    assert (response.status_code == 200) is ok, response.content


def test_unsigned_upload_through_a_preset_made_by_the_admin_api(admin, client):
    admin.post("upload_presets", {"name": "open", "unsigned": True, "folder": "drop", "tags": "via_preset"})
    payload = {"upload_preset": "open", "file": _named(make_image(20, 10), "x.jpg")}
    response = client.post(f"/v1_1/{CLOUD}/image/upload", payload)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["public_id"].startswith("drop/") and body["tags"] == ["via_preset"]


def _named(data: bytes, name: str):
    handle = io.BytesIO(data)
    handle.name = name
    return handle


# --- routing ---------------------------------------------------------------------------------------------------


def test_upload_route_still_answers_and_does_not_shadow_admin_routes(admin, put_image):
    put_image("routed", 16, 16)
    assert AssetTag.objects.count() == 0
    assert admin.client.post(admin.url("resources/image")).status_code == 401  # the Admin API, not the upload
    assert admin.client.post(admin.url("nonsense/upload")).status_code == 404


# --- derived images (when the delivery app is present) --------------------------------------------------------


def test_derived_images_are_listed_counted_and_dropped(admin, put_image, client):
    put_image("dv", 64, 48)
    transformation = "w_20"
    rendered = client.get(f"/{CLOUD}/image/upload/w_20/dv.jpg")
    assert rendered.status_code == 200, rendered.get("X-Cld-Error")
    if rendered.streaming:
        b"".join(rendered.streaming_content)
    derived = admin.get("resources/image/upload/dv").json()["derived"]
    assert len(derived) == 1 and derived[0]["transformation"] == transformation
    assert derived[0]["url"].startswith("http://testserver/")
    usage = admin.get("usage").json()
    assert usage["derived_resources"] == 1 and usage["transformations"]["usage"] == 1
    body = admin.delete("resources/image/upload", {"public_ids": ["dv"], "keep_original": True}).json()
    assert body["deleted_counts"] == {"dv": {"original": 0, "derived": 1}}
    assert admin.get("resources/image/upload/dv").json()["derived"] == []
    client.get(f"/{CLOUD}/image/upload/w_20/dv.jpg")
    body = admin.delete("resources/image/upload", {"public_ids": ["dv"]}).json()
    assert body["deleted_counts"]["dv"]["original"] == 1
