"""Structured metadata (issue 15, item 2) through the Django test client: the
``metadata_fields`` Admin API (every type, validation rules, datasource add / delete /
restore / order, field order, errors with their status) and metadata on upload,
explicit, the ``metadata`` action and the Admin API's update, in responses and details.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from assets.models import Asset, DatasourceValue, MetadataField
from tests.admin_client import admin, put_image  # noqa: F401  (fixtures)

pytestmark = pytest.mark.django_db

COLORS = [{"external_id": "red", "value": "Red"}, {"external_id": "green", "value": "Green"},
          {"value": "Blue"}]


def add(admin, **field):
    field.setdefault("label", field.get("external_id", "x"))
    response = admin.post("metadata_fields", field)
    assert response.status_code == 200, response.content
    return response.json()


def call(admin, action: str, **params):
    """An Upload API action with HTTP Basic credentials (lists sent as ``key[]``)."""
    data = {f"{k}[]" if isinstance(v, list) else k: v for k, v in params.items()}
    return admin.client.post(admin.url(f"image/{action}"), data, **admin.auth)


def error(response, status: int) -> str:
    assert response.status_code == status, response.content
    return response.json()["error"]["message"]


# --- the fields API -------------------------------------------------------------------------


@pytest.mark.parametrize("type_", ["string", "integer", "date", "enum", "set"])
def test_create_get_list_each_type(admin, type_):
    extra = {"datasource": {"values": COLORS}} if type_ in ("enum", "set") else {}
    body = add(admin, external_id=f"f_{type_}", type=type_, restrictions={"readonly_ui": True}, **extra)
    assert body["type"] == type_ and body["external_id"] == f"f_{type_}" and body["label"] == f"f_{type_}"
    assert body["mandatory"] is False and body["default_value"] is None and body["validation"] is None
    assert body["restrictions"] == {"readonly_ui": True}
    if extra:
        values = body["datasource"]["values"]
        assert [v["value"] for v in values] == ["Red", "Green", "Blue"]
        assert values[0] == {"external_id": "red", "value": "Red", "state": "active"}
        assert values[2]["external_id"]  # generated
    assert admin.get(f"metadata_fields/f_{type_}").json() == body
    listed = admin.get("metadata_fields").json()["metadata_fields"]
    assert [f["external_id"] for f in listed] == [f"f_{type_}"]


def test_create_errors(admin):
    add(admin, external_id="dup", type="string")
    assert "external id dup already exists" in error(admin.post("metadata_fields", {
        "external_id": "dup", "label": "d", "type": "string"}), 400)
    assert "Invalid type" in error(admin.post("metadata_fields", {"external_id": "z", "type": "number"}), 400)
    assert "validation" in error(admin.post("metadata_fields", {
        "external_id": "z", "type": "string", "validation": {"type": "greater_than", "value": 3}}), 400)
    assert "strlen" in error(admin.post("metadata_fields", {
        "external_id": "z", "type": "integer", "validation": {"type": "strlen", "max": 3}}), 400)
    assert "mandatory" in error(admin.post("metadata_fields", {
        "external_id": "z", "type": "string", "mandatory": True}), 400)
    assert "not found" in error(admin.get("metadata_fields/nope"), 404)
    assert not MetadataField.objects.filter(external_id="z").exists()


def test_integer_validation_with_equals(admin):
    rule = {"type": "less_than", "equals": True, "value": 5}
    body = add(admin, external_id="n", type="integer", default_value=5, validation=rule)
    assert body["validation"] == rule and body["default_value"] == 5
    message = error(admin.post("metadata_fields", {"external_id": "n2", "label": "n2", "type": "integer",
                                                   "default_value": 6, "validation": rule}), 400)
    assert "default_value is invalid" in message


def test_date_validation_and_combination(admin):
    today = date.today()
    rule = {"type": "and", "rules": [
        {"type": "greater_than", "equals": False, "value": (today - timedelta(days=3)).isoformat()},
        {"type": "less_than", "equals": False, "value": today.isoformat()}]}
    yesterday = (today - timedelta(days=1)).isoformat()
    body = add(admin, external_id="d", type="date", default_value=yesterday, validation=rule)
    assert body["validation"] == rule and body["default_value"] == yesterday
    for bad in ((today + timedelta(days=3)).isoformat(), today.isoformat(), "2024-13-01", "tomorrow"):
        message = error(admin.post("metadata_fields", {"external_id": "d2", "label": "d2", "type": "date",
                                                       "default_value": bad, "validation": rule}), 400)
        assert "default_value is invalid" in message


def test_or_and_strlen(admin):
    rule = {"type": "or", "rules": [{"type": "strlen", "max": 2}, {"type": "strlen", "min": 5}]}
    add(admin, external_id="s", type="string", validation=rule)
    put_ok = admin.put("metadata_fields/s", {"default_value": "abcdef"})
    assert put_ok.json()["default_value"] == "abcdef"
    assert "default_value is invalid" in error(admin.put("metadata_fields/s", {"default_value": "abc"}), 400)
    assert MetadataField.objects.get(external_id="s").default_value == "abcdef"  # nothing half-written


def test_update_ignores_type_and_external_id(admin):
    add(admin, external_id="g", type="string")
    body = admin.put("metadata_fields/g", {"external_id": "other", "type": "integer", "label": "New",
                                           "default_value": "dv", "restrictions": {"readonly_ui": True}}).json()
    assert body["external_id"] == "g" and body["type"] == "string" and body["label"] == "New"
    assert body["default_value"] == "dv" and body["restrictions"] == {"readonly_ui": True}


def test_datasource_add_delete_restore_order(admin):
    add(admin, external_id="c", type="set", datasource={"values": COLORS})
    body = admin.put("metadata_fields/c/datasource", {"values": [{"external_id": "red", "value": "Crimson"},
                                                                 {"external_id": "amber", "value": "Amber"}]}).json()
    assert body["values"][0] == {"external_id": "red", "value": "Crimson"}
    assert [v["value"] for v in body["values"]] == ["Crimson", "Green", "Blue", "Amber"]
    body = admin.delete("metadata_fields/c/datasource", {"external_ids": ["red"]}).json()
    assert [v["value"] for v in body["values"]] == ["Green", "Blue", "Amber"]
    state = admin.get("metadata_fields/c").json()["datasource"]["values"][0]
    assert state == {"external_id": "red", "value": "Crimson", "state": "inactive"}
    body = admin.post("metadata_fields/c/datasource_restore", {"external_ids": ["red"]}).json()
    assert len(body["values"]) == 4
    body = admin.post("metadata_fields/c/datasource/order", {"order_by": "value", "direction": "desc"}).json()
    assert [v["value"] for v in body["values"]] == ["Green", "Crimson", "Blue", "Amber"]
    body = admin.post("metadata_fields/c/datasource/order", {"order_by": "value"}).json()
    assert body["values"][0]["value"] == "Amber"
    assert "not found" in error(admin.delete("metadata_fields/c/datasource", {"external_ids": ["nope"]}), 404)
    assert "order_by" in error(admin.post("metadata_fields/c/datasource/order", {"order_by": "label"}), 400)
    assert "twice" in error(admin.put("metadata_fields/c/datasource", {"values": [{"value": "Green"}]}), 400)
    assert DatasourceValue.objects.filter(field__external_id="c").count() == 4


def test_datasource_on_a_string_field_is_refused(admin):
    add(admin, external_id="t", type="string")
    assert "no datasource" in error(admin.put("metadata_fields/t/datasource", {"values": [{"value": "a"}]}), 400)


def test_reorder_fields(admin):
    for external_id, label in (("b", "Zeta"), ("a", "Alpha"), ("c", "Mid")):
        add(admin, external_id=external_id, type="string", label=label)
    ordered = admin.put("metadata_fields/order", {"order_by": "label", "direction": "asc"}).json()
    assert [f["label"] for f in ordered["metadata_fields"]] == ["Alpha", "Mid", "Zeta"]
    admin.put("metadata_fields/order", {"order_by": "external_id", "direction": "desc"})
    assert [f["external_id"] for f in admin.get("metadata_fields").json()["metadata_fields"]] == ["c", "b", "a"]
    admin.put("metadata_fields/order", {"order_by": "created_at", "direction": "asc"})
    assert [f["external_id"] for f in admin.get("metadata_fields").json()["metadata_fields"]] == ["b", "a", "c"]
    assert "order_by" in error(admin.put("metadata_fields/order", {"order_by": "type"}), 400)


def test_delete_field_removes_asset_values(admin, put_image):
    add(admin, external_id="k", type="string")
    put_image("one", metadata="k=hello")
    assert Asset.objects.get(public_id="one").metadata == {"k": "hello"}
    assert admin.delete("metadata_fields/k").json() == {"message": "ok"}
    assert Asset.objects.get(public_id="one").metadata == {}
    assert admin.get("metadata_fields/k").status_code == 404


def test_viewer_key_cannot_change_fields(client, api_key):
    from tests.admin_client import Admin

    api_key.role = "viewer"
    api_key.save()
    viewer = Admin(client, api_key)
    assert viewer.get("metadata_fields").status_code == 200
    assert viewer.post("metadata_fields", {"external_id": "v", "type": "string"}).status_code == 403


# --- values on assets ------------------------------------------------------------------------


@pytest.fixture
def fields(admin):
    add(admin, external_id="title", type="string", validation={"type": "strlen", "max": 10})
    add(admin, external_id="count", type="integer", mandatory=True, default_value=1,
        validation={"type": "greater_than", "equals": True, "value": 0})
    add(admin, external_id="shot", type="date")
    add(admin, external_id="color", type="enum", datasource={"values": COLORS})
    add(admin, external_id="tags2", type="set", datasource={"values": COLORS})
    add(admin, external_id="dflt", type="string", default_value="auto", default_disabled=True)


def test_upload_with_metadata_and_defaults(fields, put_image):
    body = put_image("p", metadata='title=Hi \\| there|shot=2024-02-29|color=red|tags2=["red","green"]')
    assert body["metadata"] == {"title": "Hi | there", "shot": "2024-02-29", "color": "red",
                                "tags2": ["red", "green"], "count": 1}
    assert Asset.objects.get(public_id="p").metadata == body["metadata"]


@pytest.mark.parametrize("value, words", [
    ("title=far too long a title", "title"),
    ("count=-1", "count"),
    ("count=abc", "integer"),
    ("shot=2024-02-30", "YYYY-MM-DD"),
    ("color=purple", "purple"),
    ('tags2=["red","nope"]', "nope"),
    ("unknown=1", "does not exist"),
])
def test_upload_with_a_bad_value_stores_nothing(fields, upload, value, words):
    from tests.conftest import make_image

    response = upload(make_image(), public_id="bad", metadata=value)
    assert response.status_code == 400
    assert words in response.json()["error"]["message"]
    assert not Asset.objects.filter(public_id="bad").exists()


def test_metadata_action_explicit_and_update(fields, admin, put_image, upload):
    put_image("a")
    put_image("b")
    response = call(admin, "metadata", public_ids=["a", "b", "missing"], metadata="title=Same|count=7")
    assert response.json() == {"public_ids": ["a", "b"]}
    assert Asset.objects.get(public_id="b").metadata == {"title": "Same", "count": 7}
    # all or none: the second value fails, the first asset keeps its values
    response = call(admin, "metadata", public_ids=["a"], metadata="title=New|count=-1")
    assert response.status_code == 400
    assert Asset.objects.get(public_id="a").metadata["title"] == "Same"
    assert "mandatory" in call(admin, "metadata", public_ids=["a"], metadata="count=").json()["error"][
        "message"]
    body = call(admin, "explicit", public_id="a", type="upload", metadata="title=|shot=2020-01-01").json()
    assert body["metadata"] == {"count": 7, "shot": "2020-01-01"}
    body = admin.post("resources/image/upload/a", {"metadata": "color=green"}).json()
    assert body["metadata"] == {"count": 7, "shot": "2020-01-01", "color": "green"}
    assert admin.get("resources/image/upload/a").json()["metadata"]["color"] == "green"


def test_clear_invalid_drops_stale_values(fields, admin, put_image, upload):
    put_image("a", metadata="color=red|title=ok")
    admin.delete("metadata_fields/color/datasource", {"external_ids": ["red"]})
    response = call(admin, "metadata", public_ids=["a"], metadata="title=kept", clear_invalid="true")
    assert response.status_code == 200
    assert Asset.objects.get(public_id="a").metadata == {"title": "kept", "count": 1}


def test_dynamic_list_values_are_added(admin, put_image):
    add(admin, external_id="kw", type="set", allow_dynamic_list_values=True, datasource={"values": COLORS})
    body = put_image("a", metadata='kw=["red","violet"]')
    assert body["metadata"]["kw"] == ["red", "violet"]
    values = admin.get("metadata_fields/kw").json()["datasource"]["values"]
    assert {"external_id": "violet", "value": "violet", "state": "active"} in values


def test_no_metadata_key_when_empty(put_image):
    assert "metadata" not in put_image("plain")


def test_a_refused_upload_adds_no_dynamic_value(admin, upload):
    from tests.conftest import make_image

    add(admin, external_id="kw", type="set", allow_dynamic_list_values=True, datasource={"values": COLORS})
    response = upload(b"not an image at all", public_id="x", metadata='kw=["violet"]')  # refused after the check
    assert response.status_code == 400
    assert not DatasourceValue.objects.filter(external_id="violet").exists()
    assert upload(make_image(), public_id="y", metadata='kw=["violet"]').status_code == 200
    assert DatasourceValue.objects.filter(external_id="violet").exists()
