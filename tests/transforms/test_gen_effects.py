"""The generative effects besides fill (issue 13, item 6): e_gen_remove, e_gen_background_replace,
e_gen_recolor, e_gen_restore (transforms.ai.geneffects).

Parsing as a table (any order, ``_false``, prompts with ``;`` and ``:``, bad values); then each effect end to
end through delivery: 423 first, the worker's job (``jobs.compute`` in this process), then 200, on small
scikit-image photos.  The models are real (NanoDet, ISNet: ``manage.py fetch_models``); the prompt-capable
back-end is a real HTTP server on 127.0.0.1 started here, speaking the OpenAI-compatible images edits
protocol (multipart ``image``, ``mask`` whose transparent pixels are to be made, ``prompt``; JSON
``data[0].b64_json`` back), filling the area to make with pure green.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import pyvips
from skimage import data

from core.errors import BadRequest
from tests.conftest import CLOUD
from tests.images_server import configure_edits, png, running_edits
from transforms.ai import detect, geneffects, jobs, matting, oklab, restoration
from transforms.cloudinary import entry
from transforms.models import AIResult

GREEN = (0, 255, 0)


def _small(photo: np.ndarray, side: int) -> np.ndarray:
    image = pyvips.Image.new_from_array(photo)
    return np.ascontiguousarray(image.resize(side / max(image.width, image.height)).numpy()[:, :, :3])


def _pixels(response) -> np.ndarray:
    body = b"".join(response.streaming_content) if response.streaming else response.content
    return pyvips.Image.new_from_buffer(body, "").numpy()[:, :, :3]


def _deliver(client, transformation: str, public_id: str) -> tuple[np.ndarray, AIResult]:
    """423 first, the job run here, then 200: the pixels and the stored row."""
    url = f"/{CLOUD}/image/upload/{transformation}/{public_id}.png"
    first = client.get(url)
    assert first.status_code == 423, first.content
    assert first["Retry-After"]
    row = AIResult.objects.order_by("-pk").first()
    assert jobs.compute(row.pk) == "done", AIResult.objects.get(pk=row.pk).error
    done = client.get(url)
    assert done.status_code == 200, done.content
    return _pixels(done), AIResult.objects.get(pk=row.pk)


@pytest.fixture
def no_backend(settings):
    settings.DAM_INPAINT_URL = settings.DAM_IMAGE_EDIT_URL = ""
    settings.DAM_INPAINT_PROMPTS = False


@pytest.fixture
def edits_server(settings):
    """An OpenAI-compatible ``POST /v1/images/edits`` on 127.0.0.1 that paints the area to edit green."""
    def green(image: np.ndarray, edit: np.ndarray) -> np.ndarray:
        out = np.array(image)
        out[edit] = GREEN
        return out

    with running_edits(green) as (url, seen):
        configure_edits(settings, url)
        yield seen


def _effect(text: str):
    return entry.from_text(text).steps[0].effect.value


# --- parsing ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("text,expected", [
    ("e_gen_remove:region_(x_10;y_20;w_30;h_40)", {"regions": ((10, 20, 30, 40),)}),
    ("e_gen_remove:region_((h_40;w_30;y_20;x_10);(x_0;y_0;w_5;h_5))", {"regions": ((10, 20, 30, 40), (0, 0, 5, 5))}),
    ("e_gen_remove:prompt_cat", {"objects": ("cat",), "multiple": False, "remove_shadow": False}),
    ("e_gen_remove:multiple_true;prompt_tree_x", None),  # not a COCO name: needs a back-end (below)
    ("e_gen_remove:multiple_false;prompt_cup;remove-shadow_false", {"objects": ("cup",), "multiple": False}),
    ("e_gen_remove:remove-shadow_true;multiple_true;prompt_person", {"multiple": True, "remove_shadow": True}),
    ("e_gen_remove:prompt_(cat;dog)", {"objects": ("cat", "dog"), "multiple": True}),  # several: multiple
    ("e_gen_remove:prompt_wine glass;seed_4", {"objects": ("wine glass",), "seed": 4}),
    ("e_gen_remove:prompt_animal", {"objects": ("animal",)}),  # a category
    ("e_gen_recolor:prompt_cup;to-color_58d68d", {"objects": ("cup",), "color": (0x58, 0xD6, 0x8D)}),
    ("e_gen_recolor:to-color_red;multiple_true;prompt_(cup;bowl)", {"color": (255, 0, 0), "multiple": True}),
    ("e_gen_recolor:prompt_car;to-color_rgb:00f;multiple_false", {"color": (0, 0, 255), "multiple": False}),
    ("e_gen_restore", {}),
])
def test_parse_table(no_backend, text, expected):
    if expected is None:
        with pytest.raises(BadRequest, match="DAM_IMAGE_EDIT_URL"):
            _effect(text)
        return
    value = _effect(text)
    for key, want in expected.items():
        assert getattr(value, key) == want, (key, value)


@pytest.mark.parametrize("text,message", [
    ("e_gen_remove", "either prompt_<object> or region_"),
    ("e_gen_remove:prompt_cat;region_(x_1;y_1;w_2;h_2)", "either prompt_"),
    ("e_gen_remove:region_(x_1;y_1;w_2)", "needs x_, y_, w_ and h_"),
    ("e_gen_remove:region_(x_1;y_1;w_0;h_2)", "must be positive"),
    ("e_gen_remove:region_(x_-1;y_1;w_2;h_2)", "'x_-1'"),
    ("e_gen_remove:region_(x_1;x_1;w_2;h_2)", "each once"),
    ("e_gen_remove:region_x_1", "expected (x_<n>"),
    ("e_gen_remove:region_((x_1;y_1;w_2;h_2)", "unbalanced parentheses"),
    ("e_gen_remove:region_(" + ";".join(["(x_1;y_1;w_2;h_2)"] * 21) + ")", "at most 20 regions"),
    ("e_gen_remove:region_(x_1;y_1;w_2;h_2);multiple_true", "go with prompt_"),
    ("e_gen_remove:prompt_cat;multiple_yes", "multiple_yes (expected true or false)"),
    ("e_gen_remove:prompt_cat;remove-shadow_2", "remove-shadow_2"),
    ("e_gen_remove:prompt_cat;seed_x", "seed"),
    ("e_gen_remove:prompt_cat;prompt_dog", "prompt given twice"),
    ("e_gen_remove:colour_red;prompt_cat", "Invalid e_gen_remove parameter"),
    ("e_gen_remove:prompt_()", "prompt list"),
    ("e_gen_remove:prompt_unicorn", "DAM_IMAGE_EDIT_URL"),
    ("e_gen_remove:prompt_text", "DAM_IMAGE_EDIT_URL"),
    ("e_gen_remove:prompt_text:dog", "DAM_IMAGE_EDIT_URL"),
    ("e_gen_recolor:prompt_cup", "to-color_ is required"),
    ("e_gen_recolor:to-color_red", "prompt_ is required"),
    ("e_gen_recolor:prompt_cup;to-color_notacolour", "to-color 'notacolour' is not a color"),
    ("e_gen_recolor:prompt_sweater;to-color_red", "recolouring finds objects by the local detector"),
    ("e_gen_recolor:prompt_cup;to-color_red;apply-to-tier_(2;3)", "Invalid e_gen_recolor parameter"),
    ("e_gen_recolor:prompt_cup;to-color_red;multiple_maybe", "multiple_maybe"),
    ("e_gen_restore:strong", "takes no parameters"),
    ("e_gen_background_replace", "DAM_IMAGE_EDIT_URL"),
    ("e_gen_background_replace:seed_2", "DAM_IMAGE_EDIT_URL"),
])
def test_bad_values_are_400(no_backend, text, message):
    with pytest.raises(BadRequest) as error:
        _effect(text)
    assert message in str(error.value)


def test_prompts_with_a_back_end(edits_server):
    remove = _effect("e_gen_remove:prompt_text:dog;multiple_true")
    assert remove.objects == ("text:dog",) and remove.free_text == ("text:dog",)
    background = _effect("e_gen_background_replace:prompt_a beach; at dusk:warm;seed_7")
    assert (background.prompt, background.seed) == ("a beach; at dusk:warm", 7)
    assert _effect("e_gen_background_replace").prompt == ""
    with pytest.raises(BadRequest, match="seed"):
        _effect("e_gen_background_replace:seed_1.5")


# --- e_gen_remove ------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_region_removal_changes_only_the_regions(client, upload, no_backend):
    photo = _small(data.astronaut(), 128)
    assert upload(png(photo), public_id="fx_region").status_code == 200
    out, row = _deliver(client, "e_gen_remove:region_((x_60;y_20;w_30;h_24);(x_120;y_100;w_40;h_40))", "fx_region")
    assert out.shape == photo.shape
    inside = np.zeros(photo.shape[:2], bool)
    inside[20:44, 60:90] = True
    inside[100:128, 120:128] = True  # the second box clipped to the image
    assert np.array_equal(out[~inside], photo[~inside])
    changed = np.abs(out[inside].astype(int) - photo[inside]).mean()
    assert changed > 5, changed
    assert out[20:44, 60:90].std() > 3  # made from the surroundings, not one flat colour
    assert row.metadata["regions"] == [[60, 20, 30, 24], [120, 100, 8, 28]]

    other, _ = _deliver(client, "e_gen_remove:region_((x_60;y_20;w_30;h_24);(x_120;y_100;w_40;h_40));seed_9",
                        "fx_region")
    assert np.array_equal(other[~inside], photo[~inside])
    assert not np.array_equal(other[inside], out[inside])  # another seed, another fill


@pytest.mark.django_db
def test_region_outside_the_image_is_400(client, upload, no_backend):
    assert upload(png(_small(data.astronaut(), 96)), public_id="fx_out").status_code == 200
    response = client.get(f"/{CLOUD}/image/upload/e_gen_remove:region_(x_200;y_10;w_20;h_20)/fx_out.png")
    assert response.status_code == 400
    assert "outside the 96x96 image" in response["X-Cld-Error"]
    assert not AIResult.objects.exists()


@pytest.mark.django_db
def test_region_removal_after_other_steps(client, upload, no_backend):
    """The stage's input is what the steps before it made; the steps after it run on the result."""
    photo = _small(data.astronaut(), 128)
    assert upload(png(photo), public_id="fx_chain").status_code == 200
    out, _ = _deliver(client, "c_scale,w_64/e_gen_remove:region_(x_10;y_10;w_16;h_16)/a_90", "fx_chain")
    assert out.shape[:2] == (64, 64)
    scaled = pyvips.Image.new_from_array(photo).resize(0.5).rot90().numpy()[:, :, :3]
    keep = np.ones((64, 64), bool)
    keep[10:26, 64 - 26:64 - 10] = False  # the box, turned with the image
    assert np.abs(out[keep].astype(int) - scaled[keep]).max() <= 1


