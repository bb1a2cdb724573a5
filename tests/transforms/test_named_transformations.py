"""Named transformations: naming rules, expansion of t_ references, strict mode, the log of
dynamic transformations, and the Admin API ``/transformations`` as the SDK calls it."""

from __future__ import annotations

import re

import pytest
from django.test import override_settings

from core.errors import BadRequest, Unauthorized
from tests.admin_client import admin, put_image  # noqa: F401  (fixtures)
from transforms.cloudinary import named
from transforms.models_named import Transformation


def define(**definitions):
    for name, text in definitions.items():
        named.create(name, text)


# --- names ---------------------------------------------------------------------------------

VALID_NAMES = ["small", "instagram-auto-crop", "fill_square_400", "w_100", "Größe", "with space", "a" * 1024,
               "x:y", "x$y", "ümlaut_ß", "1"]
INVALID_NAMES = ["", "a/b", "a.b", "a,b", "a?b", "a&b", "a#b", "a%b", "a<b", "a>b", "a\\b", "a|b", "a" * 1025,
                 " lead", "trail ", "tab\there", None]


@pytest.mark.parametrize("name", VALID_NAMES)
def test_valid_names(name):
    assert named.check_name(name) == name


@pytest.mark.parametrize("name", INVALID_NAMES)
def test_invalid_names(name):
    with pytest.raises(BadRequest):
        named.check_name(name)


# --- expansion -----------------------------------------------------------------------------

EXPANSIONS = [
    # (URL components, expanded components, names used)
    (["w_100"], ["w_100"], ()),
    (["t_thumb"], ["c_fill,h_50,w_50"], ("thumb",)),
    (["e_grayscale", "t_thumb"], ["e_grayscale", "c_fill,h_50,w_50"], ("thumb",)),
    (["t_thumb", "f_auto"], ["c_fill,h_50,w_50", "f_auto"], ("thumb",)),
    (["t_thumb.round"], ["c_fill,h_50,w_50", "r_max"], ("thumb", "round")),
    (["t_thumb", "t_round"], ["c_fill,h_50,w_50", "r_max"], ("thumb", "round")),
    (["t_combo"], ["c_fill,h_50,w_50", "r_max", "e_sepia"], ("combo", "thumb", "round")),
    (["t_deep"], ["c_fill,h_50,w_50", "r_max", "e_sepia", "a_90"], ("deep", "combo", "thumb", "round")),
    # t_ with other parameters in its component (the SDK writes transformation="thumb", width=10 so)
    (["t_thumb,w_10"], ["c_fill,h_50,w_50", "w_10"], ("thumb",)),
    (["$v_3,t_thumb"], ["$v_3", "c_fill,h_50,w_50"], ("thumb",)),
    (["if_w_gt_10,t_thumb"], ["if_w_gt_10", "c_fill,h_50,w_50", "if_end"], ("thumb",)),
    (["if_w_gt_10,t_thumb.round,e_blur"], ["if_w_gt_10", "c_fill,h_50,w_50", "r_max", "e_blur", "if_end"],
     ("thumb", "round")),
    (["t_Größe"], ["w_7"], ("Größe",)),
]

EXPANSION_ERRORS = [
    (["t_nope"], "Unknown named transformation: nope"),
    (["t_thumb.nope"], "Unknown named transformation: nope"),
    (["t_"], "Invalid named transformation reference"),
    (["t_thumb."], "Invalid named transformation reference"),
    (["t_thumb,t_round"], "more than one t_"),
    (["t_loop"], "refers to itself"),
    (["t_ping"], "refers to itself"),
    (["if_end,t_thumb"], "t_ with if_end"),
]


@pytest.fixture
def library(db):
    define(thumb="c_fill,h_50,w_50", round="r_max", combo="t_thumb.round/e_sepia", deep="t_combo/a_90")
    define(**{"Größe": "w_7"})
    # cycles can only be made by editing rows directly (create/update refuse them)
    Transformation.objects.create(named=True, name="loop", text="t_loop")
    Transformation.objects.create(named=True, name="ping", text="t_pong")
    Transformation.objects.create(named=True, name="pong", text="e_sepia/t_ping")


@pytest.mark.parametrize("components,expected,names", EXPANSIONS)
def test_expand(library, components, expected, names):
    assert named.expand(components) == (expected, names)


