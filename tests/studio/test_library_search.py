"""The Media Library's search box with the Search API's expression language: plain words
stay a simple search, an expression (fields, operators, groups, wildcards) goes through
assets.search, and a broken expression is named in a message. A real browser types them."""

from __future__ import annotations

import re

import pytest

from tests.conftest import make_image
from tests.browser import browser, page, screenshot  # noqa: F401
from tests.studio_fixtures import asset_row, log_in, login, users  # noqa: F401


def names(response) -> list[str]:
    return re.findall(r'class="name" title="([^"]+)"', response.content.decode())


def catalogue():
    return [
        asset_row("shoes/red", format="jpg", bytes=500, width=800, tags=["sale", "summer"]),
        asset_row("shoes/blue", format="png", bytes=3000, width=50, context={"alt": "Blue suede shoe"}),
        asset_row("shoes/old/boot", format="webp", bytes=3000, type="private"),
        asset_row("hats/cap", format="jpg", bytes=100, width=400, tags=["summer"]),
    ]


@pytest.mark.django_db
@pytest.mark.parametrize("q, expected", [
    ("summer", ["hats/cap", "shoes/red"]),  # a plain word: the simple search
    ("tags:summer AND format:jpg AND width>500", ["shoes/red"]),
    ("tags:sale OR context.alt=\"Blue suede shoe\"", ["shoes/blue", "shoes/red"]),
    ("folder:shoes/* -type:private", ["shoes/blue", "shoes/red"]),
    ("shoes/b*", ["shoes/blue"]),
    ("bytes>=3000", ["shoes/old/boot", "shoes/blue"]),
])
def test_expressions_filter(login, q, expected):
    catalogue()
    response = login("viewer").get("/library/", {"q": q})
    assert response.status_code == 200
    assert names(response) == expected


@pytest.mark.django_db
def test_a_broken_expression_is_named(login):
    catalogue()
    response = login("viewer").get("/library/", {"q": "tags:(summer"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "Search expression: Unexpected &#x27;(&#x27;" in html and "at position 5" in html
    response = login("viewer").get("/library/", {"q": "colour:red"})
    assert "Unknown field &#x27;colour&#x27; at position 0" in response.content.decode()


@pytest.mark.live
@pytest.mark.django_db(transaction=True)
def test_typing_an_expression_in_the_box(page, users, upload):
    for public_id, (w, h), seed, tags in (("shoes/red", (640, 480), 1, "sale,summer"), ("shoes/blue", (320, 240), 2, ""),
                                          ("hats/cap", (400, 300), 3, "summer")):
        response = upload(make_image(w, h, seed=seed), public_id=public_id, tags=tags or None)
        assert response.status_code == 200, response.content
    log_in(page, "/library/")
    page.get_by_label("Search").fill("tags:summer AND width>500")
    page.wait_for_function("document.querySelectorAll('#results .tile').length === 1")
    assert page.locator("#results .tile .name").all_inner_texts() == ["shoes/red"]
    assert "q=tags" in page.url
    screenshot(page, "library-search-expression")
    page.get_by_label("Search").fill("(tags:summer OR")
    message = page.locator("#results .msg.warning")
    message.wait_for()
    assert "Search expression: Expected a term after OR at position 15" in message.inner_text()
    screenshot(page, "library-search-error")
