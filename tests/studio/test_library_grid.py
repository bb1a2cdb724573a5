"""The Media Library grid: the pager (Previous/Next/"Showing a–b of n", also without a browser),
the view and tile-size choices (remembered), and in Chromium: tiles on the first screen at 1280x800
and 390x844, the toolbar, the list view, the bulk bar shown only with a selection, and keyboard
navigation of the tiles (arrows by the rendered columns, Home/End, Space selects, Enter previews)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from studio import library
from tests.browser import browser, page, screenshot  # noqa: F401
from tests.studio.test_library_preview import put
from tests.studio_fixtures import asset_row, log_in, login, make_user, users  # noqa: F401


def names(response) -> list[str]:
    return re.findall(r'class="name" title="([^"]+)"', response.content.decode())


def link(response, rel: str) -> str | None:
    match = re.search(rf'href="([^"]+)"[^>]*rel="{rel}"', response.content.decode())
    return match.group(1).replace("&amp;", "&") if match else None


def showing(response) -> str:
    return re.sub(r"\s+", " ", re.search(r'id="showing">(.*?)</p>', response.content.decode()).group(1))


# --- without a browser ---------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("sort", list(library.SORTS))
def test_previous_and_next_walk_the_pages_both_ways(login, monkeypatch, sort):
    monkeypatch.setattr(library, "PAGE_SIZE", 10)
    monkeypatch.setattr(library.page, "__defaults__", (10, True))
    for i in range(25):
        asset_row(f"p/{i % 4}-{i:02d}", bytes=1000 * (i % 3))
    client = login("viewer")
    first = client.get("/library/", {"sort": sort})
    assert showing(first) == "Showing 1–10 of 25 assets" and link(first, "prev") is None
    second = client.get(link(first, "next"))
    assert showing(second) == "Showing 11–20 of 25 assets"
    third = client.get(link(second, "next"))
    assert showing(third) == "Showing 21–25 of 25 assets" and link(third, "next") is None
    back = client.get(link(third, "prev"))
    assert names(back) == names(second) and showing(back) == "Showing 11–20 of 25 assets"
    start = client.get(link(back, "prev"))
    assert names(start) == names(first) and link(start, "prev") is None
    assert showing(start) == "Showing 1–10 of 25 assets"
    assert names(first) + names(second) + names(third) == [
        a.public_id for a in library.Asset.objects.order_by(*library.SORTS[sort][1])]


@pytest.mark.django_db
def test_bad_before_cursor_and_start_fall_back(login):
    asset_row("a")
    response = login("viewer").get("/library/", {"before": "garbage!", "start": "99999999999999"})
    assert response.status_code == 200 and b"out of date" in response.content
    assert names(response) == ["a"] and showing(response) == "Showing 1–1 of 1 asset"


@pytest.mark.django_db
def test_view_and_density_are_remembered(login):
    asset_row("shoes/red")
    client = login("viewer")
    html = client.get("/library/").content.decode()
    assert 'class="grid density-medium"' in html and "<h1>Library</h1>" in html
    response = client.get("/library/", {"view": "list", "density": "large"})
    assert response.cookies["dam_view"].value == "list" and response.cookies["dam_density"].value == "large"
    html = client.get("/library/shoes/").content.decode()
    assert '<table class="asset-list"' in html and "<h1>shoes</h1>" in html
    assert 'data-asset-id="' in html and 'name="ids"' in html
    assert 'class="grid density-large"' in client.get("/library/", {"view": "grid"}).content.decode()
    html = client.get("/library/", {"view": "bogus", "density": "huge"}).content.decode()
    assert 'class="grid density-large"' in html  # a bad choice keeps the remembered one


# --- in Chromium ---------------------------------------------------------------------------



@pytest.fixture
def editor(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    return make_user("eddie", "editor")


@pytest.fixture
def photos(db):
    """30 real images in two folders, of assorted shapes."""
    shapes = [(320, 240), (240, 320), (400, 200), (300, 300), (200, 400)]
    return [put(f"{'trip' if i % 2 else 'home'}/p{i:02d}", *shapes[i % 5], seed=i) for i in range(30)]


VISIBLE_TILES = """() => [...document.querySelectorAll('#results .tile')].filter(t => {
    const r = t.getBoundingClientRect();
    return r.top >= 0 && r.left >= 0 && r.bottom <= innerHeight && r.right <= innerWidth;
}).length"""


def no_horizontal_scroll(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")


@pytest.mark.live
@pytest.mark.django_db(transaction=True)
def test_first_screen_toolbar_density_and_list_view(page, editor, photos):
    page.set_viewport_size({"width": 1280, "height": 800})
    log_in(page, "/library/")
    assert page.get_by_role("heading", level=1).inner_text() == "Library"
    page.wait_for_function("() => [...document.querySelectorAll('#results .tile img')].every(i => i.complete)")
    assert page.evaluate(VISIBLE_TILES) >= 18  # three rows or more at the default density
    assert not page.locator("#bulk").is_visible() and not page.locator("#upload-form").is_visible()
    toolbar = page.locator(".toolbar").bounding_box()
    assert toolbar["height"] < 60  # one line
    screenshot(page, "library-grid")
    page.set_viewport_size({"width": 390, "height": 844})
    # the folder tree folds when the screen turns narrow (a media-query change event)
    page.wait_for_function("() => !document.querySelector('.folder-box').open")
    assert page.evaluate(VISIBLE_TILES) >= 2 and no_horizontal_scroll(page)
    page.set_viewport_size({"width": 1280, "height": 800})

    page.locator(".filters summary").click()
    page.get_by_label("Format").select_option("jpg")
    page.wait_for_url("**format=jpg**")
    page.locator(".filters summary").click()

    page.get_by_role("link", name="Small tiles").click()  # in place, remembered in a cookie
    assert page.locator("#results .grid.density-small").count() == 1
    small = page.evaluate(VISIBLE_TILES)
    assert small >= 30
    page.reload()
    assert page.locator("#results .grid.density-small").count() == 1
    page.get_by_role("link", name="Large tiles").click()
    assert page.locator("#results .grid.density-large").count() == 1
    assert page.evaluate(VISIBLE_TILES) < small

    page.get_by_role("link", name="List view").click()
    page.wait_for_url("**view=list**")
    table = page.locator("table.asset-list")
    assert table.locator("tbody tr").count() == 30
    row = table.locator("tr", has_text="trip/p01")
    assert "JPG" in row.inner_text() and "240×320" in row.inner_text()
    screenshot(page, "library-list")
    page.goto("/library/trip/")
    assert page.get_by_role("heading", level=1).inner_text() == "trip"
    assert page.locator("table.asset-list tbody tr").count() == 15  # still the list
    page.get_by_role("link", name="Grid view").click()
    page.wait_for_url("**view=grid**")
    assert page.locator("#results .grid .tile").count() == 15


@pytest.mark.live
@pytest.mark.django_db(transaction=True)
def test_bulk_bar_only_with_a_selection(page, editor, photos):
    log_in(page, "/library/")
    bulk = page.locator("#bulk")
    assert not bulk.is_visible()
    page.get_by_label("Select trip/p01").check()
    page.get_by_label("Select home/p02").check()
    assert bulk.is_visible() and page.locator("#selected-count").inner_text() == "2 selected:"
    box = bulk.bounding_box()
    assert box["y"] + box["height"] <= 900 + 1  # at the bottom of the screen (sticky)
    screenshot(page, "library-bulk")
    page.get_by_role("button", name="Clear selection").click()
    assert not bulk.is_visible()
    assert page.locator('input[name="ids"]:checked').count() == 0
    page.get_by_label("Select all on this page").check()
    assert page.locator("#selected-count").inner_text() == "30 selected:"


@pytest.mark.live
@pytest.mark.django_db(transaction=True)
def test_pager_in_the_browser(page, editor):
    for i in range(60):
        asset_row(f"bulk/{i:02d}")
    log_in(page, "/library/")
    assert page.locator("#showing").inner_text() == "Showing 1–48 of 60 assets"
    first_names = page.locator("#results .tile .name").all_inner_texts()
    assert first_names[0] == "bulk/59"
    page.get_by_role("link", name="Next").click()
    page.wait_for_function("document.getElementById('showing').textContent.includes('49–60')")
    assert page.locator("#results .tile").count() == 12 and page.locator("#results .tile .name").first.inner_text() == "bulk/11"
    assert "after=" in page.url
    page.get_by_role("link", name="Previous").click()
    page.wait_for_function("document.getElementById('showing').textContent.includes('1–48')")
    assert page.locator("#results .tile .name").all_inner_texts() == first_names
    assert page.get_by_role("link", name="Previous").count() == 0


@pytest.mark.live
@pytest.mark.django_db(transaction=True)
def test_keyboard_navigation_of_the_grid(page, editor):
    made = [put(f"keys/k{i}", 200, 150, seed=i) for i in range(10)]  # newest first: k9 .. k0
    log_in(page, "/library/")
    thumbs = page.locator("#results .thumb")
    assert thumbs.count() == 10
    # one tile in the tab order
    assert page.evaluate("[...document.querySelectorAll('#results .thumb')].filter(t => t.tabIndex === 0).length") == 1
    page.locator("#sort").focus()
    for _ in range(10):  # Tab on from the toolbar reaches the first tile's controls, not the later tiles'
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.classList.contains('thumb')"):
            break
    focused = "() => document.activeElement.closest('.tile').querySelector('.name').textContent"
    assert page.evaluate(focused) == "keys/k9"
    cols = page.evaluate("""() => { const t = [...document.querySelectorAll('#results .tile')];
        return t.filter(x => x.getBoundingClientRect().top === t[0].getBoundingClientRect().top).length; }""")
    assert 2 <= cols < 10
    page.keyboard.press("ArrowRight")
    assert page.evaluate(focused) == "keys/k8"
    page.keyboard.press("ArrowDown")
    assert page.evaluate(focused) == f"keys/k{8 - cols}"
    page.keyboard.press("ArrowUp")
    page.keyboard.press("ArrowLeft")
    assert page.evaluate(focused) == "keys/k9"
    page.keyboard.press("ArrowLeft")  # the first tile: stays
    assert page.evaluate(focused) == "keys/k9"
    page.keyboard.press("End")
    assert page.evaluate(focused) == "keys/k0"
    assert page.evaluate("[...document.querySelectorAll('#results .thumb')].filter(t => t.tabIndex === 0).length") == 1
    page.keyboard.press("Space")
    assert page.get_by_label("Select keys/k0").is_checked() and page.locator("#bulk").is_visible()
    page.keyboard.press("Space")
    assert not page.get_by_label("Select keys/k0").is_checked() and not page.locator("#bulk").is_visible()
    page.keyboard.press("Home")
    assert page.evaluate(focused) == "keys/k9"
    page.keyboard.press("Enter")
    page.wait_for_function("() => { const d = document.getElementById('preview-dialog');"
                           " return d.open && !d.hasAttribute('aria-busy'); }")
    assert page.locator("#preview-dialog h2").inner_text() == "keys/k9"
    page.keyboard.press("Escape")
    assert page.evaluate(focused) == "keys/k9"
    page.keyboard.press("?")
    assert "Move between tiles" in page.locator("#shortcuts").inner_text()
    assert made


AXE = Path(__file__).resolve().parents[1] / "sdk" / "node" / "node_modules" / "axe-core" / "axe.min.js"


def axe_violations(page) -> list[str]:
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE))
    found = page.evaluate("""async () => (await axe.run(document, {runOnly: ['wcag2a', 'wcag2aa', 'wcag21aa']}))
        .violations.map(v => v.id + ': ' + v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(', '))""")
    return found


@pytest.mark.live
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_axe_finds_nothing_on_the_grid_list_upload_and_bulk_bar(page, editor, scheme):
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: run ./dam test (npm ci in tests/sdk/node)", pytrace=False)
    for i in range(6):
        put(f"a11y/p{i}", 200, 150, seed=i)
    page.emulate_media(color_scheme=scheme)
    log_in(page, "/library/")
    page.get_by_label("Select a11y/p1").check()
    page.locator(".filters summary").click()
    assert axe_violations(page) == []
    page.locator("#upload-toggle").click()  # one drop-down at a time
    assert not page.locator("#format").is_visible() and page.locator("#upload-form").is_visible()
    assert axe_violations(page) == []
    page.keyboard.press("Escape")
    assert not page.locator("#upload-form").is_visible()
    assert page.evaluate("document.activeElement.id") == "upload-toggle"
    page.locator("#upload-toggle").click()
    if scheme == "dark":
        screenshot(page, "library-dark")
    page.goto("/library/?view=list")
    assert axe_violations(page) == []
    page.goto("/library/?view=grid")
