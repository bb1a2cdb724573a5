"""Layers (transforms/ops/layers.py, transforms/text.py): parsing sources, rendering text,
loading image layers, placing layers.  Small generated images, pixel properties only."""

from __future__ import annotations

from types import SimpleNamespace
from urllib.parse import unquote, urlsplit

import cloudinary
import numpy as np
import pytest
import pyvips

from core.errors import ApiError, BadRequest
from tests.conftest import make_image
from transforms import text as textlayer
from transforms.ops import layers
from transforms.ops.layers import ImageSource, Placement, TextSource, parse_source

Style = textlayer.TextStyle


# --- parsing ------------------------------------------------------------------------

PARSE = [
    ("l", "logo", ImageSource("logo")),
    ("l", "shoes:red", ImageSource("shoes/red")),
    ("u", "a:b:c", ImageSource("a/b/c")),
    ("l", "logo.png", ImageSource("logo.png")),
    ("l", "private:logo", ImageSource("logo", "private")),
    ("u", "authenticated:brand:logo", ImageSource("brand/logo", "authenticated")),
    ("l", "text:Arial_20:Hello", TextSource(Style("Arial", 20), "Hello")),
    ("l", "text:Arial_20_normal:Hello", TextSource(Style("Arial", 20), "Hello")),
    ("l", "text:Arial_20_bold_italic:Hi", TextSource(Style("Arial", 20, weight="bold", style="italic"), "Hi")),
    ("l", "text:Arial_20_italic_bold:Hi", TextSource(Style("Arial", 20, weight="bold", style="italic"), "Hi")),
    ("l", "text:Verdana_50_bold_underline_letter_spacing_14:Style",
     TextSource(Style("Verdana", 50, weight="bold", decoration="underline", letter_spacing=14), "Style")),
    ("l", "text:Arial_18_antialias_best_hinting_medium:Hello World%2C Nice to meet you?",
     TextSource(Style("Arial", 18, antialias="best", hinting="medium"), "Hello World, Nice to meet you?")),
    ("l", "text:arial_20_antialiasing_none:x", TextSource(Style("arial", 20, antialias="none"), "x")),
    ("l", "text:Arial_20:a%2Cb%2Fc%25d", TextSource(Style("Arial", 20), "a,b/c%d")),
    ("l", "text:Arial_20:100% sure", TextSource(Style("Arial", 20), "100% sure")),
    ("l", "text:Arial_20:Hi: there:you", TextSource(Style("Arial", 20), "Hi: there:you")),
    ("l", "text:Arial_20:line1\nline2", TextSource(Style("Arial", 20), "line1\nline2")),
    ("l", "text:Arial_20:line1%0Aline2", TextSource(Style("Arial", 20), "line1\nline2")),
    ("l", "text:Arial_20:caf%C3%A9 é", TextSource(Style("Arial", 20), "café é")),
    ("l", "text:Roboto Condensed_12.5_line_spacing_-5_center_stroke_strikethrough_underline:x",
     TextSource(Style("Roboto Condensed", 12.5, decoration="underline+strikethrough", align="center",
                      stroke=True, line_spacing=-5), "x")),
    ("u", "text:DejaVu Sans_30_light_right_letter_spacing_1.5:<b>&",
     TextSource(Style("DejaVu Sans", 30, weight="light", align="right", letter_spacing=1.5), "<b>&")),
]


@pytest.mark.parametrize("kind,value,expected", PARSE)
def test_parse_source(kind, value, expected):
    source = parse_source(kind, value)
    assert source == expected
    assert hash(source) == hash(expected)
    assert parse_source(kind, source.token) == source  # token is the canonical, re-parsable form


def test_equivalent_spellings_share_a_token():
    a = parse_source("l", "text:Arial_20_italic_bold_normal:Hi")
    b = parse_source("l", "text:Arial_20_bold_italic:Hi")
    assert a.token == b.token == "text:Arial_20_bold_italic:Hi"
    assert parse_source("l", "shoes:red").token == "shoes:red"
    assert parse_source("l", "private:shoes:red").token == "private:shoes:red"


