"""Collections in Chromium: create one, add three assets from three folders with the bulk
bar, reorder with the buttons, make a share link and open it in a NEW browser context
without a login (the images really load), then revoke it (404) and let another expire (404).
Screenshots: the collections list, a collection page, the anonymous share page."""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import expect
from django.utils import timezone

from assets.models import Collection, ShareLink
from tests.browser import WIDTHS, browser, page, screenshot  # noqa: F401
from tests.studio.test_library_preview import editor, put  # noqa: F401
from tests.studio_fixtures import log_in

ALL_LOADED = """() => { const imgs = [...document.querySelectorAll('.share-grid img')];
    return imgs.length > 0 && imgs.every(i => i.complete && i.naturalWidth > 0); }"""


@pytest.mark.live
@pytest.mark.django_db(transaction=True)
def test_collection_with_a_share_link_opened_without_login(page, editor, browser, live_server):
    assets = [put("trips/beach", 400, 300, seed=1), put("shoes/red", 300, 400, seed=2),
              put("sale", 320, 320, type="private", seed=3)]
    log_in(page, "/collections/")
    page.get_by_label("Name").fill("Summer picks")
    page.get_by_role("button", name="Create").click()
    collection = Collection.objects.get()
    page.wait_for_url(f"**/collections/{collection.pk}/")

    page.goto("/library/")
    for asset in assets:
        page.locator(f'#results li.tile[data-asset-id="{asset.asset_id}"] input[name=ids]').check()
    page.locator("#bulk-action").select_option("collect")
    page.locator("#bulk-collection").select_option(str(collection.pk))
    page.locator("#bulk").get_by_role("button", name="Apply").click()
    assert "Added 3 assets to the collection Summer picks." in page.locator(".messages").inner_text()

    page.goto("/collections/")
    screenshot(page, "collections-list")
    page.get_by_role("link", name="Summer picks").click()
    page.wait_for_url(f"**/collections/{collection.pk}/")
    expect(page.locator(".collection-item .name")).to_have_text(["sale", "shoes/red", "trips/beach"])
    page.get_by_role("button", name="Move trips/beach up").click()
    expect(page.locator(".collection-item .name")).to_have_text(["sale", "trips/beach", "shoes/red"])
    page.get_by_role("button", name="Move sale down").click()
    expect(page.locator(".collection-item .name")).to_have_text(["trips/beach", "sale", "shoes/red"])

    page.get_by_role("button", name="Create a share link").click()
    link = ShareLink.objects.get()
    url = page.locator(".share-link input[readonly]").input_value()
    assert url == f"{live_server.url}/share/{link.token}/"
    screenshot(page, "collection-page")

    # a fresh context: no cookies, no login
    anonymous = browser.new_context(viewport={"width": WIDTHS[0], "height": 900})
    try:
        guest = anonymous.new_page()
        guest.goto(url)
        assert guest.locator("h1").inner_text() == "Summer picks"
        assert guest.locator("header.top").count() == 0  # no app chrome
        guest.wait_for_function(ALL_LOADED)
        assert guest.locator(".share-grid img").count() == 3
        alts = guest.locator(".share-tile .name").all_inner_texts()
        assert alts == ["trips/beach", "sale", "shoes/red"]  # the collection's order
        assert guest.locator(".share-tile a.download").count() == 3
        screenshot(guest, "collection-share")
        download = guest.request.get(live_server.url + guest.locator(".share-tile a.download").nth(1).get_attribute("href"))
        assert download.status == 200 and download.headers["content-disposition"].startswith("attachment")

        page.get_by_role("button", name="Revoke").click()
        assert guest.goto(url).status == 404
        assert "This link does not work" in guest.locator("h1").inner_text()

        expiring = ShareLink.objects.create(collection=collection, expires_at=timezone.now() + timedelta(hours=1))
        assert guest.goto(f"{live_server.url}/share/{expiring.token}/").status == 200
        ShareLink.objects.filter(pk=expiring.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
        assert guest.goto(f"{live_server.url}/share/{expiring.token}/").status == 404
    finally:
        anonymous.close()
