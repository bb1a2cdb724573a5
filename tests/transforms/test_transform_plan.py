"""Transformation text -> canonical plan, and -> the error it is rejected with.

Value tables, no pixels: the parser (text only) and the plan (typed, validated).
"""

from __future__ import annotations

import cloudinary.utils
import pytest

from core.errors import BadRequest
from transforms import plan as engine
from transforms.cloudinary import build as grammar
from transforms.cloudinary import entry, parser
from transforms.plan import Action
from transforms.values import Gravity, Length

pytestmark = pytest.mark.django_db  # named transformations are looked up in the database


def build(text: str, ext: str | None = None) -> engine.Plan:
    return grammar.build(parser.split_transformation(text), extension=ext)


# --- the parser: split and join are inverse, the order inside a component is fixed -----------

CANONICAL = [
    ("w_400,c_fill,h_300", "c_fill,h_300,w_400"),
    ("g_auto,c_fill,w_400/r_max/f_auto", "c_fill,g_auto,w_400/r_max/f_auto"),
    ("w_$w,$w_100,if_w_gt_10", "if_w_gt_10,$w_100,w_$w"),
    ("$b_2,$a_$b", "$b_2,$a_$b"),  # variables keep their order: later ones may use earlier ones
    ("l_text:Arial_20:a_b,co_red", "co_red,l_text:Arial_20:a_b"),
    ("e_blur:300", "e_blur:300"),
]


@pytest.mark.parametrize("text,expected", CANONICAL)
def test_canonical_text(text, expected):
    assert parser.canonical(text) == expected
    assert parser.canonical(expected) == expected


@pytest.mark.parametrize("text,_", CANONICAL)
def test_split_and_join_are_inverse(text, _):
    for component in parser.split_transformation(text):
        params = parser.split_component(component)
        assert parser.split_component(parser.join_component(params)) == tuple(
            sorted(params, key=lambda kv: (kv[0] != "if", not kv[0].startswith("$"),
                                           kv[0] if not kv[0].startswith("$") else "")))


SDK_OPTIONS = [
    {"width": 400, "height": 300, "crop": "fill", "gravity": "auto"},
    {"transformation": [{"width": 200, "crop": "scale"}, {"radius": "max"}, {"effect": "sepia"}]},
    {"angle": [90, "hflip"], "border": "4px_solid_red", "background": "#0000ff"},
    {"if": "w > 100", "width": 50, "crop": "scale"},
    {"variables": [["$small", "50"]], "width": "$small"},
    {"overlay": "logo", "width": 0.5, "flags": "relative", "gravity": "south_east", "x": 10, "y": 10},
    {"fetch_format": "auto", "quality": "auto:eco", "flags": ["progressive", "strip_profile"]},
    {"opacity": 50, "dpr": 2.0, "width": 100},
]


@pytest.mark.parametrize("options", SDK_OPTIONS)
def test_sdk_strings_parse_and_rebuild(options):
    """What the official SDK builds parses, validates and spells back unchanged but for order."""
    text, _ = cloudinary.utils.generate_transformation_string(**dict(options))
    assert parser.canonical(parser.canonical(text)) == parser.canonical(text)
    built = build(text)
    assert built.transformation == parser.canonical(text)
    assert build(built.transformation).key == built.key


# --- the plan: meaning, not spelling, makes the key -----------------------------------------

SAME = [
    ("w_400,c_fill,h_300", "c_fill,h_300,w_400"),
    ("e_blur", "e_blur:100"),
    ("b_red", "b_rgb:ff0000"),
    ("bo_2px_solid_red", "bo_2px_solid_rgb:f00"),
    ("r_10", "r_10:10:10:10"),
    ("r_10:20", "r_10:20:10:20"),
    ("ar_16:9,c_fill,w_160", "ar_1.777778,c_fill,w_160"),
    ("f_jpeg", "f_jpg"),
    ("fl_progressive.strip_profile", "fl_strip_profile.progressive"),
    ("q_auto", "q_auto:good"),
    ("w_0.50", "w_0.5"),
]
DIFFERENT = [
    ("w_1", "w_1.0"),  # pixels vs relative
    ("c_fill,w_10,h_10", "c_fit,w_10,h_10"),
    ("e_blur:100", "e_blur:200"),
    ("w_10/e_sepia", "e_sepia/w_10"),  # components run in order
    ("q_80", "q_auto"),
]


