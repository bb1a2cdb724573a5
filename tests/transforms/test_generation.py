"""The generation back-end interface with its local back-end (transforms.ai.generation, transforms.ai.outpaint).

Real PatchMatch on scikit-image's photos (scaled down so each fill takes about a second) and on generated
scenes: the canvas geometry, the original's pixels intact, pads that are neither flat nor a mirror of the
band next to them and that continue its colours, seeds (same seed same pixels, another seed another fill),
the subject kept out of the fill, corners, and inpainting a hole.  The HTTP back-ends: test_generation_http.
"""

from __future__ import annotations

import time

import numpy as np
import pytest
import pyvips
from skimage import data

from core.errors import ApiError, BadRequest
from transforms.ai import generation
from transforms.ai.generation import FillJob


def _vips(array: np.ndarray) -> pyvips.Image:
    image = pyvips.Image.new_from_array(np.ascontiguousarray(array))
    return image.copy(interpretation="srgb" if array.ndim == 3 else "b-w")


def _photo(name: str, width: int) -> np.ndarray:
    image = pyvips.Image.new_from_array(getattr(data, name)())
    return image.resize(width / image.width).numpy()


def _padded(photo: np.ndarray, width: int, height: int, x: int, y: int) -> tuple[np.ndarray, np.ndarray]:
    """The canvas (pads black: undefined content) and its mask with ``photo`` at (x, y)."""
    h, w = photo.shape[:2]
    canvas = np.zeros((height, width, 3), np.uint8)
    canvas[y : y + h, x : x + w] = photo
    mask = np.full((height, width), 255, np.uint8)
    mask[y : y + h, x : x + w] = 0
    return canvas, mask


def _fill(canvas, mask, seed=1, **kwargs) -> np.ndarray:
    out = generation.fill(FillJob(image=_vips(canvas), mask=_vips(mask), seed=seed, **kwargs))
    assert (out.width, out.height, out.bands, out.format) == (canvas.shape[1], canvas.shape[0], 3, "uchar")
    assert out.interpretation == "srgb"
    return out.numpy()


def _detail_corr(a: np.ndarray, b: np.ndarray) -> float:
    """Correlation of the fine detail (each minus its blur): a reflection keeps it, a new fill does not."""
    from scipy import ndimage

    def detail(x):
        x = x.astype(float).mean(axis=2)
        return (x - ndimage.gaussian_filter(x, 3)).ravel()

    return float(np.corrcoef(detail(a), detail(b))[0, 1])


@pytest.fixture(autouse=True)
def _local(settings):
    settings.DAM_INPAINT_URL = settings.DAM_IMAGE_EDIT_URL = ""


@pytest.mark.parametrize("name", ["astronaut", "coffee"])
def test_outpaint_to_16_9_keeps_the_original_and_continues_it(name):
    photo = _photo(name, 240)
    h, w = photo.shape[:2]
    width = round(h * 16 / 9)
    x = (width - w) // 2
    canvas, mask = _padded(photo, width, h, x, 0)
    out = _fill(canvas, mask, seed=11)

    assert np.array_equal(out[:, x : x + w], photo)  # the original's pixels, exactly
    for pad, band in ((out[:, : x], photo[:, : x]), (out[:, x + w :], photo[:, w - (width - x - w) :])):
        assert pad.std() > 12  # not flat
        mirror = band[:, ::-1]
        assert _detail_corr(mirror, mirror) > 0.99
        assert _detail_corr(pad, mirror) < 0.5  # not the band reflected
        # the colours of the neighbouring original go on
        assert np.abs(pad.reshape(-1, 3).mean(axis=0) - band.reshape(-1, 3).mean(axis=0)).max() < 40


def test_outpaint_corners_and_a_square_canvas():
    photo = _photo("coffee", 200)  # 4:3 -> 1:1 with pads on all four sides, the original off-centre
    h, w = photo.shape[:2]
    canvas, mask = _padded(photo, 260, 260, 20, 70)
    out = _fill(canvas, mask, seed=3)
    assert np.array_equal(out[70 : 70 + h, 20 : 20 + w], photo)
    for corner in (out[:70, :20], out[:70, 220:], out[220:, :20], out[220:, 220:]):
        assert corner.std() > 5  # not left flat


def test_same_seed_same_pixels_another_seed_another_fill():
    photo = _photo("astronaut", 200)
    canvas, mask = _padded(photo, 340, 200, 70, 0)
    first, again = _fill(canvas, mask, seed=42), _fill(canvas, mask, seed=42)
    assert np.array_equal(first, again)
    pads = mask > 0
    for seed in (43, -7, 10**30):  # any integer: negative and huge ones are reduced
        other = _fill(canvas, mask, seed=seed)
        assert np.array_equal(other[~pads], first[~pads])
        assert np.abs(other[pads].astype(int) - first[pads].astype(int)).mean() > 8


def _scene_with_subject(size: int = 200) -> tuple[np.ndarray, np.ndarray]:
    """A textured blue-green backdrop with a red square (the subject) touching its left edge."""
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:size, 0:size]
    scene = np.stack([20 + 10 * np.sin(xx / 5.0), 120 + 40 * np.sin(yy / 7.0), 160 + 30 * np.cos(xx / 9.0)], -1)
    scene = np.clip(scene + rng.normal(0, 12, scene.shape), 0, 255).astype(np.uint8)
    subject = np.zeros((size, size), np.uint8)
    subject[60:140, 0:80] = 255
    scene[subject > 0] = (220, 30, 30)
    return scene, subject


