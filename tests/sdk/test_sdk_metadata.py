"""Structured metadata (issue 15, item 2) through the official SDKs, unchanged, against a
live server: pycloudinary's metadata field calls, datasource calls, upload / explicit /
update / update_metadata with ``metadata``, and a few of the same through the npm SDK.

The shapes and error texts are the ones the SDKs' own metadata tests assert
(pycloudinary test/test_metadata.py, cloudinary_npm structured_metadata_spec.js).
"""

from __future__ import annotations

from datetime import date, timedelta

import cloudinary.api as api
import cloudinary.exceptions
import cloudinary.uploader as uploader
import pytest

from assets.models import Asset
from tests.conftest import make_image
from tests.sdk.live_node import wsgi_server  # noqa: F401 (fixture)
from tests.sdk.test_sdk_node import node_sdk  # noqa: F401 (fixture)
from tests.sdk_fixtures import sdk  # noqa: F401 (fixture)

pytestmark = pytest.mark.live

MULTIPLE = [{"value": "v2", "external_id": "entry"}, {"value": "v3"}, {"value": "v4"}]


def test_fields_api(sdk):
    created = api.add_metadata_field({"external_id": "general", "label": "general", "type": "string"})
    assert created["type"] == "string" and created["mandatory"] is False
    assert "default_value" in created and "validation" in created
    api.add_metadata_field({"external_id": "when", "label": "when", "type": "date",
                            "restrictions": {"readonly_ui": True}})
    field = api.metadata_field_by_field_id("when")
    assert field["restrictions"] == {"readonly_ui": True} and field["label"] == "when"
    result = api.add_metadata_field({"datasource": {"values": MULTIPLE}, "external_id": "set1", "label": "set1",
                                     "type": "set", "allow_dynamic_list_values": True})
    assert result["allow_dynamic_list_values"] is True
    assert [v["value"] for v in result["datasource"]["values"]] == ["v2", "v3", "v4"]
    listed = api.list_metadata_fields()["metadata_fields"]
    assert [f["external_id"] for f in listed] == ["general", "when", "set1"]

    updated = api.update_metadata_field("general", {"external_id": "set1", "label": "New label", "type": "integer",
                                                    "default_value": "dv", "restrictions": {"readonly_ui": True}})
    assert (updated["external_id"], updated["type"], updated["label"], updated["default_value"]) == (
        "general", "string", "New label", "dv")

    with pytest.raises(cloudinary.exceptions.BadRequest, match="external id general already exists"):
        api.add_metadata_field({"external_id": "general", "label": "x", "type": "string"})
    assert api.delete_metadata_field("when") == {"message": "ok"}
    with pytest.raises(cloudinary.exceptions.NotFound):
        api.metadata_field_by_field_id("when")

    api.reorder_metadata_fields("label", "desc")
    assert [f["label"] for f in api.list_metadata_fields()["metadata_fields"]] == ["set1", "New label"]


def test_datasource_calls(sdk):
    api.add_metadata_field({"external_id": "enum2", "label": "enum2", "type": "enum",
                            "datasource": {"values": MULTIPLE}})
    result = api.update_metadata_field_datasource("enum2", [{"value": "v1", "external_id": "entry"}])
    assert result["values"][0] == {"value": "v1", "external_id": "entry"} and len(result["values"]) == 3

    api.add_metadata_field({"external_id": "set3", "label": "set3", "type": "set",
                            "datasource": {"values": MULTIPLE}})
    result = api.delete_datasource_entries("set3", ["entry"])
    assert [v["value"] for v in result["values"]] == ["v3", "v4"]
    result = api.restore_metadata_field_datasource("set3", ["entry"])
    assert len(result["values"]) == 3
    assert api.reorder_metadata_field_datasource("set3", "value", "desc")["values"][0]["value"] == "v4"
    assert api.reorder_metadata_field_datasource("set3", "value")["values"][0]["value"] == "v2"


def test_validation_errors(sdk):
    today = date.today()
    rule = {"type": "and", "rules": [
        {"type": "greater_than", "equals": False, "value": (today - timedelta(days=3)).isoformat()},
        {"type": "less_than", "equals": False, "value": today.isoformat()}]}
    good = api.add_metadata_field({"external_id": "dv", "label": "dv", "type": "date", "validation": rule,
                                   "default_value": (today - timedelta(days=1)).isoformat()})
    assert good["validation"] == rule
    with pytest.raises(cloudinary.exceptions.BadRequest, match="default_value is invalid"):
        api.add_metadata_field({"external_id": "dv2", "label": "dv2", "type": "date", "validation": rule,
                                "default_value": (today + timedelta(days=3)).isoformat()})
    validation = {"type": "less_than", "equals": True, "value": 5}
    assert api.add_metadata_field({"external_id": "iv", "label": "iv", "type": "integer", "default_value": 5,
                                   "validation": validation})["default_value"] == 5
    with pytest.raises(cloudinary.exceptions.BadRequest, match="default_value is invalid"):
        api.add_metadata_field({"external_id": "iv2", "label": "iv2", "type": "integer", "default_value": 6,
                                "validation": validation})