@pytest.mark.parametrize("a,b", SAME)
def test_equivalent_spellings_share_a_key(a, b):
    assert build(a).key == build(b).key


@pytest.mark.parametrize("a,b", DIFFERENT)
def test_different_meanings_have_different_keys(a, b):
    assert build(a).key != build(b).key


def test_typed_steps():
    p = build("c_fill,g_north,w_400,h_0.5/f_webp,q_80")
    assert p.steps == (Action(crop="fill", gravity=Gravity("north"), width=Length(400), height=Length(0.5, True)),)
    assert (p.format, p.quality, p.explicit_format) == ("webp", 80, True)
    assert build("w_10", ext="JPEG").format == "jpg"
    assert build("f_png", ext="jpg").format == "png"  # f_ wins over the extension


def test_structure_of_conditions_and_layers():
    p = build("if_w_gt_100/w_50/if_else/w_10/if_end/e_sepia")
    block, sepia = p.steps
    assert isinstance(block, engine.Block) and len(block.then) == 1 and len(block.otherwise) == 1
    assert sepia.effect.name == "sepia"
    p = build("l_logo,w_20/e_negate/fl_layer_apply,g_south_east,x_5/r_max")
    layer, rounded = p.steps
    assert isinstance(layer, engine.LayerStep)
    assert layer.own.width == Length(20) and len(layer.steps) == 1
    assert (layer.gravity, layer.x) == (Gravity("south_east"), Length(5))
    assert rounded.radius.token == "max"


def test_resolution_for_an_asset():
    class Asset:
        format = "png"

    assert build("").for_asset(Asset()).passthrough
    assert build("", ext="png").for_asset(Asset()).passthrough
    assert not build("w_10").for_asset(Asset()).passthrough
    auto = build("f_auto")
    assert auto.for_asset(Asset(), accept="image/avif,image/webp,*/*").format == "avif"
    assert auto.for_asset(Asset(), accept="image/webp,*/*").format == "webp"
    legacy = auto.for_asset(Asset(), accept="*/*")
    assert (legacy.format, legacy.alpha_format, legacy.vary) == ("jpg", "png", ("Accept",))
    q = build("q_auto")
    assert q.for_asset(Asset(), save_data=True).quality == "auto:eco"
    assert q.for_asset(Asset()).quality == "auto:good"
    assert "Save-Data" in q.for_asset(Asset()).vary
    assert build("fl_lossy", ext="png").for_asset(Asset()).format == "jpg"
    assert build("fl_attachment:pic").for_asset(Asset()).attachment == "pic"

    class Heic:
        format = "heic"

    assert build("").for_asset(Heic()).passthrough  # served as stored
    rendered = build("w_10").for_asset(Heic())  # transformed: in a format we can write
    assert (rendered.format, rendered.alpha_format) == ("jpg", "png")
    with pytest.raises(BadRequest, match="Unsupported format: heic"):
        build("w_10", ext="heic").for_asset(Heic())


# --- errors: every unknown or bad option is a 400 naming it ---------------------------------

