"""What every screen shares, in a real Chromium: styled 403/404/500 pages inside the layout with a
way back (the API keeps its JSON errors), the confirmation before revoking an API key, the `?`
keyboard-shortcuts overlay, the favicon, dark mode from the system setting, reduced motion, and
focus rings and input borders at 3:1 contrast."""

from __future__ import annotations

import re

import pytest
from django.test import RequestFactory
from django.urls import get_resolver

from assets.models import ApiKey
from tests.browser import browser, page, screenshot  # noqa: F401
from tests.studio_fixtures import PASSWORD, make_user

pytestmark = [pytest.mark.live, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def people(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    return {"admin": make_user("root", "superuser"), "viewer": make_user("vera", "viewer")}


def log_in(page, username):
    page.goto("/login/?next=/library/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/library/")


def rgb(css: str) -> tuple[float, ...]:
    return tuple(float(v) for v in re.findall(r"[\d.]+", css)[:3])


def luminance(css: str) -> float:
    def channel(v):
        v /= 255
        return v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4
    r, g, b = (channel(v) for v in rgb(css))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: str, b: str) -> float:
    hi, lo = sorted((luminance(a), luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def style(page, selector: str, prop: str) -> str:
    return page.locator(selector).first.evaluate(f"e => getComputedStyle(e).{prop}")


def test_404_page_inside_the_layout_with_a_way_back(page, people):
    log_in(page, "root")
    response = page.goto("/assets/0123456789abcdef0123456789abcdef/")
    assert response.status == 404
    assert page.get_by_role("heading", level=1).inner_text() == "Page not found"
    assert page.locator("nav.sections").get_by_role("link", name="Library").is_visible()  # the site's layout
    assert page.locator(".error-page").evaluate("e => getComputedStyle(e).textAlign") == "center"  # app.css applies
    screenshot(page, "error-404")
    page.emulate_media(color_scheme="dark")
    screenshot(page, "error-404-dark")
    page.emulate_media(color_scheme="light")
    page.get_by_role("link", name="Back to the library").click()
    page.wait_for_url("**/library/")
    assert page.locator("#results").is_visible()


def test_403_page_for_a_screen_the_role_may_not_see(page, people):
    log_in(page, "vera")
    response = page.goto("/admin/keys/")
    assert response.status == 403
    assert page.get_by_role("heading", level=1).inner_text() == "Not allowed"
    assert "needs the admin role" in page.locator(".error-page").inner_text()
    assert page.get_by_role("link", name="Back to the library").is_visible()


def test_api_and_non_html_callers_keep_json_errors(page, people):
    log_in(page, "root")
    api = page.request.get("/v1_1/demo/no/such/call")
    assert api.status == 404 and "message" in api.json()["error"]
    asked_json = page.request.get("/assets/0123456789abcdef0123456789abcdef/", headers={"Accept": "application/json"})
    assert asked_json.status == 404 and asked_json.headers["content-type"].startswith("application/json")
    assert "nothing at this address" in asked_json.json()["error"]["message"]
    forbidden = page.request.get("/admin/keys/", headers={"Accept": "*/*"})  # an admin: allowed
    assert forbidden.status == 200


def test_500_page_is_wired_and_renders_without_the_request_context(db):
    handler = get_resolver().resolve_error_handler(500)
    page_answer = handler(RequestFactory().get("/library/", HTTP_ACCEPT="text/html"))
    body = page_answer.content.decode()
    assert page_answer.status_code == 500 and "Something went wrong" in body and 'href="/library/"' in body
    assert "app.css" in body  # inside the layout
    api_answer = handler(RequestFactory().get("/v1_1/demo/resources/image", HTTP_ACCEPT="text/html"))
    assert api_answer.status_code == 500 and api_answer["Content-Type"].startswith("application/json")


def test_revoking_an_api_key_needs_confirmation(page, people):
    key = ApiKey.objects.create(name="ci", role="viewer")
    log_in(page, "root")
    page.goto("/admin/keys/")
    row = page.locator("tr", has_text=key.key)
    row.get_by_role("button", name="Revoke").click()
    assert page.get_by_role("heading", level=1).inner_text().startswith("Revoke API key")
    key.refresh_from_db()
    assert key.active  # asking is not revoking
    screenshot(page, "api-key-revoke-confirm")
    page.get_by_role("link", name="Cancel").click()
    page.wait_for_url("**/admin/keys/")
    key.refresh_from_db()
    assert key.active
    page.locator("tr", has_text=key.key).get_by_role("button", name="Revoke").click()
    page.get_by_role("button", name="Revoke key").click()
    page.wait_for_url("**/admin/keys/")
    assert "Revoked API key" in page.locator(".messages").inner_text()
    key.refresh_from_db()
    assert not key.active
    assert page.request.get(f"/admin/keys/{key.pk}/revoke/").status == 405  # still POST-only


def test_question_mark_opens_the_shortcuts_overlay(page, people):
    log_in(page, "root")
    dialog = page.locator("#shortcuts")
    assert not dialog.is_visible()
    assert "Restore brush" not in page.content()  # built on first use, not in every page's HTML
    page.keyboard.press("?")
    assert dialog.is_visible()
    assert dialog.get_by_role("heading", name="Keyboard shortcuts").is_visible()
    text = dialog.text_content()
    assert "Background Refiner" in text and "Undo the last stroke" in text and "Previous / next asset" in text
    screenshot(page, "shortcuts")
    page.emulate_media(color_scheme="dark")
    screenshot(page, "shortcuts-dark")
    page.emulate_media(color_scheme="light")
    page.keyboard.press("Escape")
    assert not dialog.is_visible()
    search = page.locator("input[type=search], input[name=q]").first
    search.fill("")
    search.press("?")  # typed into a field: a character, not the overlay
    assert not dialog.is_visible() and search.input_value() == "?"
    page.get_by_role("button", name="Shortcuts").click()
    assert dialog.is_visible()
    dialog.get_by_role("button", name="Close").click()
    assert not dialog.is_visible()


def test_favicon_is_linked_and_served(page, people):
    page.goto("/login/")
    href = page.locator("link[rel=icon]").get_attribute("href")
    icon = page.request.get(href)
    assert icon.status == 200 and icon.headers["content-type"].startswith("image/svg+xml")
    assert b"<svg" in icon.body()


def test_dark_mode_follows_the_system_setting(page, people):
    log_in(page, "root")
    page.emulate_media(color_scheme="light")
    light_bg, light_fg = style(page, "body", "backgroundColor"), style(page, "body", "color")
    page.emulate_media(color_scheme="dark")
    dark_bg, dark_fg = style(page, "body", "backgroundColor"), style(page, "body", "color")
    assert luminance(light_bg) > 0.8 and luminance(dark_bg) < 0.05
    assert contrast(dark_bg, dark_fg) >= 7 and contrast(light_bg, light_fg) >= 7
    card = style(page, ".top", "backgroundColor")
    assert luminance(card) < 0.05  # surfaces follow, not only the page background


def test_reduced_motion_stops_animations(page, people):
    log_in(page, "root")
    page.evaluate("document.body.insertAdjacentHTML('beforeend', '<span class=\"spinner\" id=\"spin\"></span>')")
    assert style(page, "#spin", "animationDuration") == "0.8s"
    page.emulate_media(reduced_motion="reduce")
    assert float(style(page, "#spin", "animationDuration").rstrip("s")) < 0.001


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_focus_rings_and_input_borders_have_3_to_1_contrast(page, people, scheme):
    page.emulate_media(color_scheme=scheme)
    log_in(page, "root")
    page.goto("/admin/keys/")
    name = page.get_by_label("Name")
    surface = name.evaluate("e => getComputedStyle(e.closest('.card')).backgroundColor")
    assert contrast(name.evaluate("e => getComputedStyle(e).borderTopColor"), surface) >= 3
    name.focus()
    assert name.evaluate("e => getComputedStyle(e).outlineStyle") == "solid"
    assert contrast(name.evaluate("e => getComputedStyle(e).outlineColor"), surface) >= 3
    page.goto("/admin/keys/")
    page.keyboard.press("Tab")  # the first Tab stop: the skip link, then the brand
    page.keyboard.press("Tab")
    focused = page.evaluate_handle("document.activeElement")
    assert focused.evaluate("e => e.classList.contains('brand')")
    ring = focused.evaluate("e => [getComputedStyle(e).outlineStyle, getComputedStyle(e).outlineColor, "
                            "parseFloat(getComputedStyle(e).outlineWidth)]")
    header = style(page, ".top", "backgroundColor")
    assert ring[0] == "solid" and ring[2] >= 2 and contrast(ring[1], header) >= 3