@pytest.mark.parametrize("components,message", EXPANSION_ERRORS)
def test_expand_errors(library, components, message):
    with pytest.raises(BadRequest, match=message):
        named.expand(components)


def test_expand_depth_and_size_limits(db):
    define(n0="w_1")
    for level in range(1, named.MAX_DEPTH + 2):
        Transformation.objects.create(named=True, name=f"n{level}", text=f"t_n{level - 1}")
    assert named.expand([f"t_n{named.MAX_DEPTH - 1}"])[0] == ["w_1"]
    with pytest.raises(BadRequest, match="deeper than"):
        named.expand([f"t_n{named.MAX_DEPTH + 1}"])
    # exponential definitions are cut by the component limit
    define(x0="w_1/h_1")
    for level in range(1, 8):
        Transformation.objects.create(named=True, name=f"x{level}", text=f"t_x{level - 1}/t_x{level - 1}")
    with pytest.raises(BadRequest, match="Transformation too long"):
        named.expand(["t_x7"])


def test_definitions_are_expanded_at_delivery_time(library):
    named.update(named.find("thumb"), definition="c_scale,w_20")
    assert named.expand(["t_combo"])[0] == ["c_scale,w_20", "r_max", "e_sepia"]


# --- definitions ---------------------------------------------------------------------------

DEFINITION_ERRORS = [
    ("", "Missing required parameter - transformation"),
    ("zz_1", "Invalid transformation (component|parameter): zz"),
    ("w_100/", None),  # a trailing slash (no extension) is accepted
    ("w_100//h_1", "empty component"),
    ("t_missing", "Unknown named transformation: missing"),
    ("t_self", "refers to itself"),
    ("t_wrap", "refers to itself"),
]


@pytest.mark.parametrize("text,message", DEFINITION_ERRORS)
def test_definition_errors(db, text, message):
    Transformation.objects.create(named=True, name="inner", text="t_self")
    Transformation.objects.create(named=True, name="wrap", text="t_inner")  # self -> wrap -> inner -> self
    if message is None:
        named.create("self", text)
        return
    with pytest.raises(BadRequest, match=message):
        named.create("self", text)


# --- strict mode -----------------------------------------------------------------------------

STRICT = [
    # (transformation text, signed, allowed?)
    ("", False, True),  # the original
    ("t_thumb", False, True),
    ("t_thumb.round", False, True),
    ("t_thumb/t_round", False, True),
    ("t_hidden", False, False),  # named, but not allowed for strict
    ("t_thumb.hidden", False, False),
    ("w_100", False, False),
    ("t_thumb/f_auto", False, False),
    ("t_thumb,w_10", False, False),
    ("w_100", True, True),  # signed URLs are always allowed
    ("c_fill,h_10,w_10", False, True),  # a dynamic transformation allowed explicitly
]


@pytest.mark.parametrize("text,signed,allowed", STRICT)
def test_strict(library, text, signed, allowed):
    named.create("hidden", "e_sepia", allowed_for_strict=False)
    row = Transformation.objects.create(named=False, name="c_fill,h_10,w_10", text="c_fill,h_10,w_10",
                                        allowed_for_strict=True)
    assert row.key == named.transformation_key(False, "c_fill,h_10,w_10")
    named.check_strict(text, named.expand(named.split_text(text))[1], signed)  # strict off: all allowed
    named.set_strict(True)
    if allowed:
        named.check_strict(text, (), signed)
    else:
        with pytest.raises(Unauthorized, match="is not allowed"):
            named.check_strict(text, (), signed)


def test_strict_setting_and_runtime_override(db):
    assert named.strict_enabled() is False
    with override_settings(DAM_STRICT_TRANSFORMATIONS=True):
        assert named.strict_enabled() is True
        named.set_strict(False)
        assert named.strict_enabled() is False
        named.set_strict(None)
        assert named.strict_enabled() is True
    named.set_strict(True)
    assert named.strict_enabled() is True


# --- the log of delivered dynamic transformations ----------------------------------------------