ERRORS = [
    ("zz_1", "Invalid transformation parameter: zz"),
    ("w", "Invalid transformation parameter: 'w'"),
    ("w_", "Missing value for transformation parameter: w"),
    ("d_default", "Unsupported transformation parameter: d"),
    ("w_10,w_20", "Transformation parameter w given twice"),
    ("w_abc", "Invalid value for w: 'abc'"),
    ("w_-5", "Invalid value for w: '-5'"),
    ("w_0", "Invalid value for w: '0'"),
    ("w_auto", "Unsupported value for w: auto"),
    ("h_1,w_1,ar_1", "ar cannot be combined with both w and h"),
    ("ar_0:9,w_1", "Invalid value for ar"),
    ("c_stretch,w_1", "Invalid value for c: 'stretch'"),
    ("c_fill", "c_fill needs w, h or ar"),
    ("g_north,w_10", "g_north needs a crop mode"),
    ("g_west,c_scale,w_10", "g_west needs a crop mode"),
    ("g_xy_center,c_fill,w_1,h_1", "g_xy_center is only valid with c_crop"),
    ("g_auto,c_pad,w_1,h_1", "g_auto is not valid with c_pad"),
    ("g_auto:ocr_text,c_fill,w_1,h_1", "Unsupported gravity: auto:ocr_text"),
    ("g_middle,c_fill,w_1,h_1", "Invalid gravity: middle"),
    ("c_fill_pad,w_10,h_10", "c_fill_pad needs g_auto"),
    ("x_10,w_10", "x_ needs c_crop"),
    ("z_2,c_fill,w_1,h_1", "z_ needs c_crop, c_thumb or c_auto"),
    ("co_red", "co_ is not used by anything"),
    ("dpr_9", "Invalid value for dpr: '9'"),
    ("dpr_auto", "Unsupported value for dpr: auto"),
    ("e_nosuch", "Invalid effect: nosuch"),
    ("r_1:2:3:4:5", "Invalid value for r"),
    ("r_big", "Invalid value for r: 'big'"),
    ("a_sideways", "Invalid value for a: 'sideways'"),
    ("a_auto_right", "a_auto_right needs w and h"),
    ("bo_4px_dotted_red", "Invalid value for bo"),
    ("bo_4px_solid_notacolour", "Invalid color for bo"),
    ("b_notacolour", "Invalid color for b"),
    ("b_gen_fill", "b_gen_fill needs a padding crop mode"),
    ("b_gen_filler", "Unsupported value for b: gen_filler"),
    ("o_150", "Invalid value for o: '150'"),
    ("f_pdf", "Unsupported format: pdf"),
    ("q_0", "Invalid value for q: '0'"),
    ("q_auto:great", "Invalid value for q: 'great'"),
    ("fl_bogus", "Invalid flag: 'bogus'"),
    ("fl_png8:x", "png8 takes no value"),
    ("fl_relative", "Flag relative is only valid with a layer"),
    ("if_w_gt_1", "if_ without if_end"),
    ("if_end", "if_end without a matching if_"),
    ("if_w_gt_1/if_else/if_else/if_end", "if_else given twice"),
    ("if_w_gt_1/f_png/if_end", "f_ cannot be used inside a condition or a layer"),
    ("if_w_bigger_1,w_10", "Invalid condition"),
    ("l_logo,q_80", "q_ cannot be used inside a layer"),
    ("l_logo/fl_layer_apply,w_10", "Parameter w is not valid next to fl_layer_apply"),
    ("l_logo,g_unicorn", "Invalid gravity: unicorn"),
    ("l_fetch:aHR0cA==", "Remote (fetch) layers are not supported"),
    ("t_nosuch", "Unknown named transformation: nosuch"),
]


@pytest.mark.parametrize("text,message", ERRORS)
def test_errors(text, message):
    with pytest.raises(BadRequest) as raised:
        entry.from_text(text)
    assert message in raised.value.message


def test_validate_is_what_named_definitions_use():
    grammar.validate("c_fill,w_10,h_10/e_sepia")
    with pytest.raises(BadRequest):
        grammar.validate("c_fill")


def test_too_many_components():
    with pytest.raises(BadRequest, match="Too many transformation components"):
        build("/".join(["e_sepia"] * 101))
