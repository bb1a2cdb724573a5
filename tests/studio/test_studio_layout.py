"""The Studio built around the image, in a real headless Chromium: the large preview keeps the
transparency the chain makes (a JPEG's preview is a PNG: r_max's corners read back with alpha 0),
the before/after toggle shows the original, the result downloads through fl_attachment, the code
snippets sit in tabs, and Save as named refuses a bad transformation or name with a visible error."""

from __future__ import annotations

import pytest

from studio import chain as chains
from tests.browser import browser, page, screenshot  # noqa: F401
from tests.studio.test_studio_editor_browser import editor, photo  # noqa: F401
from tests.studio_fixtures import PREVIEW_READY, asset_row, log_in

pytestmark = [pytest.mark.live, pytest.mark.django_db(transaction=True)]

# [alpha at the top-left corner, alpha at the centre] of an image, read back through a canvas
ALPHA = """img => {
    const c = document.createElement('canvas');
    c.width = img.naturalWidth; c.height = img.naturalHeight;
    const g = c.getContext('2d');
    g.drawImage(img, 0, 0);
    const at = (x, y) => g.getImageData(x, y, 1, 1).data[3];
    return [at(1, 1), at(c.width >> 1, c.height >> 1)];
}"""


def open_studio(page, photo, chain: str = ""):  # noqa: F811
    log_in(page, f"/studio/{photo.asset_id}/" + (f"?t={chain}" if chain else ""))
    page.wait_for_function(PREVIEW_READY, arg=f"/{chain}/" if chain else photo.public_id)
    return page.locator("#preview")


def test_preview_format_keeps_alpha_for_transformed_images():
    jpeg = asset_row("x/photo", save=False)
    png = asset_row("x/logo", format="png", save=False)
    assert chains.preview_format(jpeg, "e_background_removal") == "png"
    assert chains.preview_format(jpeg, "r_max") == "png"
    assert chains.preview_format(jpeg, "") == "jpg"  # the untransformed original is shown as it is
    assert chains.preview_format(png, "e_background_removal") == "png"


def test_transparent_preview_before_after_and_download(page, editor, photo):  # noqa: F811
    preview = open_studio(page, photo, "r_max")
    src = preview.get_attribute("src")
    assert src.endswith("/shoes/red.png"), src
    assert preview.evaluate("i => [i.naturalWidth, i.naturalHeight]") == [400, 300]
    corner, centre = preview.evaluate(ALPHA)
    assert corner == 0 and centre == 255  # the rounded corners are transparent, not white
    # the delivery URL to copy stays in the asset's own format
    assert page.locator("#copy-delivery-url").input_value().endswith("/r_max/v%d/shoes/red.jpg" % photo.version)
    screenshot(page, "studio-layout-transparent")

    # before/after: the toggle shows the untransformed original in place of the result
    original = page.locator("#original")
    assert original.is_hidden()
    page.get_by_label("Show the original").check()
    original.wait_for(state="visible")
    assert preview.is_hidden()
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=original.element_handle())
    assert original.evaluate(ALPHA) == [255, 255]  # the JPEG: no transparent corners
    assert "r_max" not in original.get_attribute("src")
    screenshot(page, "studio-layout-original")
    page.get_by_label("Show the original").uncheck()
    assert preview.is_visible() and original.is_hidden()

    # download the result: fl_attachment in the chain, in the asset's format and as the transparent PNG
    links = page.locator("#downloads a")
    assert links.all_inner_texts() == ["JPG", "PNG"]
    for link, kind in zip(links.all(), ("image/jpeg", "image/png")):
        href = link.get_attribute("href")
        assert "/r_max/fl_attachment/" in href
        response = page.request.get(href)
        assert response.status == 200, response.headers.get("x-cld-error")
        assert response.headers["content-type"] == kind
        assert response.headers["content-disposition"].startswith("attachment")
    with page.expect_download() as download:
        links.nth(1).click()
    assert download.value.suggested_filename.endswith(".png")


def test_code_snippets_in_tabs(page, editor, photo):  # noqa: F811
    open_studio(page, photo, "e_grayscale")
    tabs = page.get_by_role("tablist").get_by_role("tab")
    assert tabs.all_inner_texts() == ["URL", "Python", "Node", "cURL"]
    assert page.locator("#copy-delivery-url").is_visible() and page.locator("#code-python").is_hidden()
    page.get_by_role("tab", name="Python").click()
    assert page.locator("#code-python").is_visible() and page.locator("#copy-delivery-url").is_hidden()
    assert "{'effect': 'grayscale'}" in page.locator("#code-python").input_value()
    page.keyboard.press("ArrowRight")  # the tabs pattern: arrows move between tabs
    assert page.get_by_role("tab", name="Node").get_attribute("aria-selected") == "true"
    assert page.locator("#code-node").is_visible() and page.locator("#code-python").is_hidden()
    screenshot(page, "studio-layout-tabs")
    # a change of the chain re-renders the editor: the chosen tab stays, with the new code
    page.locator("#quick-text").fill("e_sepia")
    page.wait_for_function(PREVIEW_READY, arg="/e_sepia/")
    assert page.locator("#code-node").is_visible()
    assert "sepia" in page.locator("#code-node").input_value()


def test_save_as_named_refuses_with_a_visible_error(page, editor, photo):  # noqa: F811
    open_studio(page, photo, "e_grayscale")
    page.locator("#quick-text").fill("c_fill,w_200,h_150/e_nonsense")
    page.wait_for_function("() => !!document.querySelector('#steps li.bad')")
    refused = page.locator("#save-refused")
    assert refused.is_visible() and "Invalid effect: nonsense" in refused.inner_text()
    assert page.get_by_role("button", name="Save as named").is_disabled()

    page.locator("#quick-text").fill("c_fill,w_200,h_150")
    page.wait_for_function(PREVIEW_READY, arg="/c_fill,h_150,w_200/")
    assert page.locator("#save-refused").count() == 0
    page.locator("#save-named").get_by_label("Name").fill("bad/name")
    page.get_by_role("button", name="Save as named").click()
    error = page.locator("#save-error")
    error.wait_for()
    assert "it must not contain /" in error.inner_text()
    name = page.locator("#save-name")
    assert name.evaluate("e => document.activeElement === e")  # focused, so scrolled into view
    assert name.get_attribute("aria-invalid") == "true"
    box, height = error.bounding_box(), page.viewport_size["height"]
    assert 0 <= box["y"] and box["y"] + box["height"] <= height  # seen without scrolling
    screenshot(page, "studio-layout-save-error")