def test_values_on_assets(sdk):
    api.add_metadata_field({"external_id": "caption", "label": "Caption", "type": "string"})
    api.add_metadata_field({"external_id": "rating", "label": "Rating", "type": "integer", "mandatory": True,
                            "default_value": 3, "validation": {"type": "less_than", "equals": True, "value": 5}})
    api.add_metadata_field({"external_id": "kind", "label": "Kind", "type": "enum",
                            "datasource": {"values": [{"external_id": "photo", "value": "Photo"},
                                                      {"external_id": "art", "value": "Art"}]}})
    api.add_metadata_field({"external_id": "topics", "label": "Topics", "type": "set",
                            "datasource": {"values": [{"external_id": "sea", "value": "Sea"},
                                                      {"external_id": "sky", "value": "Sky"}]}})
    uploaded = sdk.upload(public_id="md/one", metadata={"caption": "a=b|c", "kind": "photo",
                                                        "topics": ["sea", "sky"]})
    assert uploaded["metadata"] == {"caption": "a=b|c", "kind": "photo", "topics": ["sea", "sky"], "rating": 3}
    sdk.upload(public_id="md/two")
    result = uploader.update_metadata({"rating": 5, "caption": ""}, ["md/one", "md/two"])
    assert result["public_ids"] == ["md/one", "md/two"]
    assert Asset.objects.get(public_id="md/one").metadata == {"kind": "photo", "topics": ["sea", "sky"], "rating": 5}
    with pytest.raises(cloudinary.exceptions.BadRequest, match="rating"):
        uploader.update_metadata({"rating": 6}, ["md/one"])
    explicit = uploader.explicit("md/two", type="upload", metadata={"topics": ["sky"]})
    assert explicit["metadata"] == {"rating": 5, "topics": ["sky"]}
    updated = api.update("md/two", metadata={"kind": "art"})
    assert updated["metadata"]["kind"] == "art"
    assert api.resource("md/two")["metadata"] == {"rating": 5, "topics": ["sky"], "kind": "art"}
    with pytest.raises(cloudinary.exceptions.BadRequest, match="does not exist"):
        sdk.upload(make_image(8, 8), public_id="md/bad", metadata={"nope": "x"})
    assert not Asset.objects.filter(public_id="md/bad").exists()


def test_npm_sdk(node_sdk):
    image = node_sdk.file("m.jpg", make_image(32, 24))
    created, dup, ds, deleted, restored, ordered, uploaded, updated, info = node_sdk([
        ("api.add_metadata_field", [{"external_id": "set4", "label": "set4", "type": "set",
                                     "datasource": {"values": [{"external_id": "1", "value": "Email",
                                                                "state": "active"}, {"value": "Phone"}]}}]),
        ("api.add_metadata_field", [{"external_id": "set4", "label": "set4", "type": "set"}]),
        ("api.update_metadata_field_datasource", ["set4", {"values": [{"external_id": "2", "value": "Fax"}]}]),
        ("api.delete_datasource_entries", ["set4", ["2"]]),
        ("api.restore_metadata_field_datasource", ["set4", ["2"]]),
        ("api.order_metadata_field_datasource", ["set4", "value", "desc"]),
        ("uploader.upload", [image, {"public_id": "node/md", "metadata": {"set4": ["1"]}}]),
        ("uploader.update_metadata", [{"set4": [1, 2]}, ["node/md"]]),
        ("api.resource", ["node/md", {}]),
    ])
    assert created["type"] == "set" and created["datasource"]["values"][0]["value"] == "Email"
    assert dup["error"]["http_code"] == 400 and "external id set4 already exists" in dup["error"]["message"]
    assert [v["value"] for v in ds["values"]] == ["Email", "Phone", "Fax"]
    assert len(deleted["values"]) == 2 and len(restored["values"]) == 3
    assert [v["value"] for v in ordered["values"]] == ["Phone", "Fax", "Email"]
    assert uploaded["metadata"] == {"set4": ["1"]}
    assert updated["public_ids"] == ["node/md"]
    assert info["metadata"] == {"set4": ["1", "2"]}
