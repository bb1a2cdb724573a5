"""The Background Removal Refiner in a real headless Chromium, with a real worker running
the real ISNet model on a small generated image: add background removal from the Studio's
palette (the preview says "Removing background…" until the cut-out is there), open the
refiner from the "Background Removal" button, paint a remove stroke across the subject
with the mouse, restore and undo, zoom, pan and the opacity slider, then Update
Transformation, and read the DELIVERED image: transparent along the stroke where it was
opaque before, and equal to what the browser previewed."""

from __future__ import annotations

import re
import time
from io import BytesIO

import numpy as np
import pytest
import pyvips
from django.test import Client

from assets.models import ApiKey, Asset
from refiners import background
from tests.browser import browser, page, screenshot  # noqa: F401
from tests.conftest import signed
from tests.studio_fixtures import PREVIEW_READY, add_step, log_in, make_user
from tests.cutouts import scene

pytestmark = [pytest.mark.live, pytest.mark.django_db(transaction=True)]
W, H = 256, 192

# the alpha channel of the refiner's result canvas (rows of W values), read in the page
CANVAS_ALPHA = """() => {
    const c = document.getElementById('refiner-canvas');
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    const out = new Array(c.width * c.height);
    for (let i = 0; i < out.length; i++) out[i] = d[i * 4 + 3];
    return out;
}"""


# synthetic touch pointer events on the refiner's view: [[type, pointerId, clientX, clientY], ...]
TOUCH = """events => {
    const view = document.getElementById('refiner-view');
    for (const [type, id, x, y] of events) {
        view.dispatchEvent(new PointerEvent(type, {
            pointerId: id, pointerType: 'touch', isPrimary: id % 10 === 1, clientX: x, clientY: y, button: 0,
            buttons: type === 'pointerup' ? 0 : 1, bubbles: true, cancelable: true}));
    }
}"""


