"""The official SDKs, unchanged, against a live server: restore with placeholders,
restore by asset_ids, publish_resources, upload mappings (and delivery from a mapped
folder), GET config (issue 15). Mirrors pycloudinary's test_restore, test_upload_mapping,
test_config and the publish tests, with real calls instead of mocks."""

from __future__ import annotations

import cloudinary
import cloudinary.api
import cloudinary.uploader
import pytest

from assets.models import Asset
from tests.conftest import make_image
from tests.sdk.live_node import wsgi_server  # noqa: F401 (fixture)
from tests.sdk.test_sdk_node import node_sdk  # noqa: F401 (fixture)
from tests.sdk_fixtures import fetch_image, remote_files, sdk  # noqa: F401 (fixtures)

pytestmark = pytest.mark.live


def test_restore_through_a_placeholder(sdk):
    data = make_image(48, 32)
    uploaded = sdk.upload(data, public_id="api_test_restore", backup=True, tags=["restore_tag"])
    assert cloudinary.api.resource("api_test_restore")["bytes"] == uploaded["bytes"]
    cloudinary.api.delete_resources(["api_test_restore"])
    resource = cloudinary.api.resource("api_test_restore")
    assert resource["bytes"] == 0 and resource["placeholder"] is True
    response, _ = fetch_image(cloudinary.CloudinaryImage("api_test_restore").build_url(format="jpg"))
    assert response.status_code == 404
    info = cloudinary.api.restore(["api_test_restore"])["api_test_restore"]
    assert info["bytes"] == uploaded["bytes"]
    resource = cloudinary.api.resource("api_test_restore")
    assert (resource["bytes"], resource["placeholder"], resource["asset_id"]) == (
        uploaded["bytes"], False, uploaded["asset_id"])
    response, image = fetch_image(cloudinary.CloudinaryImage("api_test_restore").build_url(format="jpg"))
    assert response.status_code == 200 and (image.width, image.height) == (48, 32)


def test_restore_by_asset_ids(sdk):
    uploaded = sdk.upload(make_image(20, 10), public_id="by_asset_id", backup=True)
    cloudinary.api.delete_resources(["by_asset_id"])
    body = cloudinary.api.restore_by_asset_ids([uploaded["asset_id"]])
    assert body[uploaded["asset_id"]]["public_id"] == "by_asset_id"
    assert cloudinary.api.resource_by_asset_id(uploaded["asset_id"])["width"] == 20


def test_publish_by_ids_prefix_and_tag(sdk):
    sdk.upload(make_image(30, 20), public_id="pub/one", type="authenticated")
    sdk.upload(public_id="pub/two", type="private")
    sdk.upload(public_id="tagged_pub", type="authenticated", tags=["pub_tag"])
    url = cloudinary.CloudinaryImage("pub/one").build_url(format="jpg")
    assert fetch_image(url)[0].status_code == 404

    # the wrong type fails, as Cloudinary's own test_publish_with_type checks
    wrong = cloudinary.api.publish_by_ids(["pub/one"], type="private")
    assert wrong["published"] == [] and [f["public_id"] for f in wrong["failed"]] == ["pub/one"]
    done = cloudinary.api.publish_by_ids(["pub/one"], type="authenticated")
    assert [p["public_id"] for p in done["published"]] == ["pub/one"] and done["failed"] == []
    response, image = fetch_image(url)
    assert response.status_code == 200 and (image.width, image.height) == (30, 20)
    assert cloudinary.api.resource("pub/one")["type"] == "upload"

    assert [p["public_id"] for p in cloudinary.api.publish_by_prefix("pub/")["published"]] == ["pub/two"]
    assert [p["public_id"] for p in cloudinary.api.publish_by_tag("pub_tag")["published"]] == ["tagged_pub"]
    assert set(Asset.objects.values_list("type", flat=True)) == {"upload"}


