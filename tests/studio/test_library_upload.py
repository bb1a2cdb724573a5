"""The Library's upload panel in Chromium: folder and tags chosen at upload, the public_id from the
file name without a random suffix (then with one when asked), a second upload that says it replaced
the asset, an upload from a URL (on the live server itself), Cancel while in flight then Retry, and
Clear finished."""

from __future__ import annotations

import pyvips
import pytest

from assets.models import Asset
from tests.browser import browser, page, screenshot  # noqa: F401
from tests.conftest import make_image
from tests.studio.test_library_preview import put
from tests.studio_fixtures import log_in, make_user

pytestmark = [pytest.mark.live, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def editor(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    return make_user("eddie", "editor")


def open_panel(page):
    if not page.locator("#upload-box").evaluate("d => d.open"):
        page.locator("#upload-toggle").click()
    assert page.locator("#upload-form").is_visible()


def wait_rows(page, n: int) -> None:
    page.wait_for_function(f"document.querySelectorAll('#uploads li.ok, #uploads li.failed, #uploads li.cancelled')"
                           f".length === {n}")


def choose(page, name: str, data: bytes) -> None:
    page.locator("#upload-files").set_input_files(files=[{"name": name, "mimeType": "image/jpeg", "buffer": data}])


def test_upload_into_a_folder_with_tags_then_again_then_unique(page, editor):
    put("old/thing", 120, 90)  # so the panel starts closed
    log_in(page, "/library/")
    assert not page.locator("#upload-form").is_visible()
    open_panel(page)
    form = page.locator("#upload-form")
    assert form.get_by_label("Use file name as public ID").is_checked()
    assert not form.get_by_label("Add a random suffix (unique names)").is_checked()
    form.get_by_label("Folder").fill("pets")
    form.get_by_label("Tags").fill("fluffy, cute")
    choose(page, "cat.jpg", make_image(300, 200, seed=1))
    wait_rows(page, 1)
    row = page.locator("#uploads li").nth(0)
    assert "Done: pets/cat" in row.inner_text() and "replaced" not in row.inner_text()
    asset = Asset.objects.get(public_id="pets/cat")
    assert asset.folder == "pets" and sorted(asset.tag_names) == ["cute", "fluffy"] and asset.width == 300
    screenshot(page, "library-upload")

    choose(page, "cat.jpg", make_image(320, 200, seed=2))  # the same name again: replaces it
    wait_rows(page, 2)
    assert "replaced the existing asset" in page.locator("#uploads li").nth(1).evaluate(
        "li => li.innerText + getComputedStyle(li.querySelector('.status a'), '::after').content")
    assert Asset.objects.filter(public_id__startswith="pets/").count() == 1
    assert Asset.objects.get(public_id="pets/cat").width == 320

    form.get_by_label("Add a random suffix (unique names)").check()
    choose(page, "cat.jpg", make_image(100, 100, seed=3))
    wait_rows(page, 3)
    assert Asset.objects.filter(public_id__startswith="pets/cat_").count() == 1
    page.wait_for_function("document.querySelectorAll('#results .tile').length === 3")  # the grid follows

    page.get_by_role("button", name="Clear finished").click()
    assert page.locator("#uploads li").count() == 0
    assert not page.get_by_role("button", name="Clear finished").is_visible()


def test_upload_from_a_url_on_this_server(page, editor, live_server, settings):
    settings.DAM_ALLOW_PRIVATE_REMOTE_URLS = True  # the live server is on 127.0.0.1
    source = put("src/wide", 500, 250)
    log_in(page, "/library/")
    open_panel(page)
    page.locator("#upload-form").get_by_label("Folder").fill("fetched")
    page.get_by_label("Or upload from a URL").fill(f"{live_server.url}/demo/image/upload/v{source.version}/src/wide.jpg")
    page.get_by_role("button", name="Fetch").click()
    wait_rows(page, 1)
    assert "Done: fetched/wide" in page.locator("#uploads li.ok").inner_text()
    fetched = Asset.objects.get(public_id="fetched/wide")
    assert (fetched.width, fetched.height) == (500, 250)

    page.get_by_label("Or upload from a URL").fill(f"{live_server.url}/demo/image/upload/v1/src/missing.jpg")
    page.get_by_label("Or upload from a URL").press("Enter")
    wait_rows(page, 2)
    failed = page.locator("#uploads li.failed")
    assert failed.locator(".status").inner_text()  # the server's message
    assert failed.get_by_role("button", name="Retry").is_visible()


def test_cancel_while_uploading_then_retry(page, editor):
    log_in(page, "/library/")  # empty: the panel is open
    open_panel(page)
    held = []

    def hold_first(route):
        if not held:
            held.append(route)  # never answered: the upload stays in flight until cancelled
        else:
            route.continue_()

    page.route("**/library/-/upload/", hold_first)
    choose(page, "slow.jpg", make_image(400, 300, seed=5))
    page.wait_for_function("document.querySelector('#uploads li.uploading') !== null")
    for _ in range(100):  # the route handler runs when Playwright next reads the browser's events
        if held:
            break
        page.wait_for_timeout(50)
    assert held
    row = page.locator("#uploads li").nth(0)
    assert Asset.objects.count() == 0
    screenshot(page, "library-upload-queue")
    row.get_by_role("button", name="Cancel slow.jpg").click()
    wait_rows(page, 1)
    assert "Cancelled" in row.inner_text() and Asset.objects.count() == 0
    row.get_by_role("button", name="Retry slow.jpg").click()
    page.wait_for_function("document.querySelector('#uploads li.ok') !== null")
    assert "Done: slow" in row.inner_text()
    stored = Asset.objects.get(public_id="slow")
    assert (stored.width, stored.height) == (400, 300)
    page.get_by_role("button", name="Clear finished").click()
    assert page.locator("#uploads li").count() == 0
    try:
        held[0].abort()
    except Exception:  # noqa: BLE001 - the browser already dropped the aborted request
        pass


def test_a_bad_file_shows_the_servers_message_and_the_image_is_real(page, editor):
    log_in(page, "/library/")
    open_panel(page)
    page.locator("#upload-files").set_input_files(files=[
        {"name": "notes.jpg", "mimeType": "image/jpeg", "buffer": b"not an image"},
        {"name": "ok.png", "mimeType": "image/png", "buffer": make_image(64, 32, fmt="png")}])
    wait_rows(page, 2)
    assert "Invalid image file" in page.locator("#uploads li.failed .status").inner_text()
    page.wait_for_function("document.querySelectorAll('#results .tile img').length === 1")
    img = page.locator("#results .tile img")
    page.wait_for_function("i => i.complete && i.naturalWidth > 0", arg=img.element_handle())
    thumb = pyvips.Image.new_from_buffer(page.request.get(img.get_attribute("src")).body(), "")
    assert thumb.width > 0 and thumb.height > 0