def _red(pixels: np.ndarray) -> np.ndarray:
    pixels = pixels.astype(int)
    return (pixels[..., 0] > 150) & (pixels[..., 1] < 90) & (pixels[..., 2] < 90)


def test_keep_out_never_copies_the_subject_into_the_pads():
    scene, subject = _scene_with_subject()
    canvas, mask = _padded(scene, 320, 200, 60, 0)
    keep_out = np.zeros_like(mask)
    keep_out[:, 60:260] = subject
    pads = mask > 0
    plain = _fill(canvas, mask, seed=5)
    assert _red(plain[pads]).mean() > 0.02  # without keep_out, PatchMatch copies the red subject
    kept = _fill(canvas, mask, seed=5, keep_out=_vips(keep_out))
    assert _red(kept[pads]).mean() < 0.002
    assert np.array_equal(kept[~pads], canvas[~pads])


def test_inpaint_removes_a_blob():
    photo = _photo("astronaut", 256)
    target = photo.copy()
    yy, xx = np.mgrid[0:256, 0:256]
    blob = ((yy - 40) ** 2 + (xx - 170) ** 2) < 12**2  # on the grey backdrop, right of the face
    target[blob] = (255, 0, 255)
    mask = np.where(blob, 255, 0).astype(np.uint8)
    out = _fill(target, mask, seed=2, task="inpaint")
    assert np.array_equal(out[~blob], photo[~blob])
    magenta = (out[blob][:, 0] > 200) & (out[blob][:, 1] < 60) & (out[blob][:, 2] > 200)
    assert magenta.mean() == 0
    ring = (((yy - 40) ** 2 + (xx - 170) ** 2) < 18**2) & ~blob
    assert np.abs(out[blob].mean(axis=0) - photo[ring].mean(axis=0)).max() < 25


def test_inpaint_keeps_the_subject_out_of_the_sources():
    scene, subject = _scene_with_subject()
    hole = np.zeros_like(subject)
    hole[60:140, 85:120] = 255  # a hole right next to the red subject
    keep_out = _vips(subject)
    out = _fill(scene, hole, seed=9, task="inpaint", keep_out=keep_out)
    assert _red(out[hole > 0]).mean() < 0.002


def test_a_deadline_already_past_is_a_504():
    photo = _photo("coffee", 120)
    canvas, mask = _padded(photo, 160, 90, 20, 0)
    job = FillJob(image=_vips(canvas), mask=_vips(mask), seed=1)
    with pytest.raises(ApiError) as caught:
        generation.fill(job, deadline=time.monotonic() - 1)
    assert caught.value.status == 504


def test_bad_jobs_are_programming_errors():
    canvas = np.zeros((20, 30, 3), np.uint8)
    with pytest.raises(ValueError, match="mask"):
        generation.fill(FillJob(image=_vips(canvas), mask=_vips(np.zeros((20, 31), np.uint8)), seed=1))
    with pytest.raises(ValueError, match="task"):
        generation.fill(FillJob(image=_vips(canvas), mask=_vips(np.zeros((20, 30), np.uint8)), seed=1, task="x"))


def test_without_http_back_ends_a_prompt_is_refused_naming_the_settings(settings):
    assert generation.backend_name() == "local"
    assert generation.prompt_backend() is None
    generation.check_prompt("")
    with pytest.raises(BadRequest) as caught:
        generation.check_prompt("bowls of cereal")
    assert "DAM_IMAGE_EDIT_URL" in caught.value.message and "DAM_INPAINT_PROMPTS" in caught.value.message
    photo = _photo("coffee", 80)
    canvas, mask = _padded(photo, 120, 60, 20, 0)
    with pytest.raises(BadRequest):
        generation.fill(FillJob(image=_vips(canvas), mask=_vips(mask), seed=1, prompt="cereal"))


def test_backend_choice(settings):
    settings.DAM_INPAINT_URL = "http://127.0.0.1:9/"
    assert (generation.backend_name(), generation.prompt_backend()) == ("iopaint", None)
    settings.DAM_INPAINT_PROMPTS = True
    assert generation.prompt_backend() == "iopaint"
    settings.DAM_IMAGE_EDIT_URL = "http://127.0.0.1:9/v1/images/edits"
    assert (generation.backend_name(), generation.prompt_backend()) == ("iopaint", "openai")
    assert generation.backend_name("a prompt") == "openai"
    settings.DAM_INPAINT_URL = ""
    assert generation.backend_name() == "openai"


def test_pads_beyond_the_cap_continue_as_a_blurred_extension():
    photo = _photo("coffee", 150)  # 150x100 on a 500x100 canvas: 175 px pads, 150 px (30%) synthesised each
    canvas, mask = _padded(photo, 500, 100, 175, 0)
    out = _fill(canvas, mask, seed=4)
    assert np.array_equal(out[:, 175:325], photo)
    for outer, synthesised in ((out[:, :25], out[:, 25:175]), (out[:, 475:], out[:, 325:475])):
        # no black left behind, the colours of the synthesised strip go on, smoother than it
        assert np.abs(outer.reshape(-1, 3).mean(axis=0) - synthesised.reshape(-1, 3).mean(axis=0)).max() < 30
        detail = np.abs(np.diff(outer.astype(float), axis=1)).mean()
        assert detail < np.abs(np.diff(synthesised.astype(float), axis=1)).mean()
