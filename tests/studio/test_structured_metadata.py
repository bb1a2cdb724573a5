"""Structured metadata in the Studio (issue 15, item 2): the asset page's card (a widget per
field type, server-side validation messages, nothing saved when one value is refused, a
viewer reads only) and the Library's ``md_<external_id>`` filters. Without a browser for the
rules; in Chromium an editor edits fields on the asset page and filters the Library."""

from __future__ import annotations

import pytest

from assets import metadata_fields
from assets.models import Asset
from tests.browser import browser, page, screenshot  # noqa: F401
from tests.studio.test_library_preview import editor, put  # noqa: F401
from tests.studio_fixtures import asset_row, log_in, login, users  # noqa: F401

COLORS = [{"external_id": "red", "value": "Red"}, {"external_id": "blue", "value": "Blue"},
          {"external_id": "green", "value": "Green"}]


def define_fields():
    metadata_fields.create_field({"external_id": "caption", "label": "Caption", "type": "string",
                                  "validation": {"type": "strlen", "max": 20}})
    metadata_fields.create_field({"external_id": "rating", "label": "Rating", "type": "integer",
                                  "mandatory": True, "default_value": 3,
                                  "validation": {"type": "and", "rules": [
                                      {"type": "greater_than", "equals": True, "value": 1},
                                      {"type": "less_than", "equals": True, "value": 5}]}})
    metadata_fields.create_field({"external_id": "shot_on", "label": "Shot on", "type": "date"})
    metadata_fields.create_field({"external_id": "color", "label": "Main colour", "type": "enum",
                                  "datasource": {"values": COLORS}})
    metadata_fields.create_field({"external_id": "topics", "label": "Topics", "type": "set",
                                  "datasource": {"values": [{"external_id": "sea", "value": "Sea"},
                                                            {"external_id": "sky", "value": "Sky"},
                                                            {"external_id": "city", "value": "City"}]}})
    metadata_fields.create_field({"external_id": "source", "label": "Source", "type": "string",
                                  "restrictions": {"readonly_ui": True}})


# --- without a browser ---------------------------------------------------------------------


