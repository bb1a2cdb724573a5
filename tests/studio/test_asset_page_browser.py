"""The asset page in Chromium: the alt text typed into its field (saved over htmx) becomes the
image's alt on the asset page, the Library's tile and the preview dialog; the Metadata card
with the palette's swatches; the Download button downloads the original."""

from __future__ import annotations

import io

import pytest
from django.test import Client
from PIL import Image

from assets.models import ApiKey, Asset
from assets.tasks import compute_image_metadata
from tests.browser import browser, page, screenshot  # noqa: F401
from tests.conftest import signed
from tests.images import jpeg_with_exif
from tests.studio_fixtures import log_in, make_user  # noqa: F401


@pytest.fixture
def editor(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    return make_user("eddie", "editor")


def put(public_id: str, data: bytes, read: bool = True) -> Asset:
    key = ApiKey.objects.first() or ApiKey.objects.create(name="tests")
    payload = signed({"public_id": public_id, "context": "sku=R-1"}, key)
    payload["file"] = io.BytesIO(data)
    payload["file"].name = "camera.jpg"
    response = Client().post("/v1_1/demo/image/upload", payload)
    assert response.status_code == 200, response.content
    asset = Asset.objects.get(public_id=public_id)
    if read:  # what the worker runs once a version is stored (no worker in this test)
        compute_image_metadata(asset.pk, asset.version_id)
    return asset


@pytest.mark.live
@pytest.mark.django_db(transaction=True)
def test_alt_text_metadata_and_download(page, editor):
    asset = put("trip/camera", jpeg_with_exif())
    log_in(page, f"/assets/{asset.asset_id}/")
    preview = page.locator(".preview img")
    assert preview.get_attribute("alt") == "trip/camera"

    field = page.get_by_label("Alt text")
    field.fill("Red and blue halves of a test card")
    page.get_by_role("button", name="Save alt text").click()
    page.locator("#context-card .saved").wait_for()
    asset.refresh_from_db()
    assert asset.context == {"sku": "R-1", "alt": "Red and blue halves of a test card"}
    page.reload()
    assert preview.get_attribute("alt") == "Red and blue halves of a test card"
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=preview.element_handle())

    metadata = page.locator("#metadata-card")
    assert "Canon EOS 5D" in metadata.inner_text()
    colours = metadata.locator(".swatch").evaluate_all("s => s.map(e => getComputedStyle(e).backgroundColor)")
    rgb = sorted(tuple(int(v) for v in c[4:-1].split(",")) for c in colours)
    assert len(rgb) == 2 and all(max(abs(a - b) for a, b in zip(got, want)) <= 6
                                 for got, want in zip(rgb, [(20, 60, 200), (220, 30, 30)])), rgb
    screenshot(page, "asset-page")
    page.set_viewport_size({"width": 390, "height": 844})
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.set_viewport_size({"width": 1280, "height": 800})

    with page.expect_download() as info:
        page.get_by_role("link", name="Download original").click()
    assert info.value.suggested_filename == "camera.jpg"
    assert Image.open(info.value.path()).size == (200, 100)

    page.goto("/library/")
    tile = page.locator(f'.thumb[data-preview*="{asset.asset_id}"] img')
    assert tile.get_attribute("alt") == "Red and blue halves of a test card"
    page.locator(f'.thumb[data-preview*="{asset.asset_id}"]').click()
    page.wait_for_function("() => !document.getElementById('preview-dialog').hasAttribute('aria-busy')")
    assert page.locator("#preview-dialog .preview-image img").get_attribute("alt") == "Red and blue halves of a test card"

    # a version the worker has not read yet: the card says so and how to see it
    waiting = put("trip/waiting", jpeg_with_exif(), read=False)
    page.goto(f"/assets/{waiting.asset_id}/")
    status = page.locator("#metadata-card [role=status]")
    assert "Reading the file's metadata" in status.inner_text() and "Reload the page" in status.inner_text()
    screenshot(page, "asset-page-metadata-pending")
    compute_image_metadata(waiting.pk, waiting.version_id)
    page.reload()
    assert "Canon EOS 5D" in page.locator("#metadata-card").inner_text()
