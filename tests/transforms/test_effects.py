"""Effects through the registry, on small generated images (no server).

Tables: valid arguments -> normalised value, equivalent spellings -> equal values,
invalid arguments -> BadRequest naming the effect; then pixel properties per effect.
"""

from __future__ import annotations

import numpy as np
import pytest
import pyvips

from core.errors import BadRequest
from tests.images import grey, ssim
from transforms.ops import registry

EFFECTS = registry.load()
CTX = registry.RenderContext()
BLACK, WHITE, GRAY, RED = (0, 0, 0, 255), (255, 255, 255, 255), (128, 128, 128, 255), (255, 0, 0, 255)


# --- images ---------------------------------------------------------------------------


def vips(array: np.ndarray) -> pyvips.Image:
    return pyvips.Image.new_from_array(np.ascontiguousarray(np.clip(np.round(array), 0, 255).astype(np.uint8)), interpretation="srgb")


def pixels(image: pyvips.Image) -> np.ndarray:
    return np.asarray(image.numpy()).reshape(image.height, image.width, image.bands).astype(float)


def textured(width=120, height=90, seed=0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    base = np.linspace(40, 215, width)[None, :, None].repeat(height, 0).repeat(3, 2)
    return np.clip(base + rng.normal(0, 25, (height, width, 3)), 0, 255)


def flat(colour, width=60, height=40) -> np.ndarray:
    return np.tile(np.array(colour[:3], dtype=float), (height, width, 1))


def shape_rgba(width=80, height=60, box=(20, 15, 40, 30), colour=(200, 40, 40)) -> np.ndarray:
    """A transparent canvas with an opaque rectangle at box = (left, top, w, h)."""
    out = np.zeros((height, width, 4))
    left, top, w, h = box
    out[top:top + h, left:left + w] = [*colour, 255]
    return out


def run(name, image, *args, **qualifiers):
    entry = EFFECTS[name]
    value = entry.parse(tuple(str(a) for a in args), {k: str(v) for k, v in qualifiers.items()})
    return entry.apply(vips(image) if isinstance(image, np.ndarray) else image, value, CTX)


def high_frequency(array: np.ndarray) -> float:
    g = grey(array)
    return float(np.abs(np.diff(g, axis=0)).mean() + np.abs(np.diff(g, axis=1)).mean())


# --- parsing ---------------------------------------------------------------------------

PARSE = [
    # name, args, qualifiers, normalised value
    ("grayscale", (), {}, None),
    ("negate", (), {}, None),
    ("sepia", (), {}, 80),
    ("sepia", ("50",), {}, 50),
    ("blackwhite", (), {}, 50),
    ("blackwhite", ("0",), {}, 0),
    ("blur", (), {}, 100),
    ("blur", ("2000",), {}, 2000),
    ("pixelate", (), {}, 5),
    ("pixelate", ("200",), {}, 200),
    ("sharpen", (), {}, 100),
    ("unsharp_mask", ("1",), {}, 1),
    ("brightness", (), {}, 80),
    ("brightness", ("-99",), {}, -99),
    ("contrast", (), {}, 0),
    ("contrast", ("-100",), {}, -100),
    ("saturation", (), {}, 80),
    ("hue", ("-100",), {}, -100),
    ("gamma", (), {}, 0),
    ("gamma", ("150",), {}, 150),
    ("gamma", ("-50",), {}, -50),
    ("vibrance", (), {}, 20),
    ("red", (), {}, 0),
    ("green", ("-100",), {}, -100),
    ("blue", ("100",), {}, 100),
    ("auto_brightness", (), {}, 100),
    ("auto_contrast", ("30",), {}, 30),
    ("auto_color", ("0",), {}, 0),
    ("improve", (), {}, ("outdoor", 100)),
    ("improve", ("indoor",), {}, ("indoor", 100)),
    ("improve", ("indoor", "40"), {}, ("indoor", 40)),
    ("improve", ("40",), {}, ("outdoor", 40)),
    ("colorize", (), {}, (100, GRAY)),
    ("colorize", ("40",), {"co": "red"}, (40, RED)),
    ("tint", (), {}, (False, 60, ((RED, None),))),
    ("tint", ("100", "blue"), {}, (False, 100, (((0, 0, 255, 255), None),))),
    ("tint", ("equalize", "80", "red", "20p", "rgb", "0000ff", "80p"), {},
     (True, 80, ((RED, 20.0), ((0, 0, 255, 255), 80.0)))),
    ("tint", ("50", "red", "blue", "yellow"), {},
     (False, 50, ((RED, 0.0), ((0, 0, 255, 255), 50.0), ((255, 255, 0, 255), 100.0)))),
    ("vignette", (), {}, 20),
    ("oil_paint", (), {}, 30),
    ("cartoonify", (), {}, (50, None)),
    ("cartoonify", ("20", "bw"), {}, (20, "bw")),
    ("cartoonify", ("70", "30"), {}, (70, 30)),
    ("outline", (), {}, (None, 5, 0, BLACK)),
    ("outline", ("outer", "15", "200"), {"co": "red"}, ("outer", 15, 200, RED)),
    ("outline", ("inner_fill",), {}, ("inner_fill", 5, 0, BLACK)),
    ("outline", ("10",), {}, (None, 10, 0, BLACK)),
    ("shadow", (), {}, (40, GRAY, 8, 8)),
    ("shadow", ("60",), {"co": "rgb:000000", "x": "-5", "y": "12"}, (60, BLACK, -5, 12)),
    ("trim", (), {}, (10, None)),
    ("trim", ("30", "white"), {}, (30, WHITE)),
    ("trim", ("0", "rgb", "ff0000"), {}, (0, RED)),
    ("make_transparent", (), {}, (10, None)),
    ("make_transparent", ("40",), {"co": "white"}, (40, WHITE)),
    ("replace_color", ("blue",), {}, ((0, 0, 255, 255), 50, None)),
    ("replace_color", ("maroon", "80", "2b38aa"), {}, ((128, 0, 0, 255), 80, (0x2b, 0x38, 0xaa, 255))),
    ("replace_color", ("rgb", "00ff00", "30", "rgb", "ff0000"), {}, ((0, 255, 0, 255), 30, RED)),
    ("gradient_fade", (), {}, (20, None, "y", 0.5)),
    ("gradient_fade", ("symmetric", "50"), {"x": "0.3"}, (50, "symmetric", "x", 0.3)),
    ("gradient_fade", ("symmetric_pad",), {"y": "-40"}, (20, "symmetric_pad", "y", -40)),
    ("noise", (), {}, 0),
    ("noise", ("100",), {}, 100),
]


@pytest.mark.parametrize("name,args,qualifiers,expected", PARSE)
def test_parse(name, args, qualifiers, expected):
    value = EFFECTS[name].parse(args, qualifiers)
    assert value == expected
    hash(value)


EQUIVALENT = [
    (("blur", (), {}), ("blur", ("100",), {})),
    (("blur", ("0300",), {}), ("blur", ("300",), {})),
    (("sepia", (), {}), ("sepia", ("80",), {})),
    (("brightness", (), {}), ("brightness", ("+80",), {})),
    (("improve", (), {}), ("improve", ("outdoor", "100"), {})),
    (("colorize", (), {}), ("colorize", ("100",), {"co": "gray"})),
    (("colorize", (), {"co": "red"}), ("colorize", (), {"co": "rgb:ff0000"})),
    (("tint", (), {}), ("tint", ("60", "red"), {})),
    (("tint", ("80", "red", "blue"), {}), ("tint", ("80", "red", "0p", "blue", "100p"), {})),
    (("outline", (), {}), ("outline", ("5", "0"), {"co": "black"})),
    (("shadow", (), {}), ("shadow", ("40",), {"co": "gray", "x": "8", "y": "8"})),
    (("trim", (), {}), ("trim", ("10",), {})),
    (("replace_color", ("blue",), {}), ("replace_color", ("rgb", "0000ff", "50"), {})),
    (("gradient_fade", (), {}), ("gradient_fade", ("20",), {"y": "0.5"})),
    (("gradient_fade", ("symmetric", "30"), {}), ("gradient_fade", ("30", "symmetric"), {})),
    (("make_transparent", (), {"co": "white"}), ("make_transparent", ("10",), {"co": "#ffffff"})),
]


@pytest.mark.parametrize("first,second", EQUIVALENT)
def test_equivalent_spellings(first, second):
    (a, a_args, a_q), (b, b_args, b_q) = first, second
    assert EFFECTS[a].parse(a_args, a_q) == EFFECTS[b].parse(b_args, b_q)


INVALID = [
    ("grayscale", ("5",), {}),
    ("negate", ("x",), {}),
    ("sepia", ("0",), {}),
    ("sepia", ("101",), {}),
    ("blackwhite", ("-1",), {}),
    ("blur", ("0",), {}),
    ("blur", ("2001",), {}),
    ("blur", ("abc",), {}),
    ("blur", ("1.5",), {}),
    ("blur", ("100", "5"), {}),
    ("pixelate", ("201",), {}),
    ("sharpen", ("0",), {}),
    ("unsharp_mask", ("3000",), {}),
    ("brightness", ("-100",), {}),
    ("brightness", ("101",), {}),
    ("contrast", ("-101",), {}),
    ("saturation", ("200",), {}),
    ("hue", ("101",), {}),
    ("gamma", ("-51",), {}),
    ("gamma", ("151",), {}),
    ("vibrance", ("-101",), {}),
    ("red", ("101",), {}),
    ("auto_brightness", ("101",), {}),
    ("auto_color", ("-1",), {}),
    ("improve", ("sunny",), {}),
    ("improve", ("indoor", "101"), {}),
    ("improve", ("indoor", "50", "2"), {}),
    ("colorize", ("101",), {}),
    ("colorize", (), {"co": "notacolour"}),
    ("tint", ("101",), {}),
    ("tint", ("50", "nocolour"), {}),
    ("tint", ("50", "20p"), {}),
    ("tint", ("50", "red", "80p", "blue", "20p"), {}),
    ("vignette", ("101",), {}),
    ("oil_paint", ("-1",), {}),
    ("cartoonify", ("101",), {}),
    ("cartoonify", ("50", "color"), {}),
    ("outline", ("sideways",), {}),
    ("outline", ("outer", "0"), {}),
    ("outline", ("outer", "101"), {}),
    ("outline", ("outer", "5", "2001"), {}),
    ("outline", (), {"co": "nope"}),
    ("shadow", ("101",), {}),
    ("shadow", (), {"x": "abc"}),
    ("shadow", (), {"x": "2.5"}),
    ("trim", ("101",), {}),
    ("trim", ("10", "nocolour"), {}),
    ("trim", ("10", "red", "1"), {}),
    ("make_transparent", ("101",), {}),
    ("make_transparent", (), {"co": "bogus"}),
    ("replace_color", (), {}),
    ("replace_color", ("bogus",), {}),
    ("replace_color", ("blue", "101"), {}),
    ("replace_color", ("blue", "50", "bogus"), {}),
    ("gradient_fade", ("101",), {}),
    ("gradient_fade", ("diagonal",), {}),
    ("gradient_fade", (), {"x": "0.5", "y": "0.5"}),
    ("gradient_fade", (), {"y": "1.5"}),
    ("gradient_fade", (), {"y": "top"}),
    ("noise", ("101",), {}),
]


@pytest.mark.parametrize("name,args,qualifiers", INVALID)
def test_invalid_arguments(name, args, qualifiers):
    with pytest.raises(BadRequest) as err:
        EFFECTS[name].parse(args, qualifiers)
    assert f"e_{name}" in str(err.value)
    assert err.value.status == 400


def test_every_issue_effect_is_registered():
    wanted = {"grayscale", "sepia", "blackwhite", "negate", "blur", "pixelate", "sharpen", "unsharp_mask",
              "brightness", "contrast", "saturation", "hue", "gamma", "vibrance", "auto_brightness",
              "auto_contrast", "auto_color", "improve", "colorize", "tint", "red", "green", "blue", "vignette",
              "oil_paint", "cartoonify", "outline", "shadow", "trim", "make_transparent", "replace_color",
              "gradient_fade", "noise"}
    assert wanted <= set(EFFECTS)
    assert EFFECTS["shadow"].qualifiers == {"co", "x", "y"}
    assert EFFECTS["gradient_fade"].qualifiers == {"x", "y"}
    assert {"co"} <= EFFECTS["outline"].qualifiers


# --- every effect: output layout, alpha kept ---------------------------------------------

DEFAULT_ARGS = {"replace_color": ("blue",), "gen_remove": ("region_(x_0;y_0;w_1;h_1)",),
                "gen_recolor": ("prompt_cup;to-color_red",)}


@pytest.fixture
def prompt_backend(settings):
    """An edits endpoint configured (never called: a generative effect's pixels come from a stored result)."""
    settings.DAM_IMAGE_EDIT_URL = "http://127.0.0.1:9/v1/images/edits"
ALPHA_EFFECTS = {"make_transparent", "gradient_fade", "outline", "shadow", "trim", "dropshadow"}
NEEDS_TRANSPARENCY = {"dropshadow"}  # an opaque input is a 400 (tests/transforms/test_ai_effects_sync.py)


@pytest.mark.parametrize("name", sorted(EFFECTS))
def test_layout_and_alpha(name, prompt_backend):
    rgb = textured(60, 40)
    if name in NEEDS_TRANSPARENCY:
        with pytest.raises(BadRequest):
            run(name, rgb, *DEFAULT_ARGS.get(name, ()))
    else:
        out = run(name, rgb, *DEFAULT_ARGS.get(name, ()))
        assert (out.format, out.interpretation) == ("uchar", "srgb")
        assert out.bands == (4 if name in ALPHA_EFFECTS - {"trim"} else 3)

    alpha = np.full((40, 60, 1), 255.0)
    alpha[:, :20] = 90
    out = run(name, np.concatenate([rgb, alpha], axis=2), *DEFAULT_ARGS.get(name, ()))
    assert out.bands == 4 and out.format == "uchar"
    if name not in ALPHA_EFFECTS | {"blur", "pixelate"}:
        assert np.array_equal(pixels(out)[..., 3], alpha[..., 0]), "colour effects keep alpha as it was"


def test_grey_input_becomes_srgb():
    image = pyvips.Image.new_from_array(np.full((10, 10), 100, dtype=np.uint8), interpretation="b-w")
    out = EFFECTS["sepia"].apply(image, 80, CTX)
    assert (out.bands, out.interpretation) == (3, "srgb")


# --- pixel properties ------------------------------------------------------------------


@pytest.mark.parametrize("name,args", [
    ("brightness", ("0",)), ("contrast", ()), ("saturation", ("0",)), ("hue", ("0",)), ("gamma", ()),
    ("vibrance", ("0",)), ("red", ()), ("green", ()), ("blue", ()), ("noise", ()),
    ("auto_contrast", ("0",)), ("auto_color", ("0",)), ("auto_brightness", ("0",)), ("colorize", ("0",)),
    ("tint", ("0",)), ("pixelate", ("1",)), ("gradient_fade", ("0",)),
])
def test_neutral_levels_change_nothing(name, args):
    src = np.round(textured())
    out = pixels(run(name, src, *args))
    assert np.array_equal(out[..., :3], src)


def test_grayscale_equal_channels():
    out = pixels(run("grayscale", textured()))
    assert np.array_equal(out[..., 0], out[..., 1]) and np.array_equal(out[..., 1], out[..., 2])


def test_negate():
    src = textured()
    assert np.array_equal(pixels(run("negate", src)), 255 - np.round(src))


def test_sepia_on_grey_is_warm():
    r, g, b = pixels(run("sepia", flat((128, 128, 128))))[5, 5]
    assert r > g > b
    weak = pixels(run("sepia", flat((128, 128, 128)), 10))[5, 5]
    assert weak[0] - weak[2] < r - b


@pytest.mark.parametrize("threshold,expected", [(0, 255), (40, 255), (60, 0), (100, 0)])
def test_blackwhite_threshold(threshold, expected):
    out = pixels(run("blackwhite", flat((128, 128, 128)), threshold))
    assert set(np.unique(out)) == {expected}
    assert set(np.unique(pixels(run("blackwhite", textured())))) <= {0, 255}


@pytest.mark.parametrize("name,args,direction", [
    ("brightness", (), +1), ("brightness", ("-50",), -1), ("gamma", ("100",), +1), ("gamma", ("-50",), -1),
])
def test_mean_moves(name, args, direction):
    src = textured()
    assert np.sign(pixels(run(name, src, *args)).mean() - src.mean()) == direction


@pytest.mark.parametrize("level,direction", [(50, +1), (-50, -1), (-100, -1)])
def test_contrast_changes_spread(level, direction):
    src = textured()
    assert np.sign(pixels(run("contrast", src, level)).std() - src.std()) == direction
    if level == -100:
        assert pixels(run("contrast", src, level)).std() < 1


def _chroma(rgb):
    return rgb[..., :3].max(axis=-1) - rgb[..., :3].min(axis=-1)


@pytest.mark.parametrize("level,direction", [(80, +1), (-60, -1)])
def test_saturation(level, direction):
    src = flat((160, 110, 90))
    assert np.sign(_chroma(pixels(run("saturation", src, level))).mean() - _chroma(src).mean()) == direction
    assert _chroma(pixels(run("saturation", src, -100))).max() <= 2


def test_hue_rotates_red():
    r, g, b = pixels(run("hue", flat((220, 30, 30)), 66))[0, 0]
    assert g > r  # a third of the wheel turns red towards green


def test_vibrance_favours_muted_colours():
    muted, vivid = flat((150, 120, 110)), flat((230, 30, 20))
    gain_muted = _chroma(pixels(run("vibrance", muted, 60))).mean() / _chroma(muted).mean()
    gain_vivid = _chroma(pixels(run("vibrance", vivid, 60))).mean() / _chroma(vivid).mean()
    assert gain_muted > gain_vivid >= 0.99


@pytest.mark.parametrize("name,band", [("red", 0), ("green", 1), ("blue", 2)])
def test_channel_levels(name, band):
    src = flat((100, 100, 100))
    out = pixels(run(name, src, 50))[0, 0]
    assert out[band] > 140 and all(out[i] == 100 for i in range(3) if i != band)
    assert pixels(run(name, src, -100))[0, 0][band] == 0


def _low_contrast(seed=1):
    return textured(seed=seed) * 0.3 + 60


def test_auto_contrast_stretches_histogram():
    src = _low_contrast()
    out = pixels(run("auto_contrast", src))
    assert np.ptp(grey(out)) > np.ptp(grey(src)) * 1.8
    half = pixels(run("auto_contrast", src, 50))
    assert np.ptp(grey(src)) < np.ptp(grey(half)) < np.ptp(grey(out))


def test_auto_color_removes_a_cast():
    src = _low_contrast() * np.array([1.0, 0.8, 0.6])
    out = pixels(run("auto_color", src))
    means = out.reshape(-1, 3).mean(axis=0)
    assert np.ptp(means) < np.ptp(src.reshape(-1, 3).mean(axis=0)) / 2
    for band in range(3):
        assert np.ptp(out[..., band]) > np.ptp(src[..., band]) * 1.5


@pytest.mark.parametrize("scale", [0.3, 1.8])
def test_auto_brightness_moves_towards_middle(scale):
    src = np.clip(textured() * scale, 0, 255)
    out = pixels(run("auto_brightness", src))
    assert abs(grey(out).mean() - 128) < abs(grey(src).mean() - 128)


def test_improve_stretches_and_blends():
    src = _low_contrast() * np.array([1.0, 0.9, 0.7])
    full, none = pixels(run("improve", src)), pixels(run("improve", src, "indoor", 0))
    assert np.ptp(grey(full)) > np.ptp(grey(src)) * 1.5
    assert np.abs(none - np.round(src)).max() <= 1


def test_colorize():
    src = textured()
    assert np.allclose(pixels(run("colorize", src, co="red")), [255, 0, 0], atol=1)
    half = pixels(run("colorize", src, 50, co="blue"))
    assert half[..., 2].mean() > src[..., 2].mean() + 40
    assert ssim(half, src) > 0.3


def test_tint():
    src = textured()
    out = pixels(run("tint", src, 100, "blue"))
    assert out[..., 2].mean() > out[..., 0].mean() + 30
    assert abs(grey(out).mean() - grey(src).mean()) < 25  # luminance kept
    ramp = pixels(run("tint", np.linspace(0, 255, 64)[None, :, None].repeat(8, 0).repeat(3, 2),
                      100, "red", "blue"))
    assert ramp[4, 5, 0] > ramp[4, 5, 2] and ramp[4, 58, 2] > ramp[4, 58, 0]  # dark->red, light->blue


def test_replace_color_changes_the_region_hue():
    src = flat((30, 140, 220), 80, 60)
    src[20:40, 20:60] = (200, 30, 30)
    out = pixels(run("replace_color", src, "green", 40, "rgb", "c81e1e"))
    inside, outside = out[30, 40], out[5, 5]
    assert inside[1] > inside[0] and inside[1] > inside[2]
    assert np.array_equal(outside, src[5, 5])
    auto = pixels(run("replace_color", src, "green"))  # the most prominent saturated colour
    assert auto[30, 40][1] > auto[30, 40][0] or auto[5, 5][1] > auto[5, 5][2]


def test_blur_removes_detail():
    src = textured()
    weak, strong = pixels(run("blur", src, 20)), pixels(run("blur", src, 400))
    assert high_frequency(strong) < high_frequency(weak) < high_frequency(src) * 0.7
    assert 0.05 < ssim(weak, src) < 0.95
    huge = pixels(run("blur", textured(300, 200), 2000))
    assert huge.shape == (200, 300, 3) and huge.std() < 60


def test_blur_keeps_shape_edges_clean():
    out = pixels(run("blur", shape_rgba(), 60))
    visible = out[..., 3] > 20
    assert np.abs(out[visible][:, :3] - [200, 40, 40]).max() < 12  # no dark fringe from transparent black


@pytest.mark.parametrize("size", [1, 5, 7])
def test_pixelate_blocks(size):
    src = textured(62, 45)
    out = pixels(run("pixelate", src, size))
    assert out.shape == src.shape
    for top in range(0, 45, size):
        for left in range(0, 62, size):
            block = out[top:top + size, left:left + size]
            assert np.ptp(block.reshape(-1, 3), axis=0).max() == 0
    block_mean = src[:size, :size].reshape(-1, 3).mean(axis=0)
    assert np.abs(out[0, 0] - block_mean).max() <= 1


@pytest.mark.parametrize("name", ["sharpen", "unsharp_mask"])
def test_sharpening_adds_detail(name):
    src = pixels(run("blur", textured(), 40))
    out = pixels(run(name, src))
    assert high_frequency(out) > high_frequency(src) * 1.1
    assert ssim(out, src) > 0.5
    assert high_frequency(pixels(run(name, src, 800))) > high_frequency(out)


def test_noise():
    src = flat((128, 128, 128), 80, 60)
    assert np.array_equal(pixels(run("noise", src)), src)
    out = pixels(run("noise", src, 50))
    assert out.std() > 15 and abs(out.mean() - 128) < 3
    assert np.array_equal(out, pixels(run("noise", src, 50)))  # deterministic: cacheable


def test_vignette_darkens_corners():
    src = flat((200, 200, 200), 100, 80)
    out = grey(pixels(run("vignette", src)))
    assert out[40, 50] >= 199 and out[0, 0] < 150 and out[79, 99] < 150
    assert grey(pixels(run("vignette", src, 100)))[0, 0] < out[0, 0]


def test_oil_paint_flattens_texture():
    src = textured()
    out = pixels(run("oil_paint", src))
    assert high_frequency(out) < high_frequency(src) * 0.6
    assert high_frequency(pixels(run("oil_paint", src, 100))) < high_frequency(out)


def test_cartoonify():
    src = flat((40, 120, 200), 80, 60)
    src[15:45, 20:60] = (230, 200, 60)
    src = src + np.random.default_rng(2).normal(0, 6, src.shape)
    out = pixels(run("cartoonify", src))
    assert (grey(out) < 30).sum() > 40  # dark lines along the edges
    assert len(np.unique(out.reshape(-1, 3), axis=0)) < 40  # few colours left
    assert (grey(pixels(run("cartoonify", src, 0))) < 30).sum() == 0  # no lines at strength 0
    bw = pixels(run("cartoonify", src, 50, "bw"))
    assert np.array_equal(bw[..., 0], bw[..., 1]) and np.array_equal(bw[..., 1], bw[..., 2])


@pytest.mark.parametrize("mode", [None, "outer", "inner", "fill", "inner_fill", "outer_fill"])
def test_outline_modes(mode):
    args = ((mode,) if mode else ()) + ("4",)
    out = pixels(run("outline", shape_rgba(), *args, co="blue"))
    grows = mode in (None, "outer", "fill", "outer_fill")
    pad = 4 if grows else 0
    assert out.shape == (60 + 2 * pad, 80 + 2 * pad, 4)
    left, top = 20 + pad, 15 + pad
    just_outside, just_inside, centre = out[top + 10, left - 2], out[top + 10, left + 1], out[top + 15, left + 20]
    blue = lambda p: p[3] > 200 and p[2] > 200 and p[0] < 40  # noqa: E731
    assert blue(just_outside) == grows
    assert blue(just_inside) == (mode in (None, "inner", "fill", "inner_fill"))
    assert np.allclose(centre, [200, 40, 40, 255])  # the middle of the shape is untouched
    assert out[2, 2, 3] == 0  # away from the shape stays transparent


def test_outline_fill_fills_holes_and_blur_softens():
    ring = shape_rgba(box=(20, 15, 40, 30))
    ring[25:35, 35:45] = 0  # a transparent hole inside the shape
    assert pixels(run("outline", ring, "inner", "2"))[5 + 25, 5 + 35, 3] == 0
    filled = pixels(run("outline", ring, "fill", "2", co="blue"))
    assert np.allclose(filled[2 + 30, 2 + 40], [0, 0, 255, 255])
    soft = pixels(run("outline", shape_rgba(), "outer", "6", "100"))  # pad = 6 + 3 * sigma 5
    alphas = soft[21 + 15 + 10, :21 + 20, 3]
    assert alphas[0] == 0 and ((alphas > 0) & (alphas < 250)).sum() > 4  # a soft ramp, not a hard band


def test_outline_on_opaque_image_frames_it():
    out = pixels(run("outline", textured(40, 30), "outer", "3", co="red"))
    assert out.shape == (36, 46, 4)
    assert np.allclose(out[1, 20], [255, 0, 0, 255]) and out[18, 23, 3] == 255


def test_shadow_grows_canvas_behind_the_shape():
    src = shape_rgba()
    out = pixels(run("shadow", src, 60, co="black", x=10, y=6))
    assert out.shape[0] > 60 and out.shape[1] > 80
    alpha = out[..., 3]
    ys, xs = np.nonzero(alpha == 255)
    top, left = ys.min(), xs.min()  # the shape, now placed on the grown canvas
    assert np.allclose(out[top + 5, left + 5], [200, 40, 40, 255])
    below_right = out[top + 30 + 3, left + 40 + 5]  # shadow only
    assert 0 < below_right[3] < 255 and below_right[:3].max() < 60
    above_left = out[top - 3, left - 3]
    assert above_left[3] < below_right[3]


def test_shadow_negative_offset_and_opaque_input():
    out = pixels(run("shadow", textured(40, 30), x=-8, y=-8))
    assert out.shape[0] > 30 and out.shape[1] > 40
    spread = 15  # 3 * sigma (1 + 40 / 10)
    left = top = 8 + spread
    assert out.shape[:2] == (top + 30 + spread - 8, left + 40 + spread - 8)
    assert out[top + 29, left + 39, 3] == 255 and out[0, -1, 3] == 0
    assert 0 < out[top - 6, left - 6, 3] < 255 and out[top - 6, left - 6, :3].max() <= 130


def test_trim_to_content_box():
    src = flat((255, 255, 255), 90, 70)
    src[12:50, 20:70] = textured(50, 38)
    src = src + np.random.default_rng(3).normal(0, 2, src.shape)
    out = run("trim", np.clip(src, 0, 255))
    assert (out.width, out.height) == (50, 38)
    assert np.abs(pixels(out) - np.round(np.clip(src, 0, 255))[12:50, 20:70]).max() <= 1
    assert (run("trim", src, 0).width, run("trim", src, 0).height) == (90, 70)  # noise is content at 0


def test_trim_colour_override_and_alpha():
    src = flat((0, 0, 255), 60, 50)
    src[0:3, :] = (255, 255, 255)  # a different top row: the corner is white, the border blue
    src[10:30, 15:45] = (200, 60, 60)
    out = run("trim", src, 10, "blue")
    assert (out.width, out.height) == (60, 30)
    rgba = run("trim", shape_rgba())
    assert (rgba.width, rgba.height, rgba.bands) == (40, 30, 4)
    assert pixels(rgba)[..., 3].min() == 255


def test_make_transparent():
    src = flat((255, 255, 255), 70, 50)
    src[10:40, 15:55] = (30, 90, 200)
    src[20:30, 30:40] = (255, 255, 255)  # white, but enclosed: not background
    out = pixels(run("make_transparent", src))
    assert out[0, 0, 3] == 0 and out[45, 60, 3] == 0
    assert out[25, 20, 3] == 255 and out[25, 35, 3] == 255
    everywhere = pixels(run("make_transparent", src, co="white"))
    assert everywhere[25, 35, 3] == 0 and everywhere[25, 20, 3] == 255
    blue = pixels(run("make_transparent", src, 20, co="rgb:1e5ac8"))
    assert blue[25, 20, 3] == 0 and blue[0, 0, 3] == 255


def test_make_transparent_tolerance():
    src = flat((250, 250, 250), 40, 30)
    src[:, 20:] = (225, 225, 225)
    assert pixels(run("make_transparent", src, 0, co="rgb:fafafa"))[5, 30, 3] == 255
    assert pixels(run("make_transparent", src, 20, co="rgb:fafafa"))[5, 30, 3] == 0


def test_gradient_fade():
    src = flat((100, 150, 200), 40, 100)
    top = pixels(run("gradient_fade", src))[..., 3][:, 20]
    assert top[0] < 30 and top[49] > 240 and top[99] == 255
    assert np.all(np.diff(top[:50]) >= 0)
    bottom = pixels(run("gradient_fade", src, y="-0.3"))[..., 3][:, 20]
    assert bottom[0] == 255 and bottom[99] < 30 and bottom[60] == 255
    left = pixels(run("gradient_fade", src.transpose(1, 0, 2), x="10"))[..., 3][20]
    assert left[0] < 30 and left[10] == 255
    sym = pixels(run("gradient_fade", src, "symmetric", y="0.25"))[..., 3][:, 20]
    assert sym[0] < 30 and sym[99] < 30 and sym[50] == 255
    assert pixels(run("gradient_fade", src, 0))[..., 3].min() == 255
    strong = pixels(run("gradient_fade", src, 100))[..., 3][:, 20]
    assert strong[25] < top[25]


def test_gradient_fade_symmetric_pad_skips_padding():
    src = flat((0, 0, 0), 40, 100)
    src[20:80] = (220, 180, 40)
    out = pixels(run("gradient_fade", src, "symmetric_pad", y="0.5"))[..., 3][:, 20]
    assert out[10] == 0 and out[21] < 40 and out[50] > 200 and out[78] < 40


@pytest.mark.parametrize("name", sorted(EFFECTS))
@pytest.mark.parametrize("size", [(1, 1), (2, 3)])
def test_tiny_images(name, size, prompt_backend):
    """Windows larger than the image (medians, find_trim, huge blurs) must not fail."""
    width, height = size
    for image in (textured(width, height), np.concatenate([textured(width, height), np.full((height, width, 1), 99)], 2)):
        if name in NEEDS_TRANSPARENCY and image.shape[2] == 3:
            continue
        out = run(name, image, *DEFAULT_ARGS.get(name, ()))
        assert out.format == "uchar" and out.width >= width and out.height >= height
    assert run("blur", textured(width, height), 2000).width == width