def test_record_dynamic(library):
    named.record_dynamic("c_fill,h_10,w_10/e_sepia")
    named.record_dynamic("c_fill,h_10,w_10/e_sepia")
    named.record_dynamic("t_thumb")  # only named: marks it used, no dynamic row
    named.record_dynamic("t_round/w_5")
    named.record_dynamic("")
    dynamic = list(Transformation.objects.filter(named=False).values_list("name", "used"))
    assert dynamic == [("c_fill,h_10,w_10/e_sepia", True), ("t_round/w_5", True)]
    assert set(Transformation.objects.filter(named=True, used=True).values_list("name", flat=True)) == {
        "thumb", "round"}


# --- Admin API --------------------------------------------------------------------------------


def test_api_create_list_get_update_delete(admin):
    assert admin.post("transformations", {"name": "thumb", "transformation": "c_fill,h_50,w_50"}).json() == {
        "message": "created"}
    assert admin.post("transformations", {"name": "round", "transformation": "r_max/e_sepia"},
                      as_="form").json() == {"message": "created"}
    named.record_dynamic("c_scale,w_10")

    listing = admin.get("transformations").json()
    assert listing == {"transformations": [
        {"name": "t_thumb", "allowed_for_strict": True, "used": False, "named": True},
        {"name": "t_round", "allowed_for_strict": True, "used": False, "named": True},
        {"name": "c_scale,w_10", "allowed_for_strict": False, "used": True, "named": False},
    ]}
    assert [t["name"] for t in admin.get("transformations", {"named": "true"}).json()["transformations"]] == [
        "t_thumb", "t_round"]
    assert [t["name"] for t in admin.get("transformations", {"named": "false"}).json()["transformations"]] == [
        "c_scale,w_10"]

    page = admin.get("transformations", {"max_results": 2}).json()
    assert len(page["transformations"]) == 2 and page["next_cursor"]
    rest = admin.get("transformations", {"max_results": 2, "next_cursor": page["next_cursor"]}).json()
    assert [t["name"] for t in rest["transformations"]] == ["c_scale,w_10"] and "next_cursor" not in rest

    for identifier in ("thumb", "t_thumb"):
        detail = admin.get("transformations", {"transformation": identifier}).json()
        assert detail == {"name": "t_thumb", "allowed_for_strict": True, "used": False, "named": True,
                          "info": [{"crop": "fill", "height": 50, "width": 50}], "derived": []}
    assert admin.get("transformations/round").json()["info"] == [{"radius": "max"}, {"effect": "sepia"}]
    assert admin.get("transformations", {"transformation": "c_scale,w_10"}).json()["named"] is False

    response = admin.put("transformations", {"transformation": "thumb", "allowed_for_strict": False,
                                             "unsafe_update": "c_scale,w_20"})
    assert response.json() == {"message": "updated"}
    row = named.find("thumb")
    assert (row.text, row.allowed_for_strict) == ("c_scale,w_20", False)
    # allowing a dynamic transformation that was never delivered creates its row
    assert admin.put("transformations", {"transformation": "e_sepia", "allowed_for_strict": True}).status_code == 200
    assert named.find("e_sepia").allowed_for_strict is True

    assert admin.delete("transformations", {"transformation": "thumb"}).json() == {"message": "deleted"}
    assert admin.delete("transformations", {"transformation": "c_scale,w_10"}, as_="query").json() == {
        "message": "deleted"}
    assert admin.get("transformations", {"transformation": "thumb"}).status_code == 404
    assert [t["name"] for t in admin.get("transformations").json()["transformations"]] == ["t_round", "e_sepia"]


API_ERRORS = [
    ("post", {"name": "a.b", "transformation": "w_1"}, 400, "Invalid transformation name"),
    ("post", {"name": "ok", "transformation": "zz_1"}, 400, "Invalid transformation (component|parameter): zz"),
    ("post", {"name": "ok", "transformation": "t_nope"}, 400, "Unknown named transformation: nope"),
    ("post", {"name": "ok"}, 400, "Missing required parameter - transformation"),
    ("post", {"transformation": "w_1"}, 400, "Missing required parameter - name"),
    ("post", {"name": "thumb", "transformation": "w_1"}, 409, "already exists"),
    ("get", {"transformation": "nope"}, 404, "Transformation nope not found"),
    ("put", {"transformation": "nope", "unsafe_update": "w_1"}, 404, "not found"),
    ("put", {"transformation": "thumb", "unsafe_update": "zz_1"}, 400,
     "Invalid transformation (component|parameter): zz"),
    ("put", {"transformation": "thumb", "unsafe_update": "t_thumb"}, 400, "refers to itself"),
    ("put", {"transformation": "thumb", "allowed_for_strict": "maybe"}, 400, "Invalid boolean"),
    ("put", {}, 400, "Missing required parameter - transformation"),
    ("delete", {"transformation": "nope"}, 404, "not found"),
]


