"""The Library's preview dialog and the downloads: in Chromium, a tile opens the preview, the
arrow keys and buttons walk the page, Escape closes it and focus returns to the tile; a chosen
format, width and quality downloads as that (read back with pyvips), also for a private asset
from its page; two selected assets download as a zip of their two originals. Without a browser:
the download's checks and redirects, and the zip's limits."""

from __future__ import annotations

import io
import json
import zipfile

import pytest
import pyvips
from django.test import Client

from assets.models import ApiKey, Asset
from studio import downloads
from tests.browser import browser, page, screenshot  # noqa: F401
from tests.conftest import make_image, signed
from tests.studio_fixtures import asset_row, log_in, login, make_user, users  # noqa: F401


def put(public_id: str, width: int, height: int, type: str = "upload", seed: int = 0) -> Asset:
    """A real stored image, uploaded through the Upload API."""
    key = ApiKey.objects.first() or ApiKey.objects.create(name="tests")
    data = signed({"public_id": public_id, "type": type, "tags": "summer,sale"}, key)
    data["file"] = io.BytesIO(make_image(width, height, seed=seed))
    data["file"].name = f"{public_id.rsplit('/', 1)[-1]}.jpg"
    response = Client().post("/v1_1/demo/image/upload", data)
    assert response.status_code == 200, response.content
    return Asset.objects.get(public_id=public_id, type=type)


# --- without a browser ---------------------------------------------------------------------


@pytest.mark.django_db
def test_download_redirects_to_an_attachment_url(login):
    asset = put("shoes/red", 300, 200)
    client = login("viewer")
    response = client.get(f"/assets/{asset.asset_id}/download/")
    assert response.status_code == 302
    assert "/fl_attachment/" in response["Location"] and response["Location"].endswith("/shoes/red.jpg")
    delivered = client.get(response["Location"])
    assert delivered.status_code == 200
    assert delivered["Content-Disposition"].startswith("attachment")
    assert pyvips.Image.new_from_buffer(b"".join(delivered.streaming_content), "").width == 300

    response = client.get(f"/assets/{asset.asset_id}/download/", {"format": "webp", "width": "120", "quality": "70"})
    assert "/c_limit,w_120/q_70/fl_attachment/" in response["Location"] and response["Location"].endswith(".webp")
    image = pyvips.Image.new_from_buffer(b"".join(client.get(response["Location"]).streaming_content), "")
    assert image.get("vips-loader").startswith("webp") and (image.width, image.height) == (120, 80)


@pytest.mark.django_db
@pytest.mark.parametrize("params,message", [
    ({"format": "gif"}, "Unknown download format"),
    ({"width": "0"}, "width must be a whole number from 1 to 10000"),
    ({"width": "wide"}, "width must be a whole number"),
    ({"quality": "101"}, "quality must be a whole number from 1 to 100"),
])
def test_bad_download_choices_get_a_400_with_a_message(login, params, message):
    asset = asset_row("shoes/blue")
    response = login("viewer").get(f"/assets/{asset.asset_id}/download/", params)
    assert response.status_code == 400
    assert message in json.loads(response.content)["error"]["message"]


