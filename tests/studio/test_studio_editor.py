"""The Studio editor through Django's test client: steps <-> URL text, the palette's forms,
quick edit, the copyable code (checked with the real cloudinary SDK), save as named."""

from __future__ import annotations

import re
import shlex
from html import unescape
from urllib.parse import parse_qs, unquote, urlsplit

import pytest

from assets.models import Asset
from studio import chain as chains
from studio import palette
from tests.conftest import make_image
from tests.studio_fixtures import asset_row, login, users  # noqa: F401
from transforms import values as params
from transforms.cloudinary import build as plan
from transforms.encode import ENCODERS
from transforms.models_named import Transformation
from transforms.cloudinary.parser import canonical
from transforms.ai.producers import PRODUCERS
from transforms.ops import registry

pytestmark = pytest.mark.django_db

# chain -> kinds of its steps (text(parse(chain)) must be canonical(chain))
ROUND_TRIP = [
    ("w_200,c_fill,h_150/e_grayscale", ["resize", "effect"]),
    ("c_fill,g_auto,ar_16:9", ["resize"]),
    ("c_thumb,g_face,w_100,h_100", ["resize"]),
    ("e_blur:300/e_sepia", ["effect", "effect"]),
    ("r_max/r_20", ["radius", "radius"]),
    ("bo_4px_solid_rgb:ff0000", ["border"]),
    ("a_90/a_hflip/a_vflip.45/a_-15", ["rotate"] * 4),
    ("a_90.hflip/a_auto_right", ["raw", "raw"]),
    ("l_brand:logo,w_100/fl_layer_apply,g_north_east,x_10,y_10", ["overlay"]),
    ("l_text:Arial_40:Hello%2C world,co_white/fl_layer_apply,g_south,y_20", ["text"]),
    ("l_text:Arial_40_bold:Hi/fl_layer_apply", ["text"]),
    ("f_auto,q_auto/q_80/f_webp", ["format"] * 3),
    ("l_logo/e_sepia/fl_layer_apply,g_center", ["raw"]),
    ("e_tint:50:red:blue/c_fill,w_10,x_5", ["effect", "raw"]),
    ("t_thumb/e_sepia", ["raw", "effect"]),
]


@pytest.mark.parametrize("chain,kinds", ROUND_TRIP, ids=[c for c, k in ROUND_TRIP])
def test_steps_and_text_are_inverse(chain, kinds):
    parsed = palette.parse(chain)
    assert [s.kind for s in parsed] == kinds
    assert palette.text(parsed) == canonical(chain)
    assert palette.text(palette.parse(palette.text(parsed))) == palette.text(parsed)


def test_unknown_syntax_is_kept_as_a_raw_step_with_the_parser_message():
    parsed = palette.parse("c_fill,w_10/zz_top/e_sepia")
    assert [s.kind for s in parsed] == ["resize", "raw", "effect"]
    assert parsed[1].text == "zz_top" and parsed[1].error == "Invalid transformation parameter: zz"
    assert palette.text(parsed) == "c_fill,w_10/zz_top/e_sepia"
    assert palette.parse("c_fill,w_10//e_sepia/") == palette.parse("c_fill,w_10/e_sepia")


# kind, form values -> step text, or the field with an error
FORMS = [
    ("resize", {"c": "fill", "w": "200", "h": "150", "g": "auto"}, "c_fill,g_auto,h_150,w_200"),
    ("resize", {"ar": "16:9", "c": "fill"}, "ar_16:9,c_fill"),
    ("resize", {"g": "auto"}, ("__all__", "Gravity needs a crop mode or a size.")),
    ("resize", {}, ("__all__", "Fill in at least one field.")),
    ("resize", {"w": "wide"}, ("w", "Width must be a number.")),
    ("resize", {"c": "squash"}, ("c", "Choose one of")),
    ("effect", {"effect": "grayscale"}, "e_grayscale"),
    ("effect", {"effect": "blur", "arg": "300"}, "e_blur:300"),
    ("effect", {"arg": "3"}, ("effect", "Effect is required.")),
    ("radius", {"r": "max"}, "r_max"),
    ("border", {"width": "4", "style": "solid", "color": "rgb:ff0000"}, "bo_4px_solid_rgb:ff0000"),
    ("border", {"width": "4", "style": "solid"}, ("color", "Colour is required.")),
    ("rotate", {"angle": "45", "flip": "hflip"}, "a_hflip.45"),
    ("rotate", {"angle": "-90"}, "a_-90"),
    ("overlay", {"public_id": "brand/logo", "w": "50", "g": "south_east", "x": "5", "y": "5"},
     "l_brand:logo,w_50/fl_layer_apply,g_south_east,x_5,y_5"),
    ("overlay", {"public_id": "a,b"}, ("__all__", "Invalid overlay public_id")),
    ("text", {"text": "Hi, you/me", "font": "Arial", "size": "40", "color": "white", "g": "south"},
     "co_white,l_text:Arial_40:Hi%2C you%2Fme/fl_layer_apply,g_south"),
    ("text", {"text": "x", "font": "Ari_al", "size": "40"}, ("__all__", "Invalid font name")),
    ("format", {"f": "auto", "q": "auto"}, "f_auto,q_auto"),
    ("raw", {"text": "e_sepia/r_5/"}, "e_sepia/r_5"),
    ("nope", {}, ("__all__", "Unknown step type")),
]


