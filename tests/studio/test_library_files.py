"""Raw and video files in the Library (issue 15, item 4): in Chromium, a raw file's tile shows
its type icon and extension (no broken image), a video's preview dialog plays it, the asset
page of each shows it, and the Studio refuses them with a clear message."""

from __future__ import annotations

import io

import pytest
from django.test import Client

from assets.models import ApiKey, Asset
from tests.browser import browser, page, screenshot  # noqa: F401
from tests.conftest import signed
from tests.media_files import make_webm
from tests.studio.test_accessibility import AXE, RUN_AXE, SCROLLS_SIDEWAYS
from tests.studio_fixtures import log_in, login, make_user, users  # noqa: F401


def accessible(page) -> None:
    """No serious or critical axe violation, and nothing scrolls sideways, at 1280 and 390 px."""
    for width, height in ((1280, 800), (390, 844)):
        page.set_viewport_size({"width": width, "height": height})
        page.add_script_tag(path=str(AXE))
        assert page.evaluate(RUN_AXE) == [], width
        assert not page.evaluate(SCROLLS_SIDEWAYS), width
    page.set_viewport_size({"width": 1280, "height": 900})


def put(resource_type: str, public_id: str, data: bytes, name: str) -> Asset:
    key = ApiKey.objects.first() or ApiKey.objects.create(name="tests")
    payload = signed({"public_id": public_id}, key)
    payload["file"] = io.BytesIO(data)
    payload["file"].name = name
    response = Client().post(f"/v1_1/demo/{resource_type}/upload", payload)
    assert response.status_code == 200, response.content
    return Asset.objects.get(resource_type=response.json()["resource_type"], public_id=public_id)


@pytest.fixture
def files(db):
    return {
        "raw": put("raw", "docs/report.txt", b"quarterly numbers\n" * 50, "report.txt"),
        "zip": put("raw", "docs/bundle.zip", b"PK\x05\x06" + b"\0" * 18, "bundle.zip"),
        "video": put("auto", "films/ramp", make_webm(), "ramp.webm"),
    }


@pytest.mark.django_db
def test_pages_of_raw_and_video_files_render(login, files):
    video = files["video"]
    assert (video.resource_type, video.format, video.width, video.height, video.info["duration"]) == (
        "video", "webm", 160, 90, 2.0)  # read from the WebM header
    client = login("viewer")
    library = client.get("/library/").content.decode()
    assert library.count('class="file-tile"') == 3 and "TXT" in library and "WEBM" in library
    preview = client.get(f"/assets/{files['video'].asset_id}/preview/").content.decode()
    assert '<video src="/demo/video/upload/v' in preview and 'preload="metadata"' in preview
    page = client.get(f"/assets/{files['raw'].asset_id}/").content.decode()
    assert 'class="file-tile file-large"' in page and "/demo/raw/upload/v" in page
    download = client.get(f"/assets/{files['raw'].asset_id}/download/")
    assert download.status_code == 302 and download["Location"].endswith("/docs/report.txt")
    refused = client.get(f"/studio/{files['raw'].asset_id}/", follow=True)
    assert "The Studio edits images only" in refused.content.decode()


@pytest.mark.live
@pytest.mark.django_db(transaction=True)
def test_library_shows_a_raw_tile_and_plays_a_video_in_the_preview(page, files, settings):  # noqa: F811
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    make_user("eddie", "editor")
    log_in(page, "/library/")
    raw_tile = page.locator(f'.tile[data-asset-id="{files["raw"].asset_id}"]')
    assert raw_tile.locator(".file-tile svg.icon").count() == 1
    assert raw_tile.locator(".file-ext").inner_text() == "TXT"
    assert raw_tile.locator("img").count() == 0
    assert "TXT · " in raw_tile.locator(".meta").inner_text()
    assert page.locator(f'.tile[data-asset-id="{files["zip"].asset_id}"] .file-ext').inner_text() == "ZIP"
    screenshot(page, "library-files")
    accessible(page)

    page.locator(f'.thumb[data-preview*="{files["video"].asset_id}"]').click()
    video = page.locator("#preview-dialog video")
    video.wait_for()
    assert video.get_attribute("preload") == "metadata"
    page.wait_for_function("v => v.readyState >= 1 && v.videoWidth > 0", arg=video.element_handle())
    assert video.evaluate("v => [v.videoWidth, v.videoHeight]") == [160, 90]
    video.evaluate("v => { v.muted = true; return v.play(); }")
    page.wait_for_function("v => v.currentTime > 0", arg=video.element_handle())
    screenshot(page, "library-video-preview")
    accessible(page)
    page.keyboard.press("Escape")

    page.goto(f"/assets/{files['raw'].asset_id}/")
    assert page.locator(".preview-frame .file-tile").count() == 1
    screenshot(page, "asset-raw")
    accessible(page)
    page.goto("/library/?view=list")
    row = page.locator(f'tr.tile[data-asset-id="{files["raw"].asset_id}"]')
    assert row.locator(".file-tile svg.icon").count() == 1 and "TXT" in row.inner_text()
    screenshot(page, "library-files-list")
    accessible(page)
    page.goto("/library/?view=grid")
    page.goto("/")  # screens that show every asset as an <img> get the type icon as one
    icons = page.locator('img[src^="data:image/svg+xml"]')
    assert icons.count() == 3
    page.wait_for_function("imgs => imgs.every(i => i.complete && i.naturalWidth > 0)",
                           arg=icons.element_handles())
    screenshot(page, "home-files")
    page.goto(f"/studio/{files['video'].asset_id}/")
    assert "The Studio edits images only" in page.locator(".msg").first.inner_text()
