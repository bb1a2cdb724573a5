"""The official cloudinary Python SDK, unchanged, against the Admin API of a live server.

Expected shapes are Cloudinary's documented ones (admin_api reference).
"""

from __future__ import annotations

import io

import cloudinary
import cloudinary.api
import cloudinary.exceptions
import cloudinary.uploader
import pytest

from assets.models import Asset

from tests.conftest import make_image
from tests.sdk_fixtures import sdk  # noqa: F401 (fixture)

pytestmark = pytest.mark.live


def upload_many(sdk, public_ids, **options) -> dict[str, dict]:
    return {pid: sdk.upload(make_image(20, 10), public_id=pid, **options) for pid in public_ids}


def all_pages(call, *args, limit: int = 20, **options) -> list[list[dict]]:
    """Follow next_cursor (at most `limit` pages)."""
    pages, cursor = [], None
    for _ in range(limit):
        result = call(*args, next_cursor=cursor, **options) if cursor else call(*args, **options)
        pages.append(result["resources"])
        cursor = result.get("next_cursor")
        if not cursor:
            return pages
    raise AssertionError("next_cursor never ran out")


def test_ping_and_rate_limit_headers(sdk):
    result = cloudinary.api.ping()
    assert result["status"] == "ok"
    assert isinstance(result.rate_limit_allowed, int) and result.rate_limit_allowed > 0
    assert isinstance(result.rate_limit_remaining, int)
    assert result.rate_limit_reset_at is not None


def test_wrong_secret_and_missing_resource(sdk):
    with pytest.raises(cloudinary.exceptions.AuthorizationRequired, match="Error 401"):
        cloudinary.api.ping(api_secret="wrong")
    with pytest.raises(cloudinary.exceptions.NotFound, match="Error 404"):
        cloudinary.api.resource("does/not/exist")


def test_resources_prefix_and_pagination(sdk):
    uploaded = upload_many(sdk, [f"shop/item{i}" for i in range(5)] + ["other/x"], tags="listed")
    pages = all_pages(cloudinary.api.resources, type="upload", prefix="shop/", max_results=2)
    assert [len(p) for p in pages] == [2, 2, 1]
    seen = [r["public_id"] for page in pages for r in page]
    assert sorted(seen) == [f"shop/item{i}" for i in range(5)]
    first = pages[0][0]
    expected = uploaded[first["public_id"]]
    for field in ("public_id", "format", "version", "resource_type", "type", "bytes", "width", "height", "url",
                  "secure_url", "created_at"):
        assert first[field] == expected[field], field

    everything = cloudinary.api.resources(max_results=500)
    assert len(everything["resources"]) == 6 and not everything.get("next_cursor")

    with_tags = cloudinary.api.resources(type="upload", prefix="other/", tags=True, context=True)
    assert [r["public_id"] for r in with_tags["resources"]] == ["other/x"]
    assert with_tags["resources"][0]["tags"] == ["listed"]


def test_resources_by_tag(sdk):
    upload_many(sdk, ["t/a", "t/b"], tags=["summer", "beach"])
    upload_many(sdk, ["t/c"], tags="winter")
    result = cloudinary.api.resources_by_tag("summer", max_results=10)
    assert sorted(r["public_id"] for r in result["resources"]) == ["t/a", "t/b"]
    pages = all_pages(cloudinary.api.resources_by_tag, "summer", max_results=1)
    assert sorted(p[0]["public_id"] for p in pages if p) == ["t/a", "t/b"]
    assert cloudinary.api.resources_by_tag("nobody")["resources"] == []


def test_resource_details_with_versions(sdk):
    first = sdk.upload(make_image(30, 20), public_id="versioned", backup=True)
    second = sdk.upload(make_image(50, 40, seed=2), public_id="versioned", backup=True)
    detail = cloudinary.api.resource("versioned", versions=True)
    assert detail["public_id"] == "versioned"
    assert (detail["width"], detail["height"], detail["version"]) == (50, 40, second["version"])
    assert detail["bytes"] == second["bytes"] and detail["etag"] == second["etag"]
    assert isinstance(detail["derived"], list)
    by_id = {v["version_id"]: v for v in detail["versions"]}
    assert set(by_id) == {first["version_id"], second["version_id"]}
    assert by_id[first["version_id"]]["version"] == first["version"]


def test_update(sdk):
    sdk.upload(public_id="editable", tags="old")
    result = cloudinary.api.update("editable", tags=["new1", "new2"], context={"alt": "An alt"},
                                   face_coordinates=[[1, 2, 10, 8]])
    assert result["public_id"] == "editable"
    assert sorted(result["tags"]) == ["new1", "new2"]
    assert result["context"] == {"custom": {"alt": "An alt"}}
    detail = cloudinary.api.resource("editable", faces=True)
    assert sorted(detail["tags"]) == ["new1", "new2"]
    assert detail["faces"] == [[1, 2, 10, 8]]
    with pytest.raises(cloudinary.exceptions.NotFound):
        cloudinary.api.update("missing", tags="x")


