"""Generative fill, ``b_gen_fill`` (transforms.ai.stages + transforms.ai.genfill) through delivery.

The syntax (sub-parameters in any order, ``_false``, prompts decoded once, bad values),
the padding modes and placement, 423 first and one stored result per asset version,
steps before it and seed, the original's pixels intact inside the canvas, pads that are
neither flat nor a mirror, seeds that give the same or another fill, the refusals
(transparent, animated, a prompt without a back-end, in a layer or a condition), and a
real Celery worker making it.  The local back-end runs for real (PatchMatch) on small photos.
"""

from __future__ import annotations

import time

import numpy as np
import pytest
import pyvips
from skimage import data

from tests.conftest import CLOUD
from transforms.ai import jobs, stages
from transforms.cloudinary.entry import from_text
from transforms.models import AIResult
from transforms.values import GenFill


@pytest.fixture(autouse=True)
def _local_backend(settings):
    settings.DAM_INPAINT_URL = ""
    settings.DAM_IMAGE_EDIT_URL = ""
    settings.DAM_INPAINT_PROMPTS = False


def _png(array: np.ndarray) -> bytes:
    return pyvips.Image.new_from_array(array, interpretation="srgb").pngsave_buffer()


def _pixels(response) -> np.ndarray:
    body = b"".join(response.streaming_content) if response.streaming else response.content
    return pyvips.Image.new_from_buffer(body, "").numpy().astype(np.float32)


def _url(transformation: str, public_id: str = "gf") -> str:
    return f"/{CLOUD}/image/upload/{transformation}/{public_id}.png"


def _generated(client, transformation: str, public_id: str = "gf") -> np.ndarray:
    """423 first, then the stored result's rendering after the job ran here."""
    first = client.get(_url(transformation, public_id))
    assert first.status_code == 423, (first.status_code, first.get("X-Cld-Error"))
    assert int(first["Retry-After"]) > 0
    for row in AIResult.objects.filter(kind="gen_fill").exclude(status=AIResult.DONE):
        assert jobs.compute(row.pk) == "done", AIResult.objects.get(pk=row.pk).error
    done = client.get(_url(transformation, public_id))
    assert done.status_code == 200, done.get("X-Cld-Error")
    return _pixels(done)


@pytest.fixture
def photo(upload):
    """scikit-image's astronaut at 128x128, uploaded as ``gf``."""
    array = data.astronaut()[::4, ::4].copy()
    assert upload(_png(array), name="gf.png", public_id="gf").status_code == 200
    return array


# --- syntax ---------------------------------------------------------------------------


@pytest.mark.parametrize("text, expected", [
    ("ar_16:9,b_gen_fill,c_pad,w_200", GenFill()),
    ("b_gen_fill:seed_3,c_mpad,h_110,w_110", GenFill(seed=3)),
    ("b_gen_fill:prompt_a cat;seed_3,c_pad,h_100,w_200", GenFill("a cat", 3)),
    ("b_gen_fill:seed_3;prompt_a cat,c_pad,h_100,w_200", GenFill("a cat", 3)),
    ("b_gen_fill:ignore-foreground_false;seed_-2,c_pad,h_100,w_200", GenFill(seed=-2)),
    ("b_gen_fill:ignore-foreground_true,c_lpad,h_100,w_200", GenFill()),
    # The JavaScript SDK's encoding of "some; test (123!)", as the server hands it over (decoded once).
    ("b_gen_fill:prompt_some; test (123!),c_pad,h_200,w_100", GenFill("some; test (123!)")),
    ("b_gen_fill:prompt_bowls  of cereal,c_pad,h_180,w_100,g_south", GenFill("bowls of cereal")),
    ("b_gen_fill,c_auto_pad,g_auto:dog,h_200,w_100", GenFill()),
    ("ar_7.0,b_gen_fill,c_mpad,w_200", GenFill()),
    ("b_gen_fill,c_fill_pad,g_auto,h_100,w_300", GenFill()),
])
def test_the_sub_parameters_in_any_order(text, expected):
    step = from_text(text).steps[0]
    assert step.background.gen == expected


def test_the_same_meaning_in_another_order_is_the_same_cache_entry():
    a, b = from_text("b_gen_fill:prompt_x;seed_3,c_pad,h_100,w_200"), from_text("w_200,c_pad,h_100,b_gen_fill:seed_3;prompt_x")
    assert a.key == b.key and a.literal != b.literal


