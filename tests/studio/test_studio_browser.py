"""The Studio in a real headless Chromium: login, drag-and-drop upload with progress, search,
the asset page (tag edit, copy button), bulk delete with its confirmation page."""

from __future__ import annotations

import base64
import re

import pytest

from assets.models import Asset
from tests.browser import browser, page, screenshot  # noqa: F401
from tests.conftest import make_image
from tests.studio_fixtures import PASSWORD, make_user

pytestmark = [pytest.mark.live, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def editor(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    return make_user("eddie", "editor")


def log_in(page, username="eddie"):
    page.goto("/login/?next=/library/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/library/")


def drop_files(page, selector: str, files: list[tuple[str, str, bytes]]) -> None:
    """Drop files on an element the way a person drags them from the desktop."""
    payload = [{"name": n, "type": t, "data": base64.b64encode(d).decode()} for n, t, d in files]
    transfer = page.evaluate_handle("""(files) => {
        const dt = new DataTransfer();
        for (const f of files) {
            const bytes = Uint8Array.from(atob(f.data), c => c.charCodeAt(0));
            dt.items.add(new File([bytes], f.name, {type: f.type}));
        }
        return dt;
    }""", payload)
    for event in ("dragenter", "dragover", "drop"):
        page.dispatch_event(selector, event, {"dataTransfer": transfer})


def test_login(page, editor):
    page.goto("/library/")
    assert "/login/" in page.url
    page.get_by_label("Username").fill("eddie")
    page.get_by_label("Password").fill("wrong password")
    page.get_by_role("button", name="Log in").click()
    assert page.get_by_role("alert").is_visible()
    screenshot(page, "login-error")
    log_in(page)
    assert page.locator(".badge", has_text="editor").is_visible()
    screenshot(page, "library-empty")


def test_drag_and_drop_upload(page, editor):
    log_in(page)
    big = make_image(1600, 1200, seed=1)  # large enough for progress events
    drop_files(page, "#dropzone", [("beach.jpg", "image/jpeg", big),
                                   ("city.png", "image/png", make_image(300, 200, fmt="png", seed=2)),
                                   ("notes.jpg", "image/jpeg", b"this is not an image at all")])
    uploads = page.locator("#uploads li")
    page.wait_for_function("document.querySelectorAll('#uploads li.ok, #uploads li.failed').length === 3")
    assert uploads.count() == 3
    for name in ("beach.jpg", "city.png"):
        item = page.locator("#uploads li.ok", has_text=name)
        assert item.locator("progress").evaluate("p => p.value") == 100
        assert "Done:" in item.inner_text()
    failed = page.locator("#uploads li.failed", has_text="notes.jpg")
    assert "Invalid image file" in failed.locator(".status").inner_text()
    page.wait_for_function("document.querySelectorAll('#results .tile').length === 2")
    assert Asset.objects.count() == 2
    assert page.locator("#all-count").inner_text() == "2"  # the folder tree's count follows
    screenshot(page, "upload")


def put(upload, public_id, seed, **params):
    response = upload(make_image(320, 240, seed=seed), public_id=public_id, **params)
    assert response.status_code == 200, response.content


def test_search(page, editor, upload):
    put(upload, "shoes/red", 1, tags="sale")
    put(upload, "shoes/blue", 2)
    put(upload, "hats/cap", 3, context="alt=A red cap")
    log_in(page)
    page.get_by_label("Search").fill("red")
    page.wait_for_function("document.querySelectorAll('#results .tile').length === 2")
    assert "q=red" in page.url  # the search is in the address, so it can be shared and reloaded
    names = page.locator("#results .tile .name").all_inner_texts()
    assert sorted(names) == ["hats/cap", "shoes/red"]
    screenshot(page, "search")
    page.get_by_label("Search").fill("")
    page.locator(".filters summary").click()  # the filters are behind the toolbar's Filters button
    page.locator("#format").select_option("jpg")
    page.wait_for_function("document.querySelectorAll('#results .tile').length === 3")
    page.goto("/library/shoes/")
    assert page.locator("#results .tile").count() == 2
    screenshot(page, "folder")


def test_asset_page(page, editor, upload):
    assert upload(make_image(800, 533, seed=4), public_id="shoes/red", tags="sale").status_code == 200
    asset = Asset.objects.get(public_id="shoes/red")
    log_in(page)
    page.locator("#results .tile a.name").first.click()
    page.wait_for_url(f"**/assets/{asset.asset_id}/")
    assert page.locator(".preview img").evaluate("img => img.complete && img.naturalWidth > 0")
    tags = page.get_by_label("Tags")
    tags.fill("sale, summer")
    page.get_by_role("button", name="Save tags").click()
    page.locator("#tags-card .saved").wait_for()
    assert asset.tag_names == ["sale", "summer"]
    assert page.locator("#tags-card .chips li").all_inner_texts() == ["sale", "summer"]
    # a bad tag shows its message in place
    page.get_by_label("Tags").fill("ok, " + "x" * 300)
    page.get_by_role("button", name="Save tags").click()
    page.locator("#tags-card .error").wait_for()
    assert "longer than 255" in page.locator("#tags-card .error").inner_text()
    page.get_by_label("Tags").fill("sale, summer")
    copy = page.locator('[data-copy="copy-url"]')
    copy.click()
    page.wait_for_function("document.querySelector('[data-copy=\"copy-url\"]').textContent === 'Copied'")
    copied = page.evaluate("navigator.clipboard.readText()")
    assert re.search(rf"/demo/image/upload/v{asset.version}/shoes/red\.jpg$", copied)
    screenshot(page, "asset")


def test_bulk_delete_with_confirmation(page, editor, upload):
    for seed, name in enumerate(("a/one", "a/two", "a/three")):
        put(upload, name, seed)
    log_in(page)
    page.goto("/library/a/")
    page.get_by_label("Select a/one").check()
    page.get_by_label("Select a/two").check()
    assert page.locator("#selected-count").inner_text() == "2 selected:"
    assert page.locator("#bulk-tags").is_visible() and not page.locator("#bulk-folder").is_visible()
    page.locator("#bulk-action").select_option("delete")
    page.get_by_role("button", name="Apply").click()
    page.get_by_role("heading", name="Delete 2 assets?").wait_for()
    screenshot(page, "confirm-delete")
    page.get_by_role("button", name="Delete 2 assets").click()
    page.wait_for_url("**/library/a/")
    assert page.locator(".msg.success").inner_text() == "Deleted 2 assets."
    assert page.locator("#results .tile .name").all_inner_texts() == ["a/three"]
    assert list(Asset.objects.values_list("public_id", flat=True)) == ["a/three"]
    screenshot(page, "after-delete")