@pytest.fixture
def editor(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    return make_user("eddie", "editor")


@pytest.fixture
def disc(db):
    key = ApiKey.objects.create(name="tests")
    data = signed({"public_id": "refine/disc"}, key)
    data["file"] = BytesIO(pyvips.Image.new_from_array(scene(W, H)).write_to_buffer(".png"))
    data["file"].name = "disc.png"
    assert Client().post("/v1_1/demo/image/upload", data).status_code == 200
    return Asset.objects.get(public_id="refine/disc")


def canvas_alpha(page) -> np.ndarray:
    return np.array(page.evaluate(CANVAS_ALPHA), dtype=np.uint8).reshape(H, W)


def drag(page, points, box=None):
    """Press the left button at the first (fx, fy) fraction of the canvas and move through the rest."""
    box = box or page.locator("#refiner-canvas").bounding_box()
    at = [(box["x"] + fx * box["width"], box["y"] + fy * box["height"]) for fx, fy in points]
    page.mouse.move(*at[0])
    page.mouse.down()
    for x, y in at[1:]:
        page.mouse.move(x, y, steps=12)
    page.mouse.up()


def delivered(live_server, asset, chain: str = "e_background_removal") -> np.ndarray:
    import urllib.request

    with urllib.request.urlopen(f"{live_server.url}/demo/image/upload/{chain}/{asset.public_id}.png") as r:
        return pyvips.Image.new_from_buffer(r.read(), "").numpy()


def test_paint_a_stroke_and_the_delivered_image_changes(page, editor, disc, celery_worker, live_server):
    log_in(page, f"/studio/{disc.asset_id}/")
    page.locator("summary", has_text="Background removal (AI)").click()
    form = page.locator("#add-bgremoval-form")
    assert form.locator("input[name=hints]").count() == 20  # the documented classes
    form.get_by_label("dog", exact=True).check()
    screenshot(page, "studio-palette-background-removal")
    form.get_by_label("dog", exact=True).uncheck()
    add_step(page, "bgremoval", "Background removal (AI)", "Add background removal (AI)")
    page.wait_for_url(re.compile(r".*t=e_background_removal$"))
    status = page.locator("#preview-status")
    page.wait_for_function("() => (document.querySelector('#preview-status') || {}).textContent?.includes("
                           "'Removing background')", timeout=20_000)
    assert page.locator("#preview-box.pending").count() == 1
    screenshot(page, "studio-removing-background")
    started = time.monotonic()
    page.wait_for_function(PREVIEW_READY, arg="/e_background_removal/", timeout=240_000)
    assert page.locator("#preview-error").is_hidden(), page.locator("#preview-error").inner_text()
    assert re.fullmatch(r"\d+ × \d+ px", status.inner_text()), status.inner_text()
    assert page.locator("#preview").evaluate("i => [i.naturalWidth, i.naturalHeight]") == [W, H]
    print(f"cut-out ready {time.monotonic() - started:.1f}s after the preview first asked")

    page.get_by_role("link", name="Background Removal", exact=True).click()
    page.wait_for_url(f"**/studio/{disc.asset_id}/refine/background/?t=e_background_removal")
    page.wait_for_selector("#refiner[data-ready='1']")
    model = canvas_alpha(page)
    assert model[H // 2, W // 2 - 30:W // 2 + 30].min() > 200 and model[5, 5] < 20  # the model's cut-out
    assert page.locator("#refiner-count").inner_text() == "0 strokes"
    assert page.get_by_role("button", name="Undo").is_disabled()

    # a remove stroke across the subject
    drag(page, [(0.25, 0.5), (0.5, 0.5), (0.75, 0.5)])
    painted = canvas_alpha(page)
    assert painted[H // 2, int(W * 0.3):int(W * 0.7)].max() < 5
    assert np.array_equal(painted[:H // 2 - 20], model[:H // 2 - 20])  # nothing else changed
    assert page.locator("#refiner-count").inner_text() == "1 stroke · unsaved changes"

    # restore brings back the original's pixels (even the background), undo takes it away again
    page.get_by_role("button", name="Restore").click()
    assert page.get_by_role("button", name="Restore").get_attribute("aria-pressed") == "true"
    drag(page, [(0.5, 0.35), (0.5, 0.65)])
    restored = canvas_alpha(page)
    assert restored[H // 2, W // 2] == 255 and restored[int(H * 0.4), W // 2] == 255
    assert page.locator("#refiner-count").inner_text() == "2 strokes · unsaved changes"
    page.get_by_role("button", name="Undo").click()
    assert np.array_equal(canvas_alpha(page), painted)
    assert page.locator("#refiner-count").inner_text() == "1 stroke · unsaved changes"
    page.get_by_role("button", name="Remove", exact=True).click()

    # zoom with the buttons and the wheel, pan with the Pan tool, back to fit
    fit_box = page.locator("#refiner-canvas").bounding_box()
    zoom_text = page.locator("#refiner-zoom").inner_text()
    page.get_by_role("button", name="Zoom in").click()
    zoomed = page.locator("#refiner-canvas").bounding_box()
    assert zoomed["width"] == pytest.approx(fit_box["width"] * 1.25, rel=0.01)
    assert page.locator("#refiner-zoom").inner_text() != zoom_text
    view = page.locator("#refiner-view").bounding_box()
    page.mouse.move(view["x"] + view["width"] / 2, view["y"] + view["height"] / 2)
    page.mouse.wheel(0, -300)
    page.wait_for_function("w => document.getElementById('refiner-canvas').getBoundingClientRect().width > w",
                           arg=zoomed["width"] * 1.2)
    page.get_by_role("button", name="Pan").click()
    before_pan = page.locator("#refiner-canvas").bounding_box()
    page.mouse.move(view["x"] + 100, view["y"] + 100)
    page.mouse.down()
    page.mouse.move(view["x"] + 160, view["y"] + 140, steps=5)
    page.mouse.up()
    after_pan = page.locator("#refiner-canvas").bounding_box()
    assert after_pan["x"] - before_pan["x"] == pytest.approx(60, abs=1)
    assert after_pan["y"] - before_pan["y"] == pytest.approx(40, abs=1)
    assert np.array_equal(canvas_alpha(page), painted)  # panning paints nothing
    # painting while zoomed in lands on the same image point
    page.get_by_role("button", name="Remove", exact=True).click()
    cx, cy = view["x"] + view["width"] / 2, view["y"] + view["height"] / 2  # a point in sight
    fx, fy = (cx - after_pan["x"]) / after_pan["width"], (cy - after_pan["y"]) / after_pan["height"]
    assert 0.05 < fx < 0.95 and 0.05 < fy < 0.95
    drag(page, [(fx, fy)], box=after_pan)
    dot = canvas_alpha(page)
    assert dot[int(fy * H), int(fx * W)] < 5 and page.locator("#refiner-count").inner_text().startswith("2 strokes")
    changed = np.argwhere(dot != painted)
    assert np.hypot(changed[:, 1] - fx * W, changed[:, 0] - fy * H).max() < 13 / 2 + 2  # one brush-sized dot
    page.keyboard.press("Control+z")
    assert np.array_equal(canvas_alpha(page), painted)
    page.get_by_role("button", name="Fit").click()
    assert page.locator("#refiner-canvas").bounding_box()["width"] == pytest.approx(fit_box["width"], rel=0.01)

    # the opacity slider shows the original underneath
    page.locator("#refiner-opacity").fill("60")
    assert page.locator("#refiner-original").evaluate("i => getComputedStyle(i).opacity") == "0.6"
    assert page.locator("#refiner-opacity-out").inner_text() == "60%"
    screenshot(page, "refiner-painted")
    page.locator("#refiner-opacity").fill("0")

    # Update Transformation: saved, back in the Studio, and the delivered image follows
    assert delivered(live_server, disc)[H // 2, W // 2, 3] > 200
    page.get_by_role("button", name="Update Transformation").click()
    page.wait_for_url(re.compile(r".*/studio/[^/]+/\?t=e_background_removal$"))
    assert "Background removal refined (revision 1, 1 stroke)" in page.get_by_role("status").inner_text()
    assert page.locator("#refined").inner_text() == "Refined: revision 1, 1 stroke."
    mask = background.current(disc)
    assert mask.revision == 1 and len(mask.strokes) == 1 and mask.strokes[0]["tool"] == "remove"
    assert mask.created_by == editor
    page.wait_for_function(PREVIEW_READY, arg="/refine/disc.png?r=1", timeout=60_000)
    rgba = delivered(live_server, disc)
    alpha = rgba[..., 3]
    line = slice(int(W * 0.3), int(W * 0.7))
    assert model[H // 2, line].min() > 200 and alpha[H // 2, line].max() < 5  # opaque before, gone now
    assert np.abs(alpha.astype(int) - model.astype(int))[:H // 2 - 20].max() <= 1  # the rest as the model left it
    # what the browser previewed is what the server delivers
    diff = np.abs(alpha.astype(int) - painted.astype(int))
    print(f"browser preview vs delivered alpha: mean {diff.mean():.3f}, max {diff.max()}")
    assert diff.mean() < 1.0 and np.percentile(diff, 99.5) < 40
    screenshot(page, "studio-after-refine")

    # the saved strokes come back when the refiner opens again (undo across sessions)
    page.get_by_role("link", name="Background Removal", exact=True).click()
    page.wait_for_selector("#refiner[data-ready='1']")
    assert page.locator("#refiner-count").inner_text() == "1 stroke"
    assert np.array_equal(canvas_alpha(page), painted)
    page.get_by_role("button", name="Undo").click()
    assert np.array_equal(canvas_alpha(page), model)
    assert page.locator("#refiner-count").inner_text() == "0 strokes · unsaved changes"
    page.get_by_role("button", name="Restore").click()
    drag(page, [(0.1, 0.1), (0.2, 0.2)])
    page.get_by_role("button", name="Remove", exact=True).click()
    drag(page, [(0.5, 0.8)])
    assert page.locator("#refiner-count").inner_text() == "2 strokes · unsaved changes"
    page.get_by_role("button", name="Reset").click()  # all strokes gone, and undoable
    assert np.array_equal(canvas_alpha(page), model)
    assert page.locator("#refiner-count").inner_text() == "0 strokes · unsaved changes"
    page.get_by_role("button", name="Undo").click()
    assert page.locator("#refiner-count").inner_text() == "2 strokes · unsaved changes"
    assert canvas_alpha(page)[int(H * 0.15), int(W * 0.15)] == 255  # the restored corner is back


def test_the_refiner_waits_for_the_cutout_then_opens(page, editor, disc):
    """No cut-out yet: "Removing background…", polled with htmx; once stored the editor opens."""
    from transforms.ai import bgremoval
    from transforms.models import Cutout

    row = Cutout.objects.create(asset=disc, version_id=disc.version_id, options="")  # pending, queued elsewhere
    log_in(page, f"/studio/{disc.asset_id}/refine/background/?t=e_background_removal")
    assert "Removing background…" in page.locator("#refiner-pending").inner_text()
    assert page.locator("#refiner-canvas").count() == 0
    screenshot(page, "refiner-pending")
    assert bgremoval.compute(row.pk) == "done"  # what the worker does, here
    page.wait_for_selector("#refiner[data-ready='1']", timeout=30_000)
    assert page.locator("#refiner-canvas").evaluate("c => [c.width, c.height]") == [W, H]
    assert page.locator("#refiner-count").inner_text() == "0 strokes"
    screenshot(page, "refiner-open")

    # touch: one finger paints, two fingers pinch to zoom (and paint nothing)
    model = canvas_alpha(page)
    box = page.locator("#refiner-canvas").bounding_box()
    at = lambda fx, fy: (box["x"] + fx * box["width"], box["y"] + fy * box["height"])  # noqa: E731
    page.evaluate(TOUCH, [["pointerdown", 11, *at(0.3, 0.5)], ["pointermove", 11, *at(0.5, 0.5)],
                          ["pointermove", 11, *at(0.7, 0.5)], ["pointerup", 11, *at(0.7, 0.5)]])
    painted = canvas_alpha(page)
    assert painted[H // 2, int(W * 0.35):int(W * 0.65)].max() < 5 and model[H // 2, W // 2] > 200
    assert page.locator("#refiner-count").inner_text() == "1 stroke · unsaved changes"
    width = box["width"]
    page.evaluate(TOUCH, [["pointerdown", 21, *at(0.4, 0.3)], ["pointermove", 21, *at(0.41, 0.3)],
                          ["pointerdown", 22, *at(0.6, 0.3)], ["pointermove", 22, *at(0.8, 0.3)],
                          ["pointermove", 21, *at(0.2, 0.3)], ["pointerup", 22, *at(0.8, 0.3)],
                          ["pointerup", 21, *at(0.2, 0.3)]])
    zoomed = page.locator("#refiner-canvas").bounding_box()["width"]
    assert zoomed == pytest.approx(width * 0.6 / 0.19, rel=0.02)  # fingers 0.19 -> 0.6 of the width apart
    # the first finger had begun a stroke: dropped when the second came
    assert np.array_equal(canvas_alpha(page), painted)
    assert page.locator("#refiner-count").inner_text() == "1 stroke · unsaved changes"

    Cutout.objects.filter(pk=row.pk).update(status=Cutout.FAILED, error="the model gave up")
    page.reload()
    assert "Background removal failed: the model gave up" in page.get_by_role("alert").first.inner_text()