INVALID = [
    ("l", "", "empty"),
    ("x", "logo", "Invalid layer"),
    ("l", "a::b", "public_id"),
    ("l", "fetch:aHR0cHM6Ly9leGFtcGxlLmNvbS9hLnBuZw==", "fetch"),
    ("l", "video:dog", "Video"),
    ("l", "text:Arial_20", "expected l_text"),
    ("l", "text:Arial_20:", "non-empty text"),
    ("l", "text:Arial_20:   ", "non-empty text"),
    ("l", "text:Arial:Hi", "font size"),
    ("l", "text:Arial_:Hi", "font size"),
    ("l", "text:Arial_big:Hi", "font size"),
    ("l", "text:Arial_0:Hi", "font size"),
    ("l", "text:Arial_-3:Hi", "font size"),
    ("l", "text:Arial_5000:Hi", "too large"),
    ("l", "text:_20:Hi", "font family"),
    ("l", "text:Ar<i>al_20:Hi", "font family"),
    ("l", "text:Arial_20_wobbly:Hi", "wobbly"),
    ("l", "text:Arial_20_letter_spacing:Hi", "letter_spacing"),
    ("l", "text:Arial_20_line_spacing_x:Hi", "line_spacing"),
    ("l", "text:Arial_20_bold_light:Hi", "Conflicting"),
    ("l", "text:Arial_20_left_right:Hi", "Conflicting"),
    ("l", "text:Arial_20_antialias_wat:Hi", "antialias"),
    ("l", "text:Arial_20_hinting:Hi", "hinting"),
    ("l", "text:Arial_20:%FF%FE", "UTF-8"),
    ("l", "text:Arial_20:" + "x" * 3000, "too long"),
]


@pytest.mark.parametrize("kind,value,message", INVALID)
def test_parse_source_rejects(kind, value, message):
    with pytest.raises(BadRequest) as info:
        parse_source(kind, value)
    assert info.value.status == 400
    assert message.lower() in info.value.message.lower()


def _sdk_layer_value(options: dict, key: str = "l") -> str:
    """The l_/u_ value of an SDK-built URL as our view receives it (path decoded once)."""
    cloudinary.config(cloud_name="demo", api_key="k", api_secret="s")
    url = cloudinary.CloudinaryImage("base").build_url(transformation=[options])
    path = unquote(urlsplit(url.replace(" ", "%20")).path)
    for component in path.split("/"):
        for token in component.split(","):
            if token.startswith(key + "_"):
                return token[len(key) + 1:]
    raise AssertionError(url)


SDK = [
    ({"overlay": {"public_id": "shoes/red"}}, "l", ImageSource("shoes/red")),
    ({"underlay": {"public_id": "bg", "type": "private"}}, "u", ImageSource("bg", "private")),
    ({"overlay": {"public_id": "logo", "format": "png"}}, "l", ImageSource("logo.png")),
    ({"overlay": {"text": "Hello, World/100% ok: yes\nline 2", "font_family": "Times New Roman", "font_size": 20,
                  "font_weight": "bold", "letter_spacing": 4, "line_spacing": -3}}, "l",
     TextSource(Style("Times New Roman", 20, weight="bold", letter_spacing=4, line_spacing=-3),
                "Hello, World/100% ok: yes\nline 2")),
    ({"overlay": {"text": "Hi", "font_family": "Arial", "font_size": 18, "font_style": "italic",
                  "text_decoration": "underline", "text_align": "center", "stroke": "stroke",
                  "font_antialiasing": "best", "font_hinting": "full"}}, "l",
     TextSource(Style("Arial", 18, style="italic", decoration="underline", align="center", stroke=True,
                      antialias="best", hinting="full"), "Hi")),
    ({"overlay": "text:Arial_20:Hi there"}, "l", TextSource(Style("Arial", 20), "Hi there")),
]


@pytest.mark.parametrize("options,key,expected", SDK)
def test_sdk_built_layers_parse(options, key, expected):
    assert parse_source(key, _sdk_layer_value(options, key)) == expected


# --- text rendering -----------------------------------------------------------------


def text_image(value: str, **component) -> np.ndarray:
    image = layers.load_source(parse_source("l", value), component, SimpleNamespace(variables={}))
    assert image.bands == 4 and image.format == "uchar" and image.interpretation == "srgb"
    return image.numpy()


def test_text_has_ink_where_text_is_and_default_black():
    pixels = text_image("text:DejaVu Sans_24:Hello")
    alpha = pixels[:, :, 3]
    assert alpha.max() == 255 and 0.05 < (alpha > 128).mean() < 0.8
    assert (alpha == 0).any()
    inked = pixels[alpha > 200][:, :3]
    assert inked.max() < 10  # black


@pytest.mark.parametrize("co,rgb", [("red", (255, 0, 0)), ("rgb:00ff00", (0, 255, 0)), ("#1e90ff", (30, 144, 255))])
def test_text_colour_follows_co(co, rgb):
    pixels = text_image("text:DejaVu Sans_24_bold:Hello", co=co)
    inked = pixels[pixels[:, :, 3] > 200][:, :3].astype(float)
    assert np.abs(inked.mean(axis=0) - np.array(rgb)).max() < 3