@pytest.mark.django_db
def test_object_removal_removes_the_cup(client, upload, no_backend):
    photo = _small(data.coffee(), 200)
    cups = [d for d in detect.detect(photo) if d[0] == "cup"]
    assert cups, "the detector finds the coffee cup"
    assert upload(png(photo), public_id="fx_cup").status_code == 200
    out, row = _deliver(client, "e_gen_remove:remove-shadow_false;prompt_cup", "fx_cup")
    assert row.metadata["removed"] == 1 and row.metadata["found"][0]["name"] == "cup"
    x0, y0, x1, y1 = (round(v) for v in cups[0][2])
    box = (slice(y0, y1), slice(x0, x1))
    assert np.abs(out[box].astype(int) - photo[box]).mean() > 10
    after = [d for d in detect.detect(out) if d[0] == "cup"]
    assert not after or after[0][1] < cups[0][1]  # gone, or far less of a cup
    far = np.ones(photo.shape[:2], bool)
    pad = 0.25
    w, h = x1 - x0, y1 - y0
    far[max(0, int(y0 - pad * h)):int(y1 + pad * h), max(0, int(x0 - pad * w)):int(x1 + pad * w)] = False
    assert np.array_equal(out[far], photo[far])  # nothing away from the cup changed


@pytest.mark.django_db
def test_object_not_found_leaves_the_image(client, upload, no_backend):
    photo = _small(data.coffee(), 128)
    assert upload(png(photo), public_id="fx_none").status_code == 200
    out, row = _deliver(client, "e_gen_remove:prompt_giraffe", "fx_none")
    assert np.array_equal(out, photo)
    assert row.metadata["removed"] == 0


