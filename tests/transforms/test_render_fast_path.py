"""The render fast path: a first step planned from the asset row (no header read), a plan of
one pure-geometry step streamed from the shrunk load into the encoder, and one watchdog
thread for render budgets.  The fast path must give exactly the pixels of the settled path
(every step computed into memory, the original's header read first)."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
import pyvips

from assets.models import Asset
from tests.conftest import CLOUD, make_image
from transforms import executor, limits, originals, pipeline
from transforms.cloudinary.entry import from_text

pytestmark = pytest.mark.django_db


def photo(width=640, height=480, orientation=None) -> bytes:
    """A textured JPEG with a feature off-centre (so g_auto has something to find)."""
    image = pyvips.Image.new_from_buffer(make_image(width, height, "jpg", seed=3), "")
    spot = pyvips.Image.black(width // 6, height // 6, bands=3) + [250, 30, 30]
    image = image.insert(spot.cast("uchar"), width // 8, height // 5).copy(interpretation="srgb")
    if orientation is not None:
        image = image.copy()
        image.set_type(pyvips.GValue.gint_type, "orientation", orientation)
    return image.jpegsave_buffer(Q=90, keep="all")


@pytest.fixture
def stored(upload):
    def _stored(public_id: str, data: bytes) -> Asset:
        response = upload(data, name=f"{public_id}.jpg", public_id=public_id)
        assert response.status_code == 200, response.content
        return Asset.objects.get(public_id=public_id)

    return _stored


def render(asset, text: str, tmp_path, fmt: str = "png") -> np.ndarray:
    plan = from_text(text, fmt).for_asset(asset)
    rendered = executor.render(asset, plan, str(tmp_path / "spill"), to_memory=True)
    image = pyvips.Image.new_from_buffer(rendered.data, "")
    assert (image.width, image.height) == (rendered.width, rendered.height)
    return image.numpy()


def settled(asset, text: str, tmp_path, monkeypatch, fmt: str = "png") -> np.ndarray:
    """The same render with every fast path off: header read first, every step settled."""
    with monkeypatch.context() as m:
        m.setattr(pipeline, "known_original", lambda *args: None)
        m.setattr(pipeline, "_pure_geometry", lambda a: False)
        return render(asset, text, tmp_path, fmt)


@pytest.mark.parametrize("text", [
    "c_fill,w_200,h_150",
    "c_fill,g_auto,w_120,h_200",
    "c_pad,b_auto,w_200,h_200",
    "c_fill,w_160,h_120,e_grayscale",
    "w_300/r_max",
    "c_thumb,g_north_west,w_100,h_100",
    "c_scale,w_0.3",
    "c_fill,w_900,h_300",  # upscales: loaded whole, settled
])
def test_fast_path_gives_the_settled_pixels(stored, tmp_path, monkeypatch, text):
    asset = stored("plain", photo())
    fast = render(asset, text, tmp_path)
    assert np.array_equal(fast, settled(asset, text, tmp_path, monkeypatch))


@pytest.mark.parametrize("text", ["c_fill,w_120,h_90", "a_ignore,c_fill,w_120,h_90", "c_scale,w_0.25",
                                  "a_ignore,c_scale,w_0.25", "c_fill,g_auto,w_100,h_100", "w_100/a_ignore"])
def test_exif_rotated_original(stored, tmp_path, monkeypatch, text):
    asset = stored("turned", photo(400, 300, orientation=6))
    assert (asset.width, asset.height) == (300, 400)  # the row holds the displayed size
    fast = render(asset, text, tmp_path)
    assert np.array_equal(fast, settled(asset, text, tmp_path, monkeypatch))
    if text.startswith("c_scale"):
        assert fast.shape[:2] == (100, 75)  # displayed: turned
    elif text.startswith("a_ignore,c_scale"):
        assert fast.shape[:2] == (75, 100)  # as stored


def test_jpeg_output_matches_too(stored, tmp_path, monkeypatch):
    asset = stored("plain", photo())
    fast = render(asset, "c_fill,w_200,h_150,q_80", tmp_path, "jpg")
    assert np.array_equal(fast, settled(asset, "c_fill,w_200,h_150,q_80", tmp_path, monkeypatch, "jpg"))


def test_q_auto_and_an_alpha_source_match_too(stored, upload, tmp_path, monkeypatch):
    asset = stored("plain", photo())
    text = "c_fill,w_200,h_150,q_auto"
    assert np.array_equal(render(asset, text, tmp_path, "jpg"), settled(asset, text, tmp_path, monkeypatch, "jpg"))
    rgba = pyvips.Image.new_from_buffer(photo(), "").bandjoin(
        (pyvips.Image.black(640, 480) + 255).draw_rect(0, 0, 0, 100, 100, fill=True).cast("uchar"))
    assert upload(rgba.pngsave_buffer(), name="alpha.png", public_id="alpha").status_code == 200
    asset = Asset.objects.get(public_id="alpha")
    for text, fmt in (("c_fill,w_200,h_150", "png"), ("c_fill,w_200,h_150", "jpg"), ("c_scale,w_320", "webp")):
        fast = render(asset, text, tmp_path, fmt)
        assert np.array_equal(fast, settled(asset, text, tmp_path, monkeypatch, fmt)), (text, fmt)
    assert render(asset, "c_scale,w_320", tmp_path, "png").shape == (240, 320, 4)


def test_a_truncated_original_fails_the_same_way(stored, tmp_path, monkeypatch):
    from django.core.files.storage import storages

    data = photo(1200, 900)
    asset = stored("cut", data)
    originals.orientation(asset)
    with open(storages["default"].path(asset.storage_name), "wb") as fh:  # damaged in storage since
        fh.write(data[: len(data) // 2])
    with pytest.raises(executor.RenderError) as fast:
        render(asset, "c_fill,w_200,h_150", tmp_path)
    with pytest.raises(executor.RenderError) as slow:
        settled(asset, "c_fill,w_200,h_150", tmp_path, monkeypatch)
    assert str(fast.value) == str(slow.value)


def test_a_single_crop_streams_without_reading_the_header(stored, tmp_path, monkeypatch):
    asset = stored("plain", photo())
    originals.orientation(asset)  # cached once per version
    opened, settles = [], []
    original_open, original_settle = executor.open_original, pipeline._settle
    monkeypatch.setattr(executor, "open_original", lambda *a, **k: opened.append(1) or original_open(*a, **k))
    monkeypatch.setattr(pipeline, "_settle", lambda *a, **k: settles.append(1) or original_settle(*a, **k))
    assert render(asset, "c_fill,w_200,h_150", tmp_path).shape[:2] == (150, 200)
    assert (opened, settles) == ([], [])
    render(asset, "c_fill,w_200,h_150,e_grayscale", tmp_path)  # an effect: settled as before
    assert opened == [] and settles


def test_missing_original_is_still_a_404(client, stored):
    asset = stored("gone", photo())
    originals.orientation(asset)
    from django.core.files.storage import storages

    storages["default"].delete(asset.storage_name)
    response = client.get(f"/{CLOUD}/image/upload/c_fill,w_50,h_50/gone.jpg")
    assert response.status_code == 404


# --- budgets ---------------------------------------------------------------------------------------

def runaway() -> pyvips.Image:
    return pyvips.Image.gaussnoise(3000, 3000).gaussblur(60)


def test_a_budget_stops_a_runaway_computation():
    budget = limits.Budget(0.2)
    started = time.monotonic()
    with pytest.raises(pyvips.Error):
        with budget.limit(runaway()) as image:
            image.copy_memory()
    assert budget.expired and time.monotonic() - started < 10
    assert "time budget of 0.2 seconds" in str(budget.error())


def test_a_later_deadline_does_not_delay_an_earlier_one():
    small = pyvips.Image.black(10, 10) + 1
    with limits.Budget(60).limit(small):
        budget = limits.Budget(0.2)
        with pytest.raises(pyvips.Error), budget.limit(runaway()) as image:
            image.copy_memory()
        assert small.copy_memory().avg() == 1  # the long budget's image is not killed


def test_an_image_finished_in_time_is_not_killed_later():
    budget = limits.Budget(0.1)
    image = pyvips.Image.black(10, 10) + 2
    with budget.limit(image):
        image = image.copy_memory()
    time.sleep(0.3)
    assert (image + 1).copy_memory().avg() == 3


def test_budgets_in_parallel_threads():
    errors = []

    def one(seconds, make, expect_kill):
        budget = limits.Budget(seconds)
        try:
            with budget.limit(make()) as image:
                image.copy_memory()
            errors.append(None if not expect_kill else "not killed")
        except pyvips.Error:
            errors.append(None if expect_kill else "killed")

    threads = [threading.Thread(target=one, args=(0.2, runaway, True)),
               threading.Thread(target=one, args=(60, lambda: pyvips.Image.black(200, 200) + 1, False))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [None, None]


def test_an_expired_budget_answers_422(client, stored, settings, monkeypatch):
    """A step that runs past the budget is stopped while libvips computes it (not only
    between steps) and answers the documented 422."""
    import dataclasses

    from transforms.ops import registry

    stored("big", photo(1600, 1200))
    blur = registry.load()["blur"]

    def slow(image, value, ctx):  # seconds of work in one step
        return image.gaussblur(200, precision="float")

    monkeypatch.setitem(registry.load(), "blur", dataclasses.replace(blur, apply=slow))
    settings.DAM_RENDER_TIME_BUDGET = 0.5
    started = time.monotonic()
    response = client.get(f"/{CLOUD}/image/upload/c_fill,w_1500,h_1100,e_blur:2000/big.jpg")
    assert response.status_code == 422 and "time budget of 0.5 seconds" in response["X-Cld-Error"]
    assert time.monotonic() - started < 4
