"""The Focus Area Refiner in a real headless Chromium: open the Studio, Refiners -> Focus
Area, the Custom tab, drag a custom box on the image, save; a ``c_crop,g_custom``
delivery of the asset then has the dragged box's size; typed coordinates and the drawn
box stay in sync; arrow keys nudge the box; Undo restores the previous revision; a stale
save says to reload; the Studio's preview shows the saved box at once; the controls are
visible at 390 px; the Library's "Has faces" filter and the asset page's overlay."""

from __future__ import annotations

import re
import urllib.request
from io import BytesIO

import pytest
import pyvips
from django.test import Client

from assets import focus
from assets.models import ApiKey, Asset
from tests.browser import browser, page, screenshot  # noqa: F401
from tests.conftest import make_image, signed
from tests.studio_fixtures import PREVIEW_READY, asset_row, log_in, make_user

pytestmark = [pytest.mark.live, pytest.mark.django_db(transaction=True)]
W, H = 400, 300


@pytest.fixture
def editor(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    return make_user("eddie", "editor")


@pytest.fixture
def photo(db):
    key = ApiKey.objects.create(name="tests")
    data = signed({"public_id": "focus/photo"}, key)
    data["file"] = BytesIO(make_image(W, H, "png"))
    data["file"].name = "photo.png"
    assert Client().post("/v1_1/demo/image/upload", data).status_code == 200
    return Asset.objects.get(public_id="focus/photo")


def delivered_size(live_server, asset, chain: str) -> tuple[int, int]:
    with urllib.request.urlopen(f"{live_server.url}/demo/image/upload/{chain}/{asset.public_id}.png") as r:
        image = pyvips.Image.new_from_buffer(r.read(), "")
    return image.width, image.height


def drag(page, start, end):
    """Press at the `start` (fx, fy) fraction of the image and release at `end`."""
    box = page.locator("#focus-stage").bounding_box()
    page.mouse.move(box["x"] + start[0] * box["width"], box["y"] + start[1] * box["height"])
    page.mouse.down()
    page.mouse.move(box["x"] + end[0] * box["width"], box["y"] + end[1] * box["height"], steps=10)
    page.mouse.up()


def coords(page) -> list[int]:
    item = page.locator(".focus-item.selected")
    return [int(item.get_by_label(f"{n} of", exact=False).input_value()) for n in "xywh"]


def saved(page, revision: int):
    page.wait_for_selector(f"#focus[data-revision='{revision}']")


def test_drag_a_custom_box_save_deliver_undo(page, editor, photo, live_server):
    log_in(page, f"/studio/{photo.asset_id}/?t=c_crop,g_custom")
    page.locator("#refiners").get_by_role("link", name="Focus Area").click()
    page.wait_for_url(f"**/studio/{photo.asset_id}/refine/focus/*")
    page.wait_for_selector("#focus[data-ready='1']")
    assert page.get_by_role("tab", name="Face").get_attribute("aria-selected") == "true"
    page.get_by_role("tab", name="Custom").click()
    assert page.locator("#focus-panel-title").inner_text() == "Custom"

    drag(page, (0.2, 0.25), (0.6, 0.75))
    x, y, w, h = coords(page)
    assert abs(x - 80) <= 3 and abs(y - 75) <= 3 and abs(w - 160) <= 3 and abs(h - 150) <= 3, (x, y, w, h)
    rect = page.locator("g.shape.custom.selected rect[data-part=body]")
    assert [int(float(rect.get_attribute(a))) for a in ("x", "y", "width", "height")] == [x, y, w, h]
    page.get_by_role("button", name="Save").click()
    saved(page, 1)
    first = (w, h)
    assert focus.state(Asset.objects.get(pk=photo.pk))["custom"] == [[x, y, w, h]]
    assert abs(delivered_size(live_server, photo, "c_crop,g_custom")[0] - 160) <= 3
    assert delivered_size(live_server, photo, "c_crop,g_custom") == first
    page.wait_for_selector(".focus-preview[data-kind=custom] img")
    assert "?f=1" in page.locator(".focus-preview[data-kind=custom] img").get_attribute("src")

    # typed coordinates move the drawn box; arrow keys nudge it
    width = page.locator(".focus-item.selected").get_by_label("w of", exact=False)
    width.fill("100")
    assert rect.get_attribute("width") == "100"
    page.locator("#focus-stage").focus()
    page.keyboard.press("ArrowRight")
    page.keyboard.press("Shift+ArrowDown")
    assert coords(page) == [x + 1, y + 10, 100, h]
    page.get_by_role("button", name="Save").click()
    saved(page, 2)
    assert delivered_size(live_server, photo, "c_crop,g_custom") == (100, h)
    assert "Revision 2" in page.locator("#focus-history").inner_text()

    # Undo: revision 1's box back, as revision 3
    page.get_by_role("button", name="Undo").click()
    saved(page, 3)
    assert coords(page) == [x, y, w, h]
    assert delivered_size(live_server, photo, "c_crop,g_custom") == first
    screenshot(page, "focus-refiner-custom")

    # a save meanwhile (the REST API): the screen's save is refused with a reload hint
    focus.save(Asset.objects.get(pk=photo.pk), custom=[[0, 0, 50, 50]], source="api")
    drag(page, (0.1, 0.1), (0.3, 0.3))
    page.get_by_role("button", name="Save").click()
    problem = page.locator("#focus-problem")
    problem.wait_for()
    assert "Reload" in problem.inner_text() and page.get_by_role("button", name="Reload").is_visible()
    page.get_by_role("button", name="Reload").click()
    page.wait_for_selector("#focus[data-ready='1'][data-revision='4']")

    # the Studio's preview shows the saved box at once
    page.get_by_role("link", name="Back to Studio").first.click()
    page.wait_for_function(PREVIEW_READY, arg="f=4")
    assert page.locator("#preview").evaluate("i => [i.naturalWidth, i.naturalHeight]") == [50, 50]
    assert "revision 4" in page.locator("#focus-refined").inner_text()
    screenshot(page, "studio-refiners")


def test_faces_and_regions_tabs_keyboard_and_narrow_screen(page, editor, photo, live_server):
    focus.save(photo, faces=[[40, 40, 60, 60]], source="api")
    log_in(page, f"/studio/{photo.asset_id}/refine/focus/")
    page.wait_for_selector("#focus[data-ready='1']")
    assert page.locator("g.shape.faces").count() == 1
    # keyboard: arrow keys between tabs, Add, Delete
    page.get_by_role("tab", name="Face").focus()
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    assert page.get_by_role("tab", name="Region").get_attribute("aria-selected") == "true"
    page.get_by_role("button", name="Add box").click()
    page.get_by_role("button", name="Add polygon").click()
    assert page.locator(".focus-item").count() == 2
    name = page.locator(".focus-item").first.get_by_label("Name")
    name.fill("logo")
    name.press("Enter")
    page.get_by_role("button", name="Save").click()
    saved(page, 2)
    regions = Asset.objects.get(pk=photo.pk).regions
    assert set(regions) == {"logo", "region-2"} and len(regions["logo"]) == 2 and len(regions["region-2"]) == 3
    page.get_by_role("tab", name="Face").click()
    drag(page, (0.7, 0.5), (0.9, 0.9))  # a second face
    assert page.locator("g.shape.faces").count() == 2
    page.locator("#focus-stage").focus()
    page.keyboard.press("Delete")
    assert page.locator("g.shape.faces").count() == 1
    drag(page, (0.7, 0.5), (0.9, 0.9))
    page.get_by_role("button", name="Save").click()
    saved(page, 3)
    assert Asset.objects.get(pk=photo.pk).face_count == 2
    page.wait_for_selector(".focus-preview[data-kind=face] img")
    assert delivered_size(live_server, photo, "c_thumb,g_face,w_200,h_200") == (200, 200)
    paths = screenshot(page, "focus-refiner-faces")
    assert all(p.exists() for p in paths)

    # 390 px: the tabs, the image, the coordinates and Save are all on the screen's width
    page.set_viewport_size({"width": 390, "height": 844})
    page.wait_for_timeout(150)
    page.get_by_role("tab", name="Custom").click()
    page.get_by_role("button", name="Add custom box").click()
    for locator in (page.get_by_role("tab", name="Region"), page.locator("#focus-stage"),
                    page.locator(".focus-item.selected").get_by_label("h of", exact=False),
                    page.get_by_role("button", name="Save"), page.get_by_role("button", name="Undo")):
        locator.scroll_into_view_if_needed()
        box = locator.bounding_box()
        assert locator.is_visible() and box["x"] >= 0 and box["x"] + box["width"] <= 390, box
    page.screenshot(path="/tmp/focus-390.png", full_page=True)


def test_library_filter_and_overlay_in_the_browser(page, editor, photo, live_server):
    focus.save(photo, faces=[[40, 40, 60, 60]], custom=[[200, 100, 100, 80]], source="api")
    asset_row("focus/no-faces")
    assert Asset.objects.get(pk=photo.pk).face_count == 1
    log_in(page, "/library/")
    assert len(page.locator(".tile .name").all_inner_texts()) == 2
    page.locator(".filters summary").click()  # the filters are behind the toolbar's Filters button
    page.get_by_label("Has faces").check()
    page.wait_for_url(re.compile(r".*faces=1.*"))
    assert page.locator(".tile .name").all_inner_texts() == ["focus/photo"]
    screenshot(page, "library-has-faces")
    page.goto(f"/assets/{photo.asset_id}/")
    overlay = page.locator("#focus-overlay")
    image = page.locator(".preview-frame img").bounding_box()
    box = overlay.bounding_box()
    assert abs(box["width"] - image["width"]) < 2 and abs(box["height"] - image["height"]) < 2
    face = page.locator("#focus-overlay g.faces rect").bounding_box()
    assert abs(face["width"] - 60 * image["width"] / W) < 4
    screenshot(page, "asset-focus-overlay")
    page.get_by_label(re.compile("Show focus areas")).uncheck()
    assert overlay.is_hidden()