@pytest.mark.django_db
def test_other_prompts_go_to_the_prompt_back_end(client, upload, edits_server):
    photo = _small(data.coffee(), 96)
    assert upload(png(photo), public_id="fx_free").status_code == 200
    out, row = _deliver(client, "e_gen_remove:prompt_text:dog", "fx_free")
    sent = edits_server[-1]
    assert "Remove every text:dog" in sent["prompt"] and sent["edit"].all()  # the back-end finds it itself
    assert np.abs(out.astype(int) - GREEN).max() <= 1
    assert row.metadata["backend"] == "openai"


# --- e_gen_recolor -------------------------------------------------------------------------------------


def _hue(rgb: np.ndarray) -> np.ndarray:
    lab = oklab.to_oklab(rgb)
    return np.arctan2(lab[..., 2], lab[..., 1])


@pytest.mark.django_db
def test_recolor_moves_the_cup_towards_the_colour(client, upload, no_backend):
    photo = _small(data.coffee(), 200)
    assert upload(png(photo), public_id="fx_recolor").status_code == 200
    out, row = _deliver(client, "e_gen_recolor:to-color_2e86c1;prompt_cup", "fx_recolor")
    assert row.metadata["recoloured"] == 1
    x0, y0, x1, y1 = row.metadata["found"][0]["box"]
    alpha = geneffects.object_matte(photo, [("cup", 1.0, (x0, y0, x1, y1))])
    lightness = oklab.to_oklab(out)[..., 0]
    cup = (alpha > 0.9) & (lightness > 0.3) & (lightness < 0.9)  # where an 8-bit hue is well defined
    assert cup.sum() > 500
    target = _hue(np.array([[[0x2E, 0x86, 0xC1]]], np.uint8))[0, 0]

    def distance(rgb):
        return np.abs(np.angle(np.exp(1j * (_hue(rgb)[cup] - target)))).mean()

    assert distance(out) < 0.2 < distance(photo)
    grey = lambda a: a.astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)  # noqa: E731
    assert np.corrcoef(grey(out)[cup], grey(photo)[cup])[0, 1] > 0.8  # the lightness variation kept
    outside = alpha == 0
    assert np.array_equal(out[outside], photo[outside])