def test_delete_resources_by_ids_prefix_and_all(sdk):
    upload_many(sdk, ["del/a", "del/b", "keep/c", "pre/d", "pre/e"])
    result = cloudinary.api.delete_resources(["del/a", "del/b", "del/missing"])
    assert result["deleted"] == {"del/a": "deleted", "del/b": "deleted", "del/missing": "not_found"}
    assert result["partial"] is False
    assert not Asset.objects.filter(public_id__startswith="del/").exists()

    result = cloudinary.api.delete_resources_by_prefix("pre/")
    assert result["deleted"] == {"pre/d": "deleted", "pre/e": "deleted"}
    assert list(Asset.objects.values_list("public_id", flat=True)) == ["keep/c"]

    result = cloudinary.api.delete_all_resources()
    assert result["deleted"] == {"keep/c": "deleted"}
    assert not Asset.objects.exists()


def test_restore_a_backed_up_version(sdk):
    first = sdk.upload(make_image(30, 20), public_id="restorable", backup=True)
    sdk.upload(make_image(60, 10, seed=4), public_id="restorable", backup=True)
    result = cloudinary.api.restore(["restorable"], versions=[first["version_id"]])
    restored = result["restorable"]
    assert (restored["width"], restored["height"]) == (30, 20)
    detail = cloudinary.api.resource("restorable")
    assert (detail["width"], detail["height"]) == (30, 20)
    assert detail["version"] > first["version"]


def test_restore_a_deleted_asset_from_backup(sdk):
    uploaded = sdk.upload(make_image(30, 20), public_id="undelete_me", backup=True)
    cloudinary.api.delete_resources(["undelete_me"])
    placeholder = cloudinary.api.resource("undelete_me")  # Cloudinary's placeholder: no bytes
    assert (placeholder["placeholder"], placeholder["bytes"]) == (True, 0)
    result = cloudinary.api.restore(["undelete_me"])
    assert result["undelete_me"]["public_id"] == "undelete_me"
    detail = cloudinary.api.resource("undelete_me")
    assert (detail["width"], detail["height"], detail["etag"]) == (30, 20, uploaded["etag"])


def test_tags_listing(sdk):
    upload_many(sdk, ["tl/a"], tags=["apple", "apricot"])
    upload_many(sdk, ["tl/b"], tags=["banana", "apple"])
    assert cloudinary.api.tags()["tags"] == ["apple", "apricot", "banana"]
    assert cloudinary.api.tags(prefix="ap")["tags"] == ["apple", "apricot"]


def test_folders(sdk):
    sdk.upload(public_id="gallery/2024/one")
    root = cloudinary.api.root_folders()
    assert {"name": "gallery", "path": "gallery"} in [{k: f[k] for k in ("name", "path")} for f in root["folders"]]

    created = cloudinary.api.create_folder("gallery/drafts")
    assert created["success"] is True and created["path"] == "gallery/drafts" and created["name"] == "drafts"
    sub = cloudinary.api.subfolders("gallery")
    assert sorted(f["path"] for f in sub["folders"]) == ["gallery/2024", "gallery/drafts"]
    assert sub["total_count"] == 2

    assert cloudinary.api.delete_folder("gallery/drafts")["deleted"] == ["gallery/drafts"]
    assert [f["path"] for f in cloudinary.api.subfolders("gallery")["folders"]] == ["gallery/2024"]
    with pytest.raises(cloudinary.exceptions.BadRequest):
        cloudinary.api.delete_folder("gallery/2024")  # not empty
    with pytest.raises(cloudinary.exceptions.NotFound):
        cloudinary.api.subfolders("no/such/folder")


def test_upload_presets_crud_and_unsigned_upload(sdk):
    created = cloudinary.api.create_upload_preset(name="guest", unsigned=True, folder="guests",
                                                  tags="from_preset")
    assert created["message"] == "created" and created["name"] == "guest"

    preset = cloudinary.api.upload_preset("guest")
    assert preset["name"] == "guest" and preset["unsigned"] is True
    assert preset["settings"]["folder"] == "guests"
    assert "guest" in [p["name"] for p in cloudinary.api.upload_presets()["presets"]]

    stream = io.BytesIO(make_image(24, 12))
    stream.name = "guest.jpg"
    result = cloudinary.uploader.unsigned_upload(stream, "guest", tags="extra")
    assert result["public_id"].startswith("guests/")
    assert sorted(result["tags"]) == ["extra", "from_preset"]

    assert cloudinary.api.update_upload_preset("guest", unsigned=False, folder="members")["message"] == "updated"
    preset = cloudinary.api.upload_preset("guest")
    assert preset["unsigned"] is False and preset["settings"]["folder"] == "members"
    with pytest.raises(cloudinary.exceptions.BadRequest, match="unsigned"):
        cloudinary.uploader.unsigned_upload(io.BytesIO(make_image(8, 8)), "guest")
    signed = sdk.upload(upload_preset="guest")  # a signed upload may use any preset
    assert signed["public_id"].startswith("members/")

    assert cloudinary.api.delete_upload_preset("guest")["message"] == "deleted"
    with pytest.raises(cloudinary.exceptions.NotFound):
        cloudinary.api.upload_preset("guest")


def test_usage(sdk):
    uploaded = upload_many(sdk, ["u/a", "u/b"])
    usage = cloudinary.api.usage()
    assert usage["resources"] == 2
    assert usage["storage"]["usage"] >= sum(r["bytes"] for r in uploaded.values())
    assert "last_updated" in usage