@pytest.mark.parametrize("kind,values,expected", FORMS, ids=[f"{k}-{i}" for i, (k, v, e) in enumerate(FORMS)])
def test_palette_forms(kind, values, expected):
    step, errors = palette.from_form(kind, values)
    if isinstance(expected, str):
        assert errors == {} and step.text == expected
        if kind == "raw":  # known syntax typed as raw reads back as the palette's steps
            assert [s.kind for s in palette.parse(step.text)] == ["effect", "radius"]
            return
        reparsed = palette.parse(step.text)
        assert len(reparsed) == 1 and reparsed[0].kind == kind
        assert {k: v for k, v in reparsed[0].values.items() if v} == {k: v for k, v in step.values.items() if v}
    else:
        field, message = expected
        assert step is None and message in errors[field]


# --- the page ----------------------------------------------------------------------------


@pytest.fixture
def photo(upload):
    assert upload(make_image(300, 200), public_id="shoes/red").status_code == 200
    return Asset.objects.get(public_id="shoes/red")


def _t(response) -> str:
    assert response.status_code == 302, response.content[:300]
    return parse_qs(urlsplit(response["Location"]).query).get("t", [""])[0]


def _alerts(response) -> list[str]:
    return [unescape(m).strip() for m in re.findall(r'role="alert"[^>]*>([^<]+)<', response.content.decode())]


def test_actions_change_the_chain_in_the_url(login, photo):
    client = login("viewer")
    url = f"/studio/{photo.asset_id}/"
    t = _t(client.post(url, {"t": "", "action": "add", "kind": "resize", "c": "fill", "w": "200", "h": "150"}))
    assert t == "c_fill,h_150,w_200"
    t = _t(client.post(url, {"t": t, "action": "add", "kind": "effect", "effect": "grayscale"}))
    assert t == "c_fill,h_150,w_200/e_grayscale"
    t = _t(client.post(url, {"t": t, "action": "add", "kind": "radius", "r": "max"}))
    t = _t(client.post(url, {"t": t, "action": "update", "index": "0", "kind": "resize", "c": "fill", "w": "100",
                             "h": "100"}))
    assert t == "c_fill,h_100,w_100/e_grayscale/r_max"
    assert _t(client.post(url, {"t": t, "action": "up", "index": "2"})) == "c_fill,h_100,w_100/r_max/e_grayscale"
    assert _t(client.post(url, {"t": t, "action": "remove", "index": "1"})) == "c_fill,h_100,w_100/r_max"
    page = client.get(url, {"t": t})
    html = page.content.decode()
    assert page.status_code == 200
    assert 'value="c_fill,h_100,w_100/e_grayscale/r_max"' in html  # the quick-edit box
    # a viewer's chain URL is never signed; the JPEG's preview is a PNG (r_max's corners stay transparent)
    path, signed = chains.delivery_path(photo, t, may_sign=False, fmt="png")
    assert f'<img id="preview" src="{path}"' in html and "/c_fill,h_100,w_100/e_grayscale/r_max/" in path
    assert path.endswith(".png") and not signed
    assert html.count('class="step') >= 3 and "Save as named" not in html  # viewers cannot save