@pytest.mark.django_db
def test_zip_limits_and_roles(login, client):
    too_many = login("viewer").post("/library/-/download/", {"ids": [f"id{i}" for i in range(250)]}, follow=True)
    assert f"at most {downloads.MAX_ZIP_ASSETS} assets" in too_many.content.decode()
    huge = [asset_row(f"big/{i}", bytes=downloads.MAX_ZIP_BYTES // 2 + 1) for i in range(2)]
    too_big = client.post("/library/-/download/", {"ids": [a.asset_id for a in huge]}, follow=True)
    assert "a zip holds at most" in too_big.content.decode()
    fileless = client.post("/library/-/download/", {"ids": [asset_row("gone/one").asset_id]}, follow=True)
    assert "The original of gone/one is missing" in fileless.content.decode()
    none = client.post("/library/-/download/", {}, follow=True)
    assert "Select at least one asset" in none.content.decode()
    client.logout()
    assert "/login/" in client.post("/library/-/download/", {"ids": [huge[0].asset_id]})["Location"]


@pytest.mark.django_db
def test_a_viewer_sees_the_selection_and_the_zip_button_but_no_edit_actions(login):
    asset_row("hats/cap")
    html = login("viewer").get("/library/").content.decode()
    assert 'name="ids"' in html and 'id="bulk-zip"' in html and 'id="bulk-action"' not in html


# --- in Chromium ---------------------------------------------------------------------------

@pytest.fixture
def editor(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    return make_user("eddie", "editor")


@pytest.fixture
def three(db):
    """Newest first in the grid: c, b, a."""
    return [put(name, w, h, seed=i) for i, (name, w, h) in enumerate(
        [("trip/a", 640, 480), ("trip/b", 480, 640), ("trip/c", 800, 400)])]


def heading(page) -> str:
    page.wait_for_function("() => !document.getElementById('preview-dialog').hasAttribute('aria-busy')")
    return page.locator("#preview-dialog h2").inner_text()


@pytest.mark.live
@pytest.mark.django_db(transaction=True)
def test_preview_walks_the_page_with_arrows_and_escape_returns_to_the_tile(page, editor, three):
    log_in(page, "/library/")
    page.locator(f'.thumb[data-preview*="{three[2].asset_id}"]').click()
    dialog = page.locator("#preview-dialog")
    assert dialog.evaluate("d => d.open")
    assert heading(page) == "trip/c"
    image = dialog.locator(".preview-image img")
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=image.element_handle())
    assert image.evaluate("i => i.getBoundingClientRect().width") > 400  # large, not a thumbnail
    facts = dialog.locator(".meta-list").inner_text()
    for fact in ("trip/c", "JPG", "800 × 400 px", "trip", "summer", "sale"):
        assert fact in facts
    assert dialog.get_by_role("button", name="Previous asset").is_disabled()
    screenshot(page, "library-preview")

    page.keyboard.press("ArrowRight")
    assert heading(page) == "trip/b"
    dialog.get_by_role("button", name="Next asset").click()
    assert heading(page) == "trip/a"
    assert dialog.get_by_role("button", name="Next asset").is_disabled()
    page.keyboard.press("ArrowRight")  # the last tile: stays
    assert heading(page) == "trip/a"
    page.keyboard.press("ArrowLeft")
    assert heading(page) == "trip/b"

    page.keyboard.press("Escape")
    assert not dialog.evaluate("d => d.open")
    focused = page.evaluate("document.activeElement.getAttribute('data-preview')")
    assert three[1].asset_id in focused
    assert page.url.endswith("/library/")  # never left the grid

    page.keyboard.press("Enter")  # the focused tile opens the preview again; its asset page is one click away
    assert heading(page) == "trip/b"
    page.locator("#preview-dialog").get_by_role("link", name="Open asset page").click()
    page.wait_for_url(f"**/assets/{three[1].asset_id}/")


@pytest.mark.live
@pytest.mark.django_db(transaction=True)
def test_download_a_chosen_format_from_the_preview_and_a_private_asset_from_its_page(page, editor, three):
    private = put("vault/secret", 500, 250, type="private", seed=9)
    log_in(page, "/library/")
    page.locator(f'.thumb[data-preview*="{three[0].asset_id}"]').click()
    assert heading(page) == "trip/a"
    form = page.locator("#preview-dialog .download-form")
    form.get_by_label("Format").select_option("png")
    form.get_by_label("Width (px)").fill("200")
    with page.expect_download() as info:
        form.get_by_role("button", name="Download").click()
    download = info.value
    assert download.suggested_filename == "a.png"
    image = pyvips.Image.new_from_file(download.path())
    assert image.get("vips-loader").startswith("png") and (image.width, image.height) == (200, 150)

    page.goto(f"/assets/{private.asset_id}/")
    form = page.locator(".download-form")
    form.get_by_label("Format").select_option("webp")
    form.get_by_label("Quality").fill("60")
    with page.expect_download() as info:
        form.get_by_role("button", name="Download").click()
    image = pyvips.Image.new_from_file(info.value.path())
    assert image.get("vips-loader").startswith("webp") and (image.width, image.height) == (500, 250)
    assert "/s--" in info.value.url  # signed: a private asset's URL
    screenshot(page, "asset-download")


@pytest.mark.live
@pytest.mark.django_db(transaction=True)
def test_bulk_zip_of_two_selected_assets(page, editor, three):
    log_in(page, "/library/")
    page.get_by_label("Select trip/a").check()
    page.get_by_label("Select trip/c").check()
    with page.expect_download() as info:
        page.get_by_role("button", name="Download zip").click()
    with zipfile.ZipFile(info.value.path()) as archive:
        names = sorted(archive.namelist())
        assert names == ["trip/a.jpg", "trip/c.jpg"]
        sizes = [pyvips.Image.new_from_buffer(archive.read(n), "") for n in names]
    assert [(i.width, i.height) for i in sizes] == [(640, 480), (800, 400)]
    assert info.value.suggested_filename.endswith(".zip")
