"""The wire details the SDKs' own suites check (issue 15, item 5, part W1), with the real,
unchanged SDKs against a live server: the Python SDK (fixture ``sdk``) for each feature,
the npm SDK for one call of each."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import cloudinary
import cloudinary.api as api
import cloudinary.exceptions
import cloudinary.uploader as uploader
import pytest
from django.core.files.storage import storages
import pyvips

from assets.models import Asset
from tests.conftest import make_image
from tests.sdk.live_node import wsgi_server  # noqa: F401 (fixture)
from tests.sdk.test_sdk_node import node_sdk  # noqa: F401 (fixture)
from tests.sdk_fixtures import sdk  # noqa: F401 (fixture)

pytestmark = pytest.mark.live

ACL = {"access_type": "anonymous", "start": "2018-02-22 16:20:57 +0200", "end": "2018-03-22 00:00 +0200"}


def test_python_sdk_shapes_and_fields(sdk):
    sdk.upload(public_id="w/tagged", tags=["t1", "t2"])
    bare = sdk.upload(public_id="w/bare")
    assert "tags" not in bare and "context" not in bare
    uploader.add_tag("t3", ["w/bare"])
    uploader.remove_all_tags(["w/bare"])
    assert "tags" not in api.resource("w/bare")  # pycloudinary's test_remove_all_tags
    rows = api.resources(fields=["tags", "secure_url"], type="upload")["resources"]
    assert {tuple(sorted(r)) for r in rows} == {("asset_id", "folder", "public_id", "secure_url", "tags")}
    rows = api.resources(fields="context,url", type="upload")["resources"]
    assert all(sorted(r) == ["asset_id", "context", "folder", "public_id", "url"] for r in rows)
    assert "secure_url" in api.resources(fields="", type="upload")["resources"][0]
    one = api.resources_by_ids(["w/tagged"], fields=["tags"])["resources"][0]
    assert one["tags"] == ["t1", "t2"] and sorted(one) == ["asset_id", "folder", "public_id", "tags"]
    # (pycloudinary's resource() does not send fields; tests/assets/test_wire_shape.py checks it there)


def test_python_sdk_allowed_formats_and_format(sdk):
    png = make_image(50, 40, fmt="png")
    assert sdk.upload(png, filename="a.png", allowed_formats=["png"])["format"] == "png"
    with pytest.raises(cloudinary.exceptions.BadRequest, match="Image file format png not allowed"):
        sdk.upload(png, filename="a.png", public_id="w/nope", allowed_formats=["jpg"])
    converted = sdk.upload(png, filename="a.png", public_id="w/conv", allowed_formats=["jpg"], format="jpg")
    assert converted["format"] == "jpg" and (converted["width"], converted["height"]) == (50, 40)
    asset = Asset.objects.get(public_id="w/conv")
    with storages["default"].open(asset.storage_name, "rb") as fh:
        stored = pyvips.Image.new_from_buffer(fh.read(), "")
    assert stored.get("vips-loader").startswith("jpeg") and (stored.width, stored.height) == (50, 40)
    assert not Asset.objects.filter(public_id="w/nope").exists()


def test_python_sdk_access_control_eval_and_phash(sdk):
    # (pycloudinary sends no access_mode, on upload or update: the npm test below does)
    result = sdk.upload(public_id="w/acl", access_control=[ACL], phash=True)
    assert result["access_mode"] == "public" and len(result["phash"]) == 16
    assert result["access_control"] == [{"access_type": "anonymous", "start": "2018-02-22T14:20:57Z",
                                         "end": "2018-03-21T22:00:00Z"}]
    updated = api.update("w/acl", access_control=ACL | {"access_type": "token"})
    assert updated["access_control"][0]["access_type"] == "token"
    details = api.resource("w/acl", phash=True)
    assert details["phash"] == result["phash"] and details["access_control"] == updated["access_control"]
    with pytest.raises(cloudinary.exceptions.BadRequest, match="eval is not supported"):
        sdk.upload(public_id="w/eval", eval='upload_options["tags"] = "x"')
    with pytest.raises(cloudinary.exceptions.BadRequest, match="on_success is not supported"):
        sdk.upload(public_id="w/eval", on_success='current_asset.update({tags: ["autocaption"]});')
    assert not Asset.objects.filter(public_id="w/eval").exists()


def test_python_sdk_oauth_token(sdk):
    with pytest.raises(cloudinary.exceptions.AuthorizationRequired, match="Invalid token"):
        api.ping(oauth_token="NTQ0NjJkZmQ5OTM2NDE1ZTZjNGZmZj17")
    with pytest.raises(cloudinary.exceptions.AuthorizationRequired, match="Invalid token"):
        sdk.upload(oauth_token="NTQ0NjJkZmQ5OTM2NDE1ZTZjNGZmZj17")


def test_python_sdk_start_at(sdk):
    sdk.upload(public_id="w/start")
    past = (datetime.now(timezone.utc) - timedelta(hours=1)).strftime("%a %b %d %Y %H:%M:%S GMT+0000 (UTC)")
    future = (datetime.now(timezone.utc) + timedelta(hours=1)).isoformat()
    assert [r["public_id"] for r in api.resources(type="upload", start_at=past)["resources"]] == ["w/start"]
    assert api.resources(type="upload", start_at=future)["resources"] == []


def test_npm_sdk_wire_details(node_sdk):
    png = node_sdk.file("a.png", make_image(30, 20, fmt="png"))
    acl = {"access_type": "anonymous", "start": "2019-02-22T16:20:57.000Z", "end": "2019-03-22 00:00 +0200"}
    (bare, refused, converted, with_acl, listed, by_ids, detail, start_at, evaled, oauth, public) = node_sdk([
        ("uploader.upload", [png, {"public_id": "n/bare"}]),
        ("uploader.upload", [png, {"public_id": "n/no", "allowed_formats": ["jpg"]}]),
        ("uploader.upload", [png, {"public_id": "n/conv", "allowed_formats": ["jpg"], "format": "jpg"}]),
        ("uploader.upload", [png, {"public_id": "n/acl", "tags": ["acl"], "access_control": [acl], "phash": True,
                                   "access_mode": "authenticated"}]),
        ("api.resources", [{"fields": ["tags"]}]),
        ("api.resources_by_ids", [["n/acl"], {"fields": ["tags"]}]),
        ("api.resource", ["n/acl", {"phash": True}]),
        ("api.resources", [{"type": "upload", "start_at": "Thu Jan 01 2015 00:00:00 GMT+0000 (Coordinated Universal Time)",
                            "direction": "asc"}]),
        ("uploader.upload", [png, {"public_id": "n/eval", "eval": "upload_options['tags'] = 'x'"}]),
        ("api.resource", ["n/acl", {"oauth_token": "MTQ0NjJkZmQ5OTM2NDE1ZTZjNGZmZjI4"}]),
        ("api.update_resources_access_mode_by_ids", ["public", ["n/acl", "n/missing"]]),
    ])
    assert "tags" not in bare and "context" not in bare and bare["format"] == "png"
    assert refused["error"]["http_code"] == 400 and "not allowed" in refused["error"]["message"]
    assert converted["format"] == "jpg"
    assert with_acl["access_mode"] == "authenticated" and public["updated"] == [{"public_id": "n/acl", "access_mode": "public"}]
    assert Asset.objects.get(public_id="n/acl").access_mode == "public"
    assert with_acl["access_control"][0]["access_type"] == "anonymous"
    assert with_acl["access_control"][0]["start"] == "2019-02-22T16:20:57Z"
    assert with_acl["access_control"][0]["end"] == "2019-03-21T22:00:00Z"  # the npm test compares Date.parse
    expected = ["asset_id", "folder", "public_id", "tags"]  # the npm SDK's "selective response" test
    assert all(sorted(r) == expected for r in listed["resources"]) and len(listed["resources"]) == 3
    assert sorted(by_ids["resources"][0]) == expected and by_ids["resources"][0]["tags"] == ["acl"]
    assert detail["phash"] == with_acl["phash"]
    assert {r["public_id"] for r in start_at["resources"]} == {"n/bare", "n/conv", "n/acl"}
    assert evaled["error"]["http_code"] == 400 and "eval" in evaled["error"]["message"]
    assert oauth["error"]["http_code"] == 401 and "Invalid token" in oauth["error"]["message"]