@pytest.mark.parametrize("method,params,status,message", API_ERRORS)
def test_api_errors(admin, method, params, status, message):
    named.create("thumb", "c_fill,h_50,w_50")
    response = getattr(admin, method)("transformations", params)
    assert response.status_code == status, response.content
    assert re.search(message, response.json()["error"]["message"])


def test_api_needs_credentials_and_sends_rate_limit_headers(client, admin):
    assert client.get("/v1_1/demo/transformations").status_code == 401
    response = admin.get("transformations")
    assert response.status_code == 200 and response["X-FeatureRateLimit-Limit"]


# --- delivery and invalidation (with the engine) ---------------------------------------------


def _render(client, path: str):
    import pyvips

    response = client.get(path)
    assert response.status_code == 200, response.get("X-Cld-Error")
    return pyvips.Image.new_from_buffer(b"".join(response.streaming_content), "")


def test_update_and_delete_remove_the_derived_images_built_with_it(upload, client,
                                                                  django_capture_on_commit_callbacks):
    from django.core.files.storage import storages

    from tests.conftest import make_image
    from transforms.models import DerivedImage

    assert upload(make_image(80, 60), public_id="inv").status_code == 200
    define(inner="c_scale,w_20", outer="t_inner/e_grayscale", other="c_scale,w_30")
    assert _render(client, "/demo/image/upload/t_outer/inv.jpg").width == 20
    assert _render(client, "/demo/image/upload/t_other/inv.jpg").width == 30
    assert _render(client, "/demo/image/upload/c_scale,w_10/inv.jpg").width == 10
    rows = {r.named: r for r in DerivedImage.objects.all()}
    assert set(rows) == {"|outer|inner|", "|other|", ""}
    stale = rows["|outer|inner|"].storage_name

    with django_capture_on_commit_callbacks(execute=True):
        named.update(named.find("inner"), definition="c_scale,w_16")  # nested: outer's renderings go too
    assert set(DerivedImage.objects.values_list("named", flat=True)) == {"|other|", ""}
    assert not storages["derived"].exists(stale)
    assert _render(client, "/demo/image/upload/t_outer/inv.jpg").width == 16

    named.update(named.find("other"), allowed_for_strict=False)  # not a new definition: renderings stay
    assert DerivedImage.objects.filter(named="|other|").exists()
    named.delete(named.find("other"))
    assert not DerivedImage.objects.filter(named="|other|").exists()
    response = client.get("/demo/image/upload/t_other/inv.jpg")
    assert response.status_code == 400 and response["X-Cld-Error"] == "Unknown named transformation: other"

    named.delete(named.find("c_scale,w_10"))  # a dynamic one: its renderings go with it
    assert set(DerivedImage.objects.values_list("named", flat=True)) == {"|outer|inner|"}


def test_named_with_a_variable_set_in_the_url(upload, client):
    from tests.conftest import make_image

    assert upload(make_image(80, 60), public_id="var").status_code == 200
    define(sized="c_scale,w_$width")
    assert _render(client, "/demo/image/upload/$width_24/t_sized/var.jpg").width == 24
    assert _render(client, "/demo/image/upload/$width_12,t_sized/var.jpg").width == 12


def test_strict_delivery(upload, client):
    from tests.conftest import make_image

    assert upload(make_image(80, 60), public_id="strict").status_code == 200
    define(ok="c_scale,w_20")
    named.set_strict(True)
    response = client.get("/demo/image/upload/c_scale,w_20/strict.jpg")
    assert response.status_code == 401
    assert response["X-Cld-Error"] == "Transformation c_scale,w_20 is not allowed"
    assert _render(client, "/demo/image/upload/t_ok/strict.jpg").width == 20
    assert _render(client, "/demo/image/upload/strict.jpg").width == 80