def test_upload_mapping_crud(sdk):
    cloudinary.api.create_upload_mapping("api_test_upload_mapping", template="http://cloudinary.com")
    assert cloudinary.api.upload_mapping("api_test_upload_mapping")["template"] == "http://cloudinary.com"
    cloudinary.api.update_upload_mapping("api_test_upload_mapping", template="http://res.cloudinary.com")
    assert cloudinary.api.upload_mapping("api_test_upload_mapping")["template"] == "http://res.cloudinary.com"
    assert any(m.get("folder") == "api_test_upload_mapping" and m.get("template") == "http://res.cloudinary.com"
               for m in cloudinary.api.upload_mappings()["mappings"])
    cloudinary.api.delete_upload_mapping("api_test_upload_mapping")
    assert "api_test_upload_mapping" not in [m.get("folder") for m in cloudinary.api.upload_mappings()["mappings"]]
    with pytest.raises(cloudinary.exceptions.NotFound):
        cloudinary.api.upload_mapping("api_test_upload_mapping")
    with pytest.raises(cloudinary.exceptions.BadRequest, match="template"):
        cloudinary.api.create_upload_mapping("bad", template="file:///etc/passwd")


def test_delivery_from_a_mapped_folder(sdk, remote_files, settings):
    settings.DAM_ALLOW_PRIVATE_REMOTE_URLS = True  # the remote server is on the loopback
    source = remote_files("/media/photos/beach.jpg", make_image(80, 60))
    cloudinary.api.create_upload_mapping("beach_media", template=source.rsplit("/", 1)[0] + "/")
    url = cloudinary.CloudinaryImage("beach_media/beach").build_url(format="jpg", width=40, crop="scale")
    response, image = fetch_image(url)
    assert response.status_code == 200 and (image.width, image.height) == (40, 30)
    stored = cloudinary.api.resource("beach_media/beach")
    assert (stored["width"], stored["height"], stored["folder"]) == (80, 60, "beach_media")
    response, _ = fetch_image(cloudinary.CloudinaryImage("beach_media/missing").build_url(format="jpg"))
    assert response.status_code == 404


def test_config(sdk):
    res = cloudinary.api.config()
    assert res["cloud_name"] == cloudinary.config().cloud_name and "settings" not in res
    assert cloudinary.api.config(settings=True)["settings"] == {"folder_mode": "fixed"}


def test_node_sdk(node_sdk, tmp_path):
    source = tmp_path / "n.jpg"
    source.write_bytes(make_image(36, 24))
    uploaded, deleted, placeholder, restored, published, created, mapping, config, removed = node_sdk([
        ("uploader.upload", [str(source), {"public_id": "node_restore", "backup": True}]),
        ("api.delete_resources", [["node_restore"]]),
        ("api.resource", ["node_restore"]),
        ("api.restore", [["node_restore"]]),
        ("api.publish_by_ids", [["node_restore"], {"type": "authenticated"}]),
        ("api.create_upload_mapping", ["node_map", {"template": "https://example.org/img/"}]),
        ("api.upload_mapping", ["node_map"]),
        ("api.config", [{"settings": True}]),
        ("api.delete_upload_mapping", ["node_map"]),
    ])
    by_ids, by_prefix = node_sdk([
        ("api.update_resources_access_mode_by_ids", ["public", ["node_restore"]]),
        ("api.update_resources_access_mode_by_prefix", ["public", "node_"]),
    ])
    for answer in (by_ids, by_prefix):
        assert answer["updated"] == [{"public_id": "node_restore", "access_mode": "public"}]
    assert deleted["deleted"] == {"node_restore": "deleted"}
    assert (placeholder["placeholder"], placeholder["bytes"]) == (True, 0)
    assert restored["node_restore"]["bytes"] == uploaded["bytes"]
    assert (published["published"], published["failed"]) == ([], [{"public_id": "node_restore", "error": "not_found"}])
    assert created["message"] == "created" and removed["message"] == "deleted"
    assert mapping["template"] == "https://example.org/img/"
    assert config["cloud_name"] == "demo" and config["settings"]["folder_mode"] == "fixed"