def test_text_colour_alpha_scales_coverage():
    pixels = text_image("text:DejaVu Sans_24_bold:Hello", co="rgb:ff000080")
    assert 120 <= pixels[:, :, 3].max() <= 130


def test_text_background_fills_box():
    pixels = text_image("text:DejaVu Sans_24:Hello", co="white", b="blue")
    assert tuple(pixels[0, 0]) == (0, 0, 255, 255)
    assert (pixels[:, :, 3] == 255).all()
    assert (pixels[:, :, 0] > 200).any()  # white ink


def size_of(value: str, **component) -> tuple[int, int]:
    image = layers.load_source(parse_source("l", value), component)
    return image.width, image.height


GROWS = [
    # (smaller, bigger, which dimensions grow)
    ("text:DejaVu Sans_12:Hello", "text:DejaVu Sans_36:Hello", "wh"),
    ("text:DejaVu Sans_20:Hello", "text:DejaVu Sans_20_bold:Hello", "w"),
    ("text:DejaVu Sans_20:Hello", "text:DejaVu Sans_20_letter_spacing_10:Hello", "w"),
    ("text:DejaVu Sans_20:a%0Ab", "text:DejaVu Sans_20_line_spacing_20:a%0Ab", "h"),
    ("text:DejaVu Sans_20_line_spacing_-5:a%0Ab", "text:DejaVu Sans_20:a%0Ab", "h"),
    ("text:DejaVu Sans_20:Hello", "text:DejaVu Sans_20:Hello%0AWorld", "h"),
]


@pytest.mark.parametrize("small,big,dims", GROWS)
def test_text_box_grows(small, big, dims):
    (w1, h1), (w2, h2) = size_of(small), size_of(big)
    if "w" in dims:
        assert w2 > w1
    if "h" in dims:
        assert h2 > h1


def test_line_spacing_adds_pixels_between_lines():
    (_, h0), (_, h20) = size_of("text:DejaVu Sans_20:a%0Ab"), size_of("text:DejaVu Sans_20_line_spacing_20:a%0Ab")
    assert abs((h20 - h0) - 20) <= 2
    (_, one), (_, two) = size_of("text:DejaVu Sans_20_line_spacing_20:a"), size_of("text:DejaVu Sans_20:a")
    assert one == two  # a single line has no spacing to add


def test_c_fit_width_wraps_text():
    value = "text:DejaVu Sans_20:The quick brown fox jumps over the lazy dog"
    w1, h1 = size_of(value)
    w2, h2 = size_of(value, c="fit", w="120")
    assert w1 > 120 >= w2 and h2 > 2 * h1
    assert layers.consumed(parse_source("l", value), {"c": "fit", "w": "120", "co": "red"}) == {"c", "w", "co"}
    assert layers.consumed(parse_source("l", value), {"c": "scale", "w": "120"}) == frozenset()
    with pytest.raises(BadRequest):
        size_of(value, c="fit", w="0.5")
    pairs = (("l", "text:..."), ("c", "fit"), ("w", "120"))  # the engine's (key, value) pairs
    assert layers.load_source(parse_source("l", value), pairs).width == w2


def test_unknown_family_falls_back_to_sans():
    assert size_of("text:NoSuchFontAnywhere_20:Hello") == size_of("text:sans_20:Hello")
    assert size_of("text:Arial_20:Hello")[0] > 0


def test_markup_is_escaped():
    w, h = size_of("text:DejaVu Sans_20:<b>x</b> %26 &amp; '\"")
    assert w > 100 and h > 0


def test_antialias_none_gives_hard_edges():
    alpha = text_image("text:DejaVu Sans_20_antialias_none:Hello")[:, :, 3]
    assert set(np.unique(alpha)) <= {0, 255}
    soft = text_image("text:DejaVu Sans_20:Hello")[:, :, 3]
    assert len(np.unique(soft)) > 2


def test_stroke_outlines_text_with_border_colour():
    plain = text_image("text:DejaVu Sans_30_bold:Hi", co="white")
    stroked = text_image("text:DejaVu Sans_30_bold_stroke:Hi", co="white", bo="3px_solid_red")
    assert stroked.shape[1] == plain.shape[1] + 6 and stroked.shape[0] == plain.shape[0] + 6
    opaque = stroked[stroked[:, :, 3] > 250][:, :3]
    assert ((opaque[:, 0] > 200) & (opaque[:, 1] < 60)).any()  # red outline
    assert ((opaque[:, 0] > 200) & (opaque[:, 1] > 200)).any()  # white ink
    with pytest.raises(BadRequest):
        text_image("text:DejaVu Sans_30_stroke:Hi", bo="thick")