def test_htmx_actions_push_the_new_url(login, photo):
    client = login("editor")
    response = client.post(f"/studio/{photo.asset_id}/", {"t": "e_sepia", "action": "remove", "index": "0"},
                           HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and response["HX-Push-Url"] == f"/studio/{photo.asset_id}/"


def test_a_bad_step_is_refused_with_the_engines_message(login, photo):
    client = login("editor")
    response = client.post(f"/studio/{photo.asset_id}/", {"t": "e_sepia", "action": "add", "kind": "effect",
                                                          "effect": "blur", "arg": "99999"})
    assert response.status_code == 422
    assert "Invalid value for e_blur: strength 99999 is out of range 1..2000" in _alerts(response)
    assert 'value="99999"' in response.content.decode()  # what was typed stays in the form


def test_quick_edit_parses_into_steps_and_shows_the_engines_message(login, photo):
    client = login("viewer")
    response = client.get(f"/studio/{photo.asset_id}/", {"t": "w_200,c_fill,h_150/e_nonsense/zz_1"})
    html = response.content.decode()
    assert response.status_code == 200
    assert response.context["chain"] == "c_fill,h_150,w_200/e_nonsense/zz_1"
    assert [s.kind for s in response.context["steps"]] == ["resize", "raw", "raw"]
    assert response.context["bad_step"] == 1
    assert "Invalid effect: nonsense" in _alerts(response)
    assert '<img id="preview"' not in html  # no broken image: the message instead


def test_switching_the_preview_asset_keeps_the_chain(login, photo):
    other = asset_row("shoes/blue")
    client = login("viewer")
    response = client.get(f"/studio/{photo.asset_id}/", {"t": "e_sepia", "asset": other.asset_id})
    assert response.status_code == 302 and response["Location"] == f"/studio/{other.asset_id}/?t=e_sepia"
    html = client.get(f"/studio/{photo.asset_id}/", {"t": "e_sepia"}).content.decode()
    assert f'href="/studio/{other.asset_id}/?t=e_sepia"' in html
    assert client.get("/studio/").status_code == 302


def test_python_code_builds_the_same_url_with_the_sdk(login, photo, settings):
    import cloudinary

    chain = "c_fill,h_150,w_200/e_grayscale/r_max/bo_4px_solid_black/a_hflip.45/" \
            "l_brand:logo,w_50/fl_layer_apply,g_south_east,x_5,y_5/f_auto,q_auto:good/" \
            "co_white,l_text:Arial_40_bold:Hi%2C you/fl_layer_apply,g_south"
    page = login("editor").get(f"/studio/{photo.asset_id}/", {"t": chain})  # signed, as for editors
    python = unescape(re.search(r'id="code-python"[^>]*>([^<]*)</textarea>', page.content.decode()).group(1))
    node = unescape(re.search(r'id="code-node"[^>]*>([^<]*)</textarea>', page.content.decode()).group(1))
    cloudinary.config(cloud_name="demo", api_key="k", api_secret="s", cname="x", secure=False, private_cdn=False)
    try:
        built = eval(python.split("\n\n", 1)[1], {"cloudinary": cloudinary})  # noqa: S307 - our own text
    finally:
        cloudinary.reset_config()
    path = urlsplit(built).path
    transformation = path.split("/image/upload/", 1)[1].split("/v", 1)[0].split("/", 1)[1]  # after s--sig--
    assert canonical(unquote(transformation)) == chain  # the SDK escapes the text layer; the server decodes once
    assert path.endswith(f"/v{photo.version}/shoes/red.jpg")
    assert "transformation: [" in node and '{effect: "grayscale"}' in node and "cloudinary.url(\"shoes/red\"" in node
    curl = unescape(re.search(r'id="code-curl"[^>]*>([^<]*)</textarea>', page.content.decode()).group(1))
    assert shlex.split(curl) == ["curl", "-o", "red.jpg", "http://testserver" + chains.delivery_path(photo, chain)[0]]


# --- save as a named transformation ----------------------------------------------------------


@pytest.mark.parametrize("name,message", [
    ("", "Give the transformation a name."),
    ("a/b", "Invalid transformation name 'a/b': it must not contain /"),
    ("thumb.small", "Invalid transformation name 'thumb.small': it must not contain ."),
    (" padded", "Invalid transformation name ' padded': leading or trailing spaces"),
])
def test_save_as_named_validates_the_name(login, photo, name, message):
    response = login("editor").post(f"/studio/{photo.asset_id}/save/", {"t": "e_sepia", "name": name})
    assert response.status_code == 422
    assert message in _alerts(response)
    assert not Transformation.objects.filter(named=True).exists()


def test_save_as_named(login, photo):
    client = login("editor")
    chain = "c_fill,h_150,w_200/e_grayscale"
    response = client.post(f"/studio/{photo.asset_id}/save/", {"t": chain, "name": "gray_thumb",
                                                               "allowed_for_strict": "on"})
    assert response.status_code == 302 and response["Location"] == "/transformations/?created=gray_thumb"
    row = Transformation.objects.get(named=True, name="gray_thumb")
    assert row.text == chain and row.allowed_for_strict
    again = client.post(f"/studio/{photo.asset_id}/save/", {"t": "e_sepia", "name": "gray_thumb"})
    assert again.status_code == 422 and "Transformation gray_thumb already exists" in _alerts(again)
    empty = client.post(f"/studio/{photo.asset_id}/save/", {"t": "", "name": "empty"})
    assert "Add at least one step before saving." in _alerts(empty)
    listing = client.get("/transformations/").content.decode()
    assert "t_gray_thumb" in listing and chain in listing


def test_palette_choices_are_the_engines_registries():
    """Crop modes, gravities, effects and formats come from the engine: an effect it
    registers is offered, and every overlay gravity offered is one a layer accepts."""
    effects = palette.KINDS["effect"].fields[0].choices
    assert set(effects) == {key for key, entry in registry.load().items() if key == entry.name} - set(PRODUCERS)
    resize = {f.name: f.choices for f in palette.KINDS["resize"].fields}
    assert resize["c"] == params.CROP_MODES and resize["g"] == params.GRAVITIES
    overlay = {f.name: f.choices for f in palette.KINDS["overlay"].fields}
    for gravity in overlay["g"]:
        plan.validate(f"l_logo/fl_layer_apply,g_{gravity}")
    assert {f.name: f.choices for f in palette.KINDS["format"].fields}["f"] == ("auto", *ENCODERS)
    for name in effects:
        chain = f"e_{name}:red" if name == "replace_color" else f"e_{name}"  # the one with a required argument
        plan.validate(chain)
        assert [s.kind for s in palette.parse(chain)] == ["effect"]