@pytest.mark.parametrize("text, words", [
    ("b_gen_fill:seed_x,c_pad,h_100,w_200", "seed"),
    ("b_gen_fill:seed_1.5,c_pad,h_100,w_200", "seed"),
    ("b_gen_fill:seed_1;seed_2,c_pad,h_100,w_200", "twice"),
    ("b_gen_fill:colour_red,c_pad,h_100,w_200", "Invalid b_gen_fill parameter"),
    ("b_gen_fill:ignore-foreground_maybe,c_pad,h_100,w_200", "true or false"),
    ("b_gen_fill:prompt_,c_pad,h_100,w_200", "empty"),
    ("b_gen_fill,c_fill,h_100,w_200", "padding crop mode"),
    ("b_gen_fill,h_100,w_200", "padding crop mode"),
    ("b_gen_fill,c_pad,w_200", "dimensions"),
    ("b_gen_fill,c_pad,ar_16:9", "dimensions"),
    ("l_sample,b_gen_fill,c_pad,h_10,w_20/fl_layer_apply", "layer"),
    ("if_w_gt_10/b_gen_fill,c_pad,h_100,w_200/if_end", "condition"),
])
def test_bad_syntax_is_a_400_naming_it(client, photo, text, words):
    response = client.get(_url(text))
    assert response.status_code == 400
    assert words in response["X-Cld-Error"], response["X-Cld-Error"]
    assert not AIResult.objects.exists()


# --- geometry and pixels ----------------------------------------------------------------------------


def _inner(pixels: np.ndarray, box) -> np.ndarray:
    x, y, w, h = box
    return pixels[y:y + h, x:x + w, :3]


@pytest.mark.django_db
def test_pad_to_16_9_keeps_the_original_and_fills_the_sides(client, photo):
    filled = _generated(client, "ar_16:9,b_gen_fill,c_pad,w_256")
    assert filled.shape[:2] == (144, 256)
    plain = _pixels(client.get(_url("ar_16:9,b_black,c_pad,w_256")))
    # The original, scaled to 144x144, sits in the middle exactly as a plain pad places it.
    assert np.abs(_inner(filled, (56, 0, 144, 144)) - _inner(plain, (56, 0, 144, 144))).max() <= 2
    for side in (filled[:, :56, :3], filled[:, 200:, :3]):
        assert side.std() > 12  # not a flat colour
    left_pad, next_band = filled[:, :56, :3], filled[:, 56:112, :3]
    mirror = np.corrcoef(left_pad.ravel(), next_band[:, ::-1].ravel())[0, 1]
    assert mirror < 0.9  # not a mirror of the band beside it


@pytest.mark.parametrize("transformation, size, inner", [
    ("b_gen_fill,c_pad,h_128,w_192,g_west", (128, 192), (0, 0, 128, 128)),
    ("b_gen_fill,c_pad,h_192,w_128,g_south", (192, 128), (0, 64, 128, 128)),
    ("b_gen_fill,c_lpad,h_160,w_256", (160, 256), (64, 16, 128, 128)),
    ("b_gen_fill,c_mpad,h_160,w_160", (160, 160), (16, 16, 128, 128)),
    ("ar_2:1,b_gen_fill,c_pad,h_100", (100, 200), (50, 0, 100, 100)),
])
@pytest.mark.django_db
def test_padding_modes_and_placement(client, photo, transformation, size, inner):
    filled = _generated(client, transformation)
    assert filled.shape[:2] == size
    plain = _pixels(client.get(_url(transformation.replace("b_gen_fill", "b_black"))))
    assert np.abs(_inner(filled, inner) - _inner(plain, inner)).max() <= 2
    outside = np.ones(size, bool)
    x, y, w, h = inner
    outside[y:y + h, x:x + w] = False
    assert filled[outside][:, :3].std() > 10  # made, not the black a plain pad would have


@pytest.mark.django_db
def test_auto_pad_pads_rather_than_cutting_into_the_subject(client, photo):
    # g_auto finds her face (about 22x30 here): a 256x16 crop would cut it, so the canvas is padded.
    filled = _generated(client, "b_gen_fill,c_auto_pad,h_16,w_256")
    assert filled.shape[:2] == (16, 256)
    assert AIResult.objects.get(kind="gen_fill").metadata["generated"] > 0


@pytest.mark.django_db
def test_one_result_per_steps_before_and_seed_reused_by_longer_chains(client, photo):
    base = "ar_16:9,b_gen_fill,c_pad,w_256"
    filled = _generated(client, base)
    assert AIResult.objects.filter(kind="gen_fill").count() == 1
    longer = client.get(_url(f"{base}/e_grayscale"))
    assert longer.status_code == 200
    grey = _pixels(longer)
    assert grey.shape[:2] == (144, 256)
    assert abs(grey[..., 0].mean() - filled[..., :3].mean()) < 12
    same_meaning = client.get(_url("w_256,c_pad,b_gen_fill,ar_16:9"))
    assert same_meaning.status_code == 200
    assert AIResult.objects.filter(kind="gen_fill").count() == 1
    # Another step before it is another input: another result.
    assert client.get(_url(f"e_grayscale/{base}")).status_code == 423
    assert AIResult.objects.filter(kind="gen_fill").count() == 2