def test_alignment_and_variables():
    left = text_image("text:DejaVu Sans_20:Hello%0Aa")
    right = text_image("text:DejaVu Sans_20_right:Hello%0Aa")
    second_left, second_right = left[-8:, :, 3], right[-8:, :, 3]
    assert np.argwhere(second_left > 128)[:, 1].mean() < np.argwhere(second_right > 128)[:, 1].mean()
    image = layers.load_source(parse_source("l", "text:DejaVu Sans_20:$(name)!"), {},
                               SimpleNamespace(variables={"name": "Wonderful"}))
    assert image.width > size_of("text:DejaVu Sans_20:$(x)!")[0]


def test_bad_colour_is_400():
    with pytest.raises(BadRequest):
        text_image("text:DejaVu Sans_20:Hi", co="notacolour")


# --- placing ------------------------------------------------------------------------


def solid(w: int, h: int, rgba=(255, 0, 0, 255)) -> pyvips.Image:
    return (pyvips.Image.black(w, h, bands=4) + list(rgba)).cast("uchar").copy(interpretation="srgb")


def grey_base(w=100, h=80, bands=3) -> pyvips.Image:
    return (pyvips.Image.black(w, h, bands=bands) + [60] * bands).cast("uchar").copy(
        interpretation="srgb" if bands >= 3 else "b-w")


def red_box(pixels: np.ndarray) -> tuple[int, int, int, int]:
    red = (pixels[:, :, 0] > 200) & (pixels[:, :, 1] < 50)
    ys, xs = np.nonzero(red)
    return int(xs.min()), int(ys.min()), int(xs.max() - xs.min() + 1), int(ys.max() - ys.min() + 1)


GRAVITY = [  # base 100x80, layer 20x10, x=5, y=3 -> top-left of the layer
    ("north_west", (5, 3)), ("north", (45, 3)), ("north_east", (75, 3)),
    ("west", (5, 38)), ("center", (45, 38)), ("east", (75, 38)),
    ("south_west", (5, 67)), ("south", (45, 67)), ("south_east", (75, 67)),
]


@pytest.mark.parametrize("gravity,corner", GRAVITY)
def test_gravity_and_offsets(gravity, corner):
    result = layers.place(grey_base(), solid(20, 10), Placement(gravity, 5, 3))
    assert (result.width, result.height, result.bands) == (100, 80, 3)
    assert red_box(result.numpy()) == (*corner, 20, 10)


@pytest.mark.parametrize("gravity,x,y,corner", [
    ("center", 0, 0, (40, 35)), ("center", -10, -5, (30, 30)), ("north", 0, 0, (40, 0)),
    ("xy_center", 50, 40, (40, 35)), ("xy_center", 10, 5, (0, 0)), ("south_east", 0, 0, (80, 70)),
])
def test_more_positions(gravity, x, y, corner):
    result = layers.place(grey_base(), solid(20, 10), Placement(gravity, x, y, no_overflow=True))
    assert red_box(result.numpy())[:2] == corner


def test_bad_gravity_is_400():
    with pytest.raises(BadRequest):
        layers.place(grey_base(), solid(20, 10), Placement("auto"))


@pytest.mark.parametrize("placement,size,layer_at,base_at", [
    (Placement("north_west", -10, -5), (110, 85), (0, 0), (10, 5)),
    (Placement("east", -15, 0), (115, 80), (95, 35), (0, 0)),
    (Placement("south", 0, -6), (100, 86), (40, 76), (0, 0)),
    (Placement("center"), (100, 80), (40, 35), (0, 0)),
])
def test_overflow_extends_canvas(placement, size, layer_at, base_at):
    result = layers.place(grey_base(), solid(20, 10), placement)
    pixels = result.numpy()
    assert (result.width, result.height) == size
    assert red_box(pixels)[:2] == layer_at
    bx, by = base_at
    assert tuple(pixels[by + 75, bx + 95][:3]) == (60, 60, 60)  # a corner of the base no layer covers
    if size != (100, 80):
        assert result.bands == 4
        assert (pixels[:, :, 3] == 0).any()  # the extension that neither covers is transparent
    else:
        assert result.bands == 3


def test_no_overflow_clips_at_the_base():
    result = layers.place(grey_base(), solid(20, 10), Placement("north_west", -10, -5, no_overflow=True))
    assert (result.width, result.height, result.bands) == (100, 80, 3)
    assert red_box(result.numpy()) == (0, 0, 10, 5)
    result = layers.place(grey_base(), solid(300, 300), Placement("center", no_overflow=True))
    assert (result.width, result.height) == (100, 80) and (result.numpy()[:, :, 0] == 255).all()