# --- e_gen_background_replace ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_background_replace_needs_a_prompt_back_end(client, upload, no_backend):
    assert upload(png(_small(data.astronaut(), 96)), public_id="fx_bg0").status_code == 200
    response = client.get(f"/{CLOUD}/image/upload/e_gen_background_replace:prompt_a beach/fx_bg0.png")
    assert response.status_code == 400
    assert "DAM_IMAGE_EDIT_URL" in response["X-Cld-Error"]
    assert "DAM_IMAGE_EDIT_URL" in response.json()["error"]["message"]


@pytest.mark.django_db
def test_background_replace_keeps_the_subject(client, upload, edits_server):
    photo = _small(data.astronaut(), 160)
    assert upload(png(photo), public_id="fx_bg").status_code == 200
    out, row = _deliver(client, "e_gen_background_replace:prompt_a beach%3B at dusk %28warm%29;seed_3", "fx_bg")
    assert edits_server and edits_server[-1]["prompt"] == "a beach; at dusk (warm)"  # decoded once
    assert row.metadata["prompt"] == "a beach; at dusk (warm)" and row.metadata["backend"] == "openai"
    alpha = matting.salient_matte(photo)
    subject, background = alpha > 0.5, alpha < 0.02
    assert subject.mean() > 0.2 and background.mean() > 0.1
    assert np.array_equal(out[subject], photo[subject])
    assert np.abs(out[background].astype(int) - GREEN).max(axis=1).mean() < 8  # the server's background

    default, _ = _deliver(client, "e_gen_background_replace", "fx_bg")
    assert edits_server[-1]["prompt"] == geneffects.DEFAULT_BACKGROUND_PROMPT
    assert np.array_equal(default[subject], photo[subject])