@pytest.mark.django_db
def test_card_saves_valid_values_and_refuses_bad_ones_whole(login):
    define_fields()
    asset = asset_row("shots/one")
    asset.metadata = {"rating": 3, "source": "agency"}
    asset.save()
    client = login("editor")
    url = f"/assets/{asset.asset_id}/structured-metadata/"
    page = client.get(f"/assets/{asset.asset_id}/").content.decode()
    assert 'id="structured-metadata-card"' in page and 'type="date"' in page and "(read-only)" in page
    response = client.post(url, {"md_caption": "Sunset", "md_rating": "4", "md_shot_on": "2024-05-01",
                                 "md_color": "blue", "md_topics__present": "1", "md_topics": ["sea", "sky"],
                                 "md_source": "forged"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and "Saved." in response.content.decode()
    asset.refresh_from_db()
    assert asset.metadata == {"caption": "Sunset", "rating": 4, "shot_on": "2024-05-01", "color": "blue",
                              "topics": ["sea", "sky"], "source": "agency"}  # read-only kept
    response = client.post(url, {"md_caption": "x" * 30, "md_rating": "9", "md_color": "", "md_shot_on": "soon"},
                           HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert response.status_code == 422
    assert "fails the field&#x27;s validation" in body and "YYYY-MM-DD" in body and "Nothing was saved" in body
    assert 'value="soon"' in body  # the posted value stays in the field
    asset.refresh_from_db()
    assert asset.metadata["caption"] == "Sunset" and asset.metadata["color"] == "blue"
    response = client.post(url, {"md_rating": ""}, HTTP_HX_REQUEST="true")
    assert response.status_code == 422 and "Rating is required." in response.content.decode()


@pytest.mark.django_db
def test_viewer_reads_and_cannot_post(login):
    define_fields()
    asset = asset_row("shots/two")
    asset.metadata = {"color": "red", "topics": ["sea", "city"]}
    asset.save()
    client = login("viewer")
    body = client.get(f"/assets/{asset.asset_id}/").content.decode()
    assert "<dd>Red</dd>" in body and "<dd>Sea, City</dd>" in body and 'name="md_color"' not in body
    response = client.post(f"/assets/{asset.asset_id}/structured-metadata/", {"md_caption": "x"})
    assert response.status_code == 403
    asset.refresh_from_db()
    assert "caption" not in asset.metadata


@pytest.mark.django_db
def test_library_filters(login):
    define_fields()
    for name, meta in (("a", {"caption": "Blue Sea", "rating": 4, "color": "blue", "topics": ["sea"]}),
                       ("b", {"caption": "city at night", "rating": 2, "color": "red", "topics": ["city", "sky"]}),
                       ("c", {})):
        row = asset_row(f"lib/{name}")
        row.metadata = meta
        row.save()
    client = login("viewer")

    def shown(**params):
        body = client.get("/library/", params).content.decode()
        return sorted(n for n in "abc" if f"lib/{n}" in body)

    assert shown() == ["a", "b", "c"]
    assert shown(md_caption="SEA") == ["a"]
    assert shown(md_rating="2") == ["b"]
    assert shown(md_color="blue") == ["a"]
    assert shown(md_topics="sky") == ["b"]
    assert shown(md_topics="sea", md_color="red") == []
    body = client.get("/library/", {"md_nope": "x", "md_rating": "many"}).content.decode()
    assert "Unknown metadata field" in body and "not a whole number" in body


# --- in Chromium --------------------------------------------------------------------------


@pytest.mark.live
@pytest.mark.django_db(transaction=True)
def test_edit_on_the_asset_page_and_filter_the_library(page, editor):
    define_fields()
    asset = put("shots/beach", 320, 200)
    put("shots/street", 320, 200, seed=1)
    assert Asset.objects.get(pk=asset.pk).metadata == {"rating": 3}  # the mandatory field's default
    log_in(page, f"/assets/{asset.asset_id}/")
    card = page.locator("#structured-metadata-card")
    card.get_by_label("Caption").fill("Beach at dawn")
    card.get_by_label("Rating").fill("7")
    card.get_by_label("Shot on").fill("2024-06-01")
    card.get_by_label("Main colour").select_option(label="Blue")
    card.get_by_label("Sky").check()
    card.get_by_role("button", name="Save metadata").click()
    error = page.locator("#structured-metadata-card .md-field.invalid .error")
    error.wait_for()
    assert "Rating" in error.inner_text() and "invalid" in error.inner_text()
    assert page.locator("#structured-metadata-card").get_by_label("Rating").get_attribute("aria-invalid") == "true"
    assert Asset.objects.get(pk=asset.pk).metadata == {"rating": 3}  # nothing half-written
    screenshot(page, "structured-metadata-error")
    page.locator("#structured-metadata-card").get_by_label("Rating").fill("5")
    page.locator("#structured-metadata-card").get_by_role("button", name="Save metadata").click()
    page.locator("#structured-metadata-card .saved").wait_for()
    assert Asset.objects.get(pk=asset.pk).metadata == {"caption": "Beach at dawn", "rating": 5,
                                                       "shot_on": "2024-06-01", "color": "blue", "topics": ["sky"]}
    for width in (1280, 390):
        page.set_viewport_size({"width": width, "height": 844 if width == 390 else 800})
        page.locator("#structured-metadata-card").screenshot(
            path=str(screenshot.__globals__["SCREENS"] / f"structured-metadata-card-{width}.png"))
        assert page.evaluate("document.documentElement.scrollWidth") <= width  # no horizontal scrolling
    page.set_viewport_size({"width": 1280, "height": 800})
    screenshot(page, "structured-metadata")

    page.goto("/library/")
    page.locator("details.filters summary").click()
    page.get_by_label("Main colour").select_option(label="Blue")
    page.get_by_role("button", name="Apply filters").click()
    page.wait_for_url("**md_color=blue*")
    grid = page.locator("#results")
    grid.get_by_text("beach").first.wait_for()
    assert "street" not in grid.inner_text()
    page.locator("details.filters summary").click()  # closed, so the filtered grid shows
    screenshot(page, "library-metadata-filter")


@pytest.mark.live
@pytest.mark.django_db(transaction=True)
def test_card_and_filters_pass_axe_in_light_and_dark(browser, live_server, editor):  # noqa: F811
    from tests.studio.test_accessibility import AXE, RUN_AXE

    if not AXE.exists():
        pytest.skip(f"axe-core is missing ({AXE})")
    define_fields()
    asset = put("shots/axe", 320, 200)
    for width, height in ((1280, 800), (390, 844)):
        ctx = browser.new_context(viewport={"width": width, "height": height}, base_url=live_server.url,
                                  bypass_csp=True)
        page = ctx.new_page()
        log_in(page, f"/assets/{asset.asset_id}/")
        card = page.locator("#structured-metadata-card")
        card.get_by_label("Shot on").fill("2024-01-01")
        card.get_by_label("Rating").fill("0")
        card.get_by_role("button", name="Save metadata").click()
        page.locator("#structured-metadata-card .error[role=alert]").first.wait_for()  # the error state
        for scheme in ("light", "dark"):
            page.emulate_media(color_scheme=scheme)
            page.add_script_tag(path=str(AXE))
            found = page.evaluate(RUN_AXE)
            assert not found, (width, scheme, found)
            page.locator("#structured-metadata-card").screenshot(
                path=str(screenshot.__globals__["SCREENS"] / f"structured-metadata-error-{scheme}-{width}.png"))
        page.emulate_media(color_scheme="light")
        page.goto("/library/")
        page.locator("details.filters summary").click()
        page.add_script_tag(path=str(AXE))
        assert not page.evaluate(RUN_AXE), width
        assert not page.evaluate("document.documentElement.scrollWidth > document.documentElement.clientWidth")
        ctx.close()
