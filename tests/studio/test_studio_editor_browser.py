"""The Studio editor and the named transformations screen in a real headless Chromium:
a two-step chain with a live preview (size and grey pixels read from the rendered image),
save as named, edit a named transformation and watch its derived count drop, bad steps
showing the server's message, and the editor without JavaScript."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from assets.models import ApiKey, Asset
from tests.browser import browser, page, screenshot  # noqa: F401
from tests.conftest import signed
from tests.studio_fixtures import PREVIEW_READY, add_step, log_in, make_user
from transforms.cloudinary import named
from transforms.models import DerivedImage

pytestmark = [pytest.mark.live, pytest.mark.django_db(transaction=True)]

# max |R-G|, |G-B| over the preview's pixels, read back through a canvas
SPREAD = """img => {
    const c = document.createElement('canvas');
    c.width = img.naturalWidth; c.height = img.naturalHeight;
    const g = c.getContext('2d');
    g.drawImage(img, 0, 0);
    const d = g.getImageData(0, 0, c.width, c.height).data;
    let spread = 0;
    for (let i = 0; i < d.length; i += 4) {
        spread = Math.max(spread, Math.abs(d[i] - d[i + 1]), Math.abs(d[i + 1] - d[i + 2]));
    }
    return spread;
}"""
@pytest.fixture
def editor(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    return make_user("eddie", "editor")


def colourful(width: int, height: int) -> bytes:
    """Vertical bands of red, green, blue and yellow with a light gradient."""
    import numpy as np
    import pyvips

    colours = np.array([[220, 40, 40], [40, 180, 60], [40, 70, 220], [230, 200, 40]], dtype=np.float32)
    band = (np.arange(width) * 4 // width)[None, :].repeat(height, 0)
    array = colours[band] * np.linspace(0.7, 1.0, height, dtype=np.float32)[:, None, None]
    return pyvips.Image.new_from_array(array.astype(np.uint8), interpretation="srgb").write_to_buffer(".jpg")


@pytest.fixture
def photo(db):
    """A real stored image (colour bands), uploaded through the Upload API."""
    key = ApiKey.objects.create(name="tests")
    data = signed({"public_id": "shoes/red"}, key)
    from io import BytesIO

    data["file"] = BytesIO(colourful(400, 300))
    data["file"].name = "red.jpg"
    assert Client().post("/v1_1/demo/image/upload", data).status_code == 200
    return Asset.objects.get(public_id="shoes/red")


def wait_preview(page, fragment: str):
    page.wait_for_function(PREVIEW_READY, arg=fragment)
    return page.locator("#preview")


def test_two_steps_live_preview_then_save_as_named(page, editor, photo):
    log_in(page, "/library/")
    page.get_by_role("link", name="Studio", exact=True).first.click()  # the nav link opens the newest asset
    page.wait_for_url(f"**/studio/{photo.asset_id}/")
    original = wait_preview(page, photo.public_id)
    assert original.evaluate("i => [i.naturalWidth, i.naturalHeight]") == [400, 300]

    add_step(page, "resize", "Resize and crop", "Add resize and crop", **{"Crop mode": "fill", "Width": "200",
                                                                        "Height": "150"})
    preview = wait_preview(page, "/c_fill,h_150,w_200/")
    assert preview.evaluate("i => [i.naturalWidth, i.naturalHeight]") == [200, 150]
    assert preview.evaluate(SPREAD) > 100  # still in colour
    assert "t=c_fill,h_150,w_200" in page.url  # bookmarkable: the chain is in the address
    assert page.locator("#quick-text").input_value() == "c_fill,h_150,w_200"

    add_step(page, "effect", "Effect", "Add effect", Effect="grayscale")
    preview = wait_preview(page, "/c_fill,h_150,w_200/e_grayscale/")
    assert preview.evaluate("i => [i.naturalWidth, i.naturalHeight]") == [200, 150]
    assert preview.evaluate(SPREAD) <= 3  # grey
    assert page.locator("#quick-text").input_value() == "c_fill,h_150,w_200/e_grayscale"
    assert page.locator("#steps li").count() == 2
    python = page.locator("#code-python").input_value()
    assert "{'crop': 'fill', 'height': 150, 'width': 200}," in python and "{'effect': 'grayscale'}," in python
    assert "/c_fill,h_150,w_200/e_grayscale/" in page.locator("#copy-delivery-url").input_value()
    screenshot(page, "studio-two-steps")

    # edit the first step in place
    page.locator("#step-0").get_by_role("link", name="Edit").click()
    page.locator("#edit-form").get_by_label("Width", exact=True).fill("180")
    page.locator("#edit-form").get_by_role("button", name="Save step").click()
    preview = wait_preview(page, "/c_fill,h_150,w_180/e_grayscale/")
    assert preview.evaluate("i => i.naturalWidth") == 180
    page.locator("#step-0").get_by_role("link", name="Edit").click()
    page.locator("#edit-form").get_by_label("Width", exact=True).fill("200")
    page.locator("#edit-form").get_by_role("button", name="Save step").click()
    wait_preview(page, "/c_fill,h_150,w_200/e_grayscale/")

    page.locator("#save-named").get_by_label("Name").fill("gray thumb/1")
    page.get_by_role("button", name="Save as named").click()
    assert "it must not contain /" in page.locator("#save-named .error").inner_text()
    page.locator("#save-named").get_by_label("Name").fill("gray_thumb")
    page.get_by_role("button", name="Save as named").click()
    page.wait_for_url("**/transformations/?created=gray_thumb")
    row = page.locator("li.named-card", has_text="t_gray_thumb")
    assert "c_fill,h_150,w_200/e_grayscale" in row.inner_text()
    assert row.locator(".derived-count").inner_text() == "0"
    assert page.get_by_role("status").inner_text().strip() == "Saved as t_gray_thumb."
    screenshot(page, "named-list")


def test_edit_named_drops_its_derived_count(page, editor, photo, live_server):
    named.create("small", "c_scale,w_40", allowed_for_strict=True)
    named.create("other", "e_sepia", allowed_for_strict=False)
    for path in ("t_small", "t_small/e_grayscale", "t_other"):
        response = page.request.get(f"{live_server.url}/demo/image/upload/{path}/shoes/red.jpg")
        assert response.status == 200, response.headers.get("x-cld-error")
    assert DerivedImage.objects.filter(named__contains="|small|").count() == 2

    log_in(page, "/transformations/")
    small = page.locator("li.named-card", has_text="t_small")
    assert small.locator(".derived-count").inner_text() == "2"
    assert page.locator("li.named-card", has_text="t_other").locator(".derived-count").inner_text() == "1"
    small.get_by_role("link", name="Edit t_small").click()
    page.wait_for_url("**/transformations/small/")
    preview = page.get_by_role("img", name="shoes/red with t_small")
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=preview.element_handle())
    assert preview.evaluate("i => i.naturalWidth") == 40
    screenshot(page, "named-edit")

    page.get_by_label("Definition").fill("c_scale,w_30")
    page.get_by_role("button", name="Save", exact=True).click()
    assert "Removed 2 derived images" in page.get_by_role("status").inner_text()
    assert page.locator("#derived-count").inner_text() == "0"
    preview = page.get_by_role("img", name="shoes/red with t_small")
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=preview.element_handle())
    assert preview.evaluate("i => i.naturalWidth") == 30
    page.get_by_role("link", name="Named transformations").first.click()
    assert page.locator("li.named-card", has_text="t_small").locator(".derived-count").inner_text() == "1"  # the new preview
    assert page.locator("li.named-card", has_text="t_other").locator(".derived-count").inner_text() == "1"

    other = page.locator("li.named-card", has_text="t_other")
    other.get_by_role("button", name="Allowed in strict mode: t_other").click()
    assert page.locator("li.named-card", has_text="t_other").get_by_role("button").first.inner_text() == "Allowed"
    page.locator("li.named-card", has_text="t_other").get_by_role("link", name="Delete t_other").click()
    screenshot(page, "named-delete")
    page.get_by_role("button", name="Delete t_other").click()
    page.wait_for_url("**/transformations/")
    assert page.locator("li.named-card", has_text="t_other").count() == 0
    screenshot(page, "named-list-after-edit")


def test_bad_steps_show_the_servers_message(page, editor, photo):
    log_in(page, f"/studio/{photo.asset_id}/")
    wait_preview(page, photo.public_id)

    # refused by the engine's parser when added: the form says why and keeps the value
    add_step(page, "effect", "Effect", "Add effect", Effect="blur", **{"Strength or argument": "99999"})
    alert = page.locator("#add-effect-form .error")
    assert alert.inner_text() == "Invalid value for e_blur: strength 99999 is out of range 1..2000"
    assert page.locator("#add-effect-form").get_by_label("Strength or argument").input_value() == "99999"
    screenshot(page, "studio-step-form-error")

    # valid syntax that fails when rendered: the preview fetch shows X-Cld-Error, not a broken image
    add_step(page, "overlay", "Image overlay", "Add image overlay",
             **{"Overlay image public_id": "missing/logo", "Gravity": "north_east"})
    error = page.locator("#preview-error")
    error.wait_for(state="visible")
    assert error.inner_text() == "Overlay not found: missing/logo"
    assert page.locator("#preview").is_hidden()
    screenshot(page, "studio-render-error")

    # quick edit with an unknown effect: parsed into steps, the server's message at the bad step
    page.locator("#quick-text").fill("c_fill,w_200,h_150/e_nonsense")
    page.wait_for_function("() => document.querySelectorAll('#steps li').length === 2 && "
                           "!!document.querySelector('#steps li.bad')")
    assert page.locator("#preview-error").inner_text() == "Invalid effect: nonsense"
    assert "Invalid effect: nonsense" in page.locator("#steps li.bad").inner_text()
    assert re.search(r"t=c_fill,h_150,w_200/e_nonsense$", page.url)
    screenshot(page, "studio-syntax-error")

    page.locator("#steps li.bad").get_by_role("button", name=re.compile("^Remove step 2")).click()
    wait_preview(page, "/c_fill,h_150,w_200/")
    assert page.locator("#preview-error").is_hidden()


def test_studio_without_javascript(browser, editor, photo, live_server):
    context = browser.new_context(java_script_enabled=False, base_url=live_server.url,
                                  viewport={"width": 390, "height": 900})
    try:
        page = context.new_page()
        log_in(page, f"/studio/{photo.asset_id}/")
        page.locator("summary", has_text="Resize and crop").click()  # <details>: no JavaScript needed
        page.locator("#add-resize-form").get_by_label("Crop mode").select_option("fill")
        page.locator("#add-resize-form").get_by_label("Width", exact=True).fill("120")
        page.locator("#add-resize-form").get_by_label("Height", exact=True).fill("90")
        page.locator("#add-resize-form").get_by_role("button", name="Add resize and crop").click()
        page.wait_for_url(re.compile(r".*t=c_fill,h_90,w_120$"))
        img = page.locator("#preview")
        page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=img.element_handle())
        assert img.evaluate("i => [i.naturalWidth, i.naturalHeight]") == [120, 90]
        page.locator("#quick-text").fill("c_fill,h_90,w_120/e_nope")
        page.get_by_role("button", name="Apply").click()
        assert page.get_by_role("alert").first.inner_text() == "Invalid effect: nope"
        assert page.locator("#preview").count() == 0
        screenshot(page, "studio-no-js")
    finally:
        context.close()