@pytest.mark.django_db
def test_the_same_seed_gives_the_same_pixels_another_seed_another_fill(client, photo):
    seeded = "ar_16:9,b_gen_fill:seed_7,c_pad,w_256"
    first = _generated(client, seeded)
    row = AIResult.objects.get(kind="gen_fill")
    AIResult.objects.filter(pk=row.pk).delete()  # computed again from scratch: the same pixels
    again = _generated(client, seeded)
    assert np.abs(first - again).max() == 0
    other = _generated(client, "ar_16:9,b_gen_fill:seed_8,c_pad,w_256")
    pads = (slice(None), np.r_[0:56, 200:256])
    assert np.abs(first[pads] - other[pads]).mean() > 4  # visibly another fill
    assert np.abs(_inner(first, (56, 0, 144, 144)) - _inner(other, (56, 0, 144, 144))).max() <= 2


@pytest.mark.django_db
def test_a_transparent_image_is_refused_unless_flattened_first(client, upload):
    rgba = np.dstack([data.astronaut()[::4, ::4], np.full((128, 128), 255, np.uint8)])
    rgba[:32, :32, 3] = 0
    assert upload(_png(rgba), name="t.png", public_id="clear").status_code == 200
    refused = client.get(_url("ar_16:9,b_gen_fill,c_pad,w_256", "clear"))
    assert refused.status_code == 400 and "transparency" in refused["X-Cld-Error"]
    flattened = client.get(_url("b_white/ar_16:9,b_gen_fill,c_pad,w_256", "clear"))
    assert flattened.status_code == 423


@pytest.mark.django_db
def test_an_animated_image_is_refused(client, upload):
    frames = [pyvips.Image.new_from_array(np.full((30, 40, 3), 40 * s, np.uint8)) for s in range(3)]
    strip = pyvips.Image.arrayjoin(frames, across=1).copy(interpretation="srgb")
    strip.set_type(pyvips.GValue.gint_type, "page-height", 30)
    assert upload(strip.gifsave_buffer(), name="a.gif", public_id="anim").status_code == 200
    refused = client.get(f"/{CLOUD}/image/upload/ar_16:9,b_gen_fill,c_pad,w_100/anim.gif")
    assert refused.status_code == 400 and "animated" in refused["X-Cld-Error"]


@pytest.mark.django_db
def test_a_prompt_needs_a_back_end_that_understands_prompts(client, photo):
    refused = client.get(_url("ar_16:9,b_gen_fill:prompt_a beach,c_pad,w_256"))
    assert refused.status_code == 400
    assert "DAM_IMAGE_EDIT_URL" in refused["X-Cld-Error"] and "DAM_INPAINT_PROMPTS" in refused["X-Cld-Error"]
    assert not AIResult.objects.exists()


@pytest.mark.django_db
def test_an_overwrite_starts_again(client, upload, photo):
    _generated(client, "ar_16:9,b_gen_fill,c_pad,w_256")
    assert upload(_png(data.coffee()[::4, ::4].copy()), name="gf.png", public_id="gf", overwrite="true",
                  invalidate="true").status_code == 200
    assert client.get(_url("ar_16:9,b_gen_fill,c_pad,w_256")).status_code == 423


@pytest.mark.django_db(transaction=True)  # the job's heartbeat writes from its own connection
def test_eager_generates_at_upload(client, upload):
    response = upload(_png(data.astronaut()[::4, ::4].copy()), name="e.png", public_id="eager",
                      eager="ar_16:9,b_gen_fill,c_pad,w_256")
    assert response.status_code == 200, response.content
    assert response.json()["eager"][0]["width"] == 256
    assert client.get(_url("ar_16:9,b_gen_fill,c_pad,w_256", "eager")).status_code == 200


def test_the_stage_is_the_last_generative_step_and_its_prefix_is_the_meaning_before_it():
    plan = from_text("e_grayscale/ar_16:9,b_gen_fill:seed_2,c_pad,w_256/e_sharpen")
    index, producer, options = stages.find(plan)
    assert (index, producer.kind, options.seed) == (1, "gen_fill", 2)
    assert options.canonical == stages.find(from_text("e_grayscale/ar_16:9,b_gen_fill:seed_2,c_pad,w_256"))[2].canonical
    assert options.canonical != stages.find(from_text("e_grayscale/ar_16:9,b_gen_fill:seed_3,c_pad,w_256"))[2].canonical
    assert options.canonical != stages.find(from_text("e_sepia/ar_16:9,b_gen_fill:seed_2,c_pad,w_256"))[2].canonical
    assert stages.find(from_text("ar_16:9,b_white,c_pad,w_256")) is None


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_makes_it(client, upload, celery_worker):
    assert upload(_png(data.astronaut()[::4, ::4].copy()), name="w.png", public_id="worker").status_code == 200
    url = _url("ar_16:9,b_gen_fill:seed_5,c_pad,w_256", "worker")
    response = client.get(url)
    assert response.status_code == 423
    deadline = time.monotonic() + 120
    while response.status_code == 423 and time.monotonic() < deadline:
        time.sleep(0.5)
        response = client.get(url)
    assert response.status_code == 200, (response.status_code, response.get("X-Cld-Error"))
    assert _pixels(response).shape[:2] == (144, 256)