@pytest.mark.django_db
def test_background_replace_on_a_transparent_image_makes_the_transparent_area(client, upload, edits_server):
    photo = _small(data.astronaut(), 96)
    alpha = np.full(photo.shape[:2], 255, np.uint8)
    alpha[:, :30] = 0  # a cut-out: the left part is transparent
    assert upload(png(np.dstack([photo, alpha])), public_id="fx_cut").status_code == 200
    out, _ = _deliver(client, "e_gen_background_replace", "fx_cut")
    assert out.shape[:2] == photo.shape[:2]
    assert np.array_equal(out[:, 30:, :3], photo[:, 30:])  # what was opaque is kept exactly
    assert np.abs(out[:, :30, :3].astype(int) - GREEN).max(axis=2).mean() < 8  # the rest is the server's


# --- e_gen_restore -----------------------------------------------------------------------------------------


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    return 10 * math.log10(255**2 / np.mean((a.astype(np.float64) - b) ** 2))


@pytest.mark.django_db
def test_restore_reduces_noise(client, upload, no_backend):
    clean = _small(data.astronaut(), 192)
    noisy = np.clip(clean + np.random.default_rng(3).normal(0, 15, clean.shape), 0, 255).astype(np.uint8)
    assert upload(png(noisy), public_id="fx_noisy").status_code == 200
    out, row = _deliver(client, "e_gen_restore", "fx_noisy")
    assert out.shape == clean.shape
    assert _psnr(out, clean) > _psnr(noisy, clean) + 1.5
    assert row.metadata["noise_sigma"] > 5


def test_deblock_softens_block_edges_only():
    flat = np.full((32, 32, 3), 100, np.uint8)
    flat[:, 8:] = 104  # a small step on the block grid: softened
    flat[:, 24:] = 200  # a real edge: kept
    out = restoration.deblock(flat, 10)
    assert int(out[0, 8, 0]) - int(out[0, 7, 0]) < 4
    assert (out[0, 23, 0], out[0, 24, 0]) == (104, 200)


@pytest.mark.django_db
def test_transparent_input_is_400(client, upload, no_backend):
    rgba = np.dstack([_small(data.astronaut(), 64), np.full((64, 64), 255, np.uint8)])
    rgba[:10, :10, 3] = 0
    assert upload(png(rgba), public_id="fx_alpha").status_code == 200
    for effect in ("e_gen_restore", "e_gen_remove:region_(x_1;y_1;w_5;h_5)", "e_gen_recolor:prompt_cup;to-color_red"):
        response = client.get(f"/{CLOUD}/image/upload/{effect}/fx_alpha.png")
        assert response.status_code == 400, effect
        assert "without transparency" in response["X-Cld-Error"]
