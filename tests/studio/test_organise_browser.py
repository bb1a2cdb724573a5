"""Organising in Chromium: folders created, renamed and (refused while not empty) deleted from
the sidebar; a tile dragged onto a folder moves its asset, several selected tiles move
together; the asset page's Manage card. Screenshots: the sidebar with its folder actions,
the Manage card."""

from __future__ import annotations

import pytest

from assets.models import Asset, Folder
from tests.browser import browser, page, screenshot  # noqa: F401
from tests.studio.test_library_preview import editor, put  # noqa: F401
from tests.studio_fixtures import log_in


def tile(page, asset):
    return page.locator(f'#results li.tile[data-asset-id="{asset.asset_id}"]')


@pytest.mark.live
@pytest.mark.django_db(transaction=True)
def test_folders_from_the_sidebar_and_drag_move(page, editor):
    red, blue, green = put("shoes/red", 300, 200, seed=1), put("shoes/blue", 200, 300, seed=2), put("hats/green", 240, 240, seed=3)
    log_in(page, "/library/")
    sidebar = page.locator("aside.folders")
    sidebar.get_by_text("New folder").click()
    sidebar.locator("#new-folder-name").fill("archive")
    sidebar.get_by_role("button", name="Create").click()
    page.wait_for_url("**/library/archive/")
    assert "Created the folder archive." in page.locator(".messages").inner_text()
    assert Folder.objects.filter(path="archive").exists()

    # a bad name: a clear message, nothing created
    sidebar.get_by_text("New folder").click()
    sidebar.locator("#new-folder-name").fill("a?b")
    sidebar.get_by_role("button", name="Create").click()
    assert "Folder not created" in page.locator(".messages").inner_text()
    assert not Folder.objects.filter(path__contains="?").exists()

    # rename the current folder
    page.goto("/library/archive/")
    sidebar.get_by_text("Rename folder").click()
    sidebar.get_by_label("New name of").fill("old")
    sidebar.get_by_role("button", name="Rename").click()
    page.wait_for_url("**/library/old/")
    assert Folder.objects.filter(path="old").exists() and not Folder.objects.filter(path="archive").exists()

    # drag one tile from "All assets" onto the folder
    page.goto("/library/")
    source = tile(page, red)
    assert source.get_attribute("draggable") == "true"
    source.drag_to(sidebar.locator('a[data-folder="old"]'))
    page.wait_for_function("() => document.querySelector('.messages') && "
                           "document.querySelector('.messages').textContent.includes('Moved 1 asset to old')")
    red.refresh_from_db()
    assert red.public_id == "old/red"
    assert "old/red" in tile(page, red).locator(".name").inner_text()  # the grid shows its new name

    # two selected tiles dragged together onto "hats"
    tile(page, blue).locator("input[name=ids]").check()
    tile(page, green).locator("input[name=ids]").check()
    tile(page, blue).drag_to(sidebar.locator('a[data-folder="old"]'))
    page.wait_for_function("() => document.querySelector('.messages').textContent.includes('Moved 2 assets to old')")
    assert sorted(Asset.objects.values_list("public_id", flat=True)) == ["old/blue", "old/green", "old/red"]

    # deleting a folder that holds assets is refused, with the count
    page.goto("/library/old/")
    screenshot(page, "organise-sidebar")
    sidebar.get_by_role("button", name="Delete folder…").click()
    assert "The folder old holds 3 assets" in page.locator(".messages").inner_text()
    assert Folder.objects.filter(path="old").exists()

    # an empty folder: confirm, then gone
    page.goto("/library/shoes/")
    sidebar.get_by_role("button", name="Delete folder…").click()
    page.get_by_role("button", name="Delete the folder").click()
    page.wait_for_url("**/library/")
    assert "Deleted the folder shoes" in page.locator(".messages").inner_text()
    assert not Folder.objects.filter(path="shoes").exists()


@pytest.mark.live
@pytest.mark.django_db(transaction=True)
def test_the_manage_card_renames_moves_and_replaces(page, editor, tmp_path):
    import pyvips

    asset = put("shoes/red", 320, 200, seed=4)
    put("shoes/blue", 100, 100, seed=5)
    log_in(page, f"/assets/{asset.asset_id}/")
    card = page.locator("#manage")
    card.locator("summary", has_text="Rename").click()
    card.get_by_label("New public_id").fill("shoes/blue")
    card.get_by_role("button", name="Rename").click()
    assert "shoes/blue is taken by another asset" in page.locator(".messages").inner_text()
    card.locator("summary", has_text="Rename").click()
    card.get_by_label("New public_id").fill("shoes/crimson")
    card.get_by_role("button", name="Rename").click()
    assert page.locator("h1.asset-title").inner_text() == "shoes/crimson"

    card.locator("summary", has_text="Move to folder").click()
    card.get_by_label("Folder (empty: the root)").fill("sale")
    card.get_by_role("button", name="Move").click()
    assert page.locator("h1.asset-title").inner_text() == "sale/crimson"

    img = page.locator("figure.preview img")
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=img.element_handle())
    old_version = Asset.objects.get(pk=asset.pk).version
    new_file = tmp_path / "tall.png"
    pyvips.Image.black(150, 300, bands=3).draw_rect([255, 0, 0], 0, 0, 150, 300, fill=True).write_to_file(str(new_file))
    card.locator("summary", has_text="Replace with a new version").click()
    card.get_by_label("New file").set_input_files(str(new_file))
    card.get_by_text("Replace with a new version").scroll_into_view_if_needed()
    screenshot(page, "organise-manage-card")
    card.get_by_role("button", name="Replace").click()
    assert "is now version" in page.locator(".messages").inner_text()
    asset.refresh_from_db()
    assert asset.version > old_version and (asset.width, asset.height) == (150, 300)
    img = page.locator("figure.preview img")
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=img.element_handle())
    # the preview now shows the new pixels: tall and red
    assert img.evaluate("i => i.naturalHeight > i.naturalWidth")
    red = img.evaluate("""i => { const c = document.createElement('canvas'); c.width = 8; c.height = 8;
        const g = c.getContext('2d'); g.drawImage(i, 0, 0, 8, 8); const d = g.getImageData(4, 4, 1, 1).data;
        return [d[0], d[1], d[2]]; }""")
    assert red[0] > 200 and red[1] < 40 and red[2] < 40