def test_tiled_repeats_across_the_base():
    half = solid(10, 10).numpy().copy()
    half[:, 5:, 3] = 0  # left half red, right half transparent
    tile = pyvips.Image.new_from_array(half, interpretation="srgb")
    result = layers.place(grey_base(), tile, Placement("north_west", tiled=True))
    pixels = result.numpy()
    assert (result.width, result.height, result.bands) == (100, 80, 3)
    red = (pixels[:, :, 0] == 255) & (pixels[:, :, 1] == 0)
    assert red.mean() == pytest.approx(0.5)
    assert red[:, 0:5].all() and not red[:, 5:10].any() and red[:, 90:95].all() and not red[:, 95:].any()
    shifted = layers.place(grey_base(), tile, Placement("north_west", 3, 0, tiled=True)).numpy()
    assert ((shifted[:, :, 0] == 255) & (shifted[:, :, 1] == 0))[:, 3:8].all()


def test_underlay_goes_below_the_base():
    base = solid(100, 80, (60, 60, 60, 255)).numpy().copy()
    base[30:50, 40:60, 3] = 0  # a transparent hole
    base_image = pyvips.Image.new_from_array(base, interpretation="srgb")
    result = layers.place(base_image, solid(100, 80, (0, 0, 255, 255)), Placement(), underlay=True)
    pixels = result.numpy()
    assert result.bands == 4
    assert tuple(pixels[40, 50]) == (0, 0, 255, 255)  # seen through the hole
    assert tuple(pixels[5, 5]) == (60, 60, 60, 255)  # the base stays on top
    opaque = layers.place(grey_base(), solid(20, 10), Placement(), underlay=True)
    assert opaque.bands == 3 and (opaque.numpy() == 60).all()
    bigger = layers.place(grey_base(), solid(120, 100, (0, 0, 255, 255)), Placement(), underlay=True)
    assert (bigger.width, bigger.height) == (120, 100)
    assert tuple(bigger.numpy()[2, 2]) == (0, 0, 255, 255) and tuple(bigger.numpy()[50, 60]) == (60, 60, 60, 255)


def test_layer_alpha_and_opacity_blend():
    result = layers.place(grey_base(), solid(20, 10, (255, 0, 0, 128)), Placement()).numpy()
    assert abs(int(result[40, 50, 0]) - (255 + 60) // 2) <= 2
    result = layers.place(grey_base(), solid(20, 10), Placement(opacity=50)).numpy()
    assert abs(int(result[40, 50, 0]) - (255 + 60) // 2) <= 2 and abs(int(result[40, 50, 1]) - 30) <= 2


@pytest.mark.parametrize("bands,expected", [(3, 3), (4, 4), (1, 3), (2, 4)])
def test_band_count_kept(bands, expected):
    assert layers.place(grey_base(bands=bands), solid(20, 10), Placement()).bands == expected


def test_text_placed_on_base():
    text = layers.load_source(parse_source("l", "text:DejaVu Sans_20_bold:Hello"), {"co": "red"})
    result = layers.place(grey_base(200, 100), text, Placement("north", 0, 4)).numpy()
    x, y, w, h = red_box(result)
    assert abs((x + w / 2) - 100) <= 3 and 4 <= y <= 8 and w > 40


# --- image layers from the database ---------------------------------------------------


@pytest.mark.django_db
def test_image_layer_loads_named_asset(upload):
    assert upload(make_image(30, 20, "png"), name="logo.png", public_id="brand/logo").status_code == 200
    source = parse_source("l", "brand:logo")
    image = layers.load_source(source, {}, SimpleNamespace())
    assert (image.width, image.height, image.bands) == (30, 20, 4)
    assert layers.dependency(source)
    assert layers.load_source(parse_source("l", "brand:logo.png"), {}).width == 30  # format suffix
    with pytest.raises(BadRequest) as info:
        layers.load_source(parse_source("l", "brand:nope"), {})
    assert info.value.message == "Overlay not found: brand/nope"


@pytest.mark.django_db
def test_private_layer_needs_a_signed_url(upload):
    assert upload(make_image(30, 20, "png"), name="p.png", public_id="secret", type="private").status_code == 200
    source = parse_source("l", "private:secret")
    with pytest.raises(ApiError) as info:
        layers.load_source(source, {}, SimpleNamespace(signed=False))
    assert info.value.status == 401
    assert layers.load_source(source, {}, SimpleNamespace(signed=True)).width == 30
