"""A real headless Chromium driven by Playwright, for the Studio's browser tests.

Debian's Chromium is used (``/usr/bin/chromium``): Playwright's own browser downloads
are not used. ``./dam test`` installs it with apt-get when it is missing.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SCREENS = Path(__file__).resolve().parent.parent / "test-artifacts" / "screens"
WIDTHS = (1280, 390)
_SHARED: dict = {}


@pytest.fixture(scope="session")
def browser():
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: run ./dam test, which installs Debian's chromium and chromium-driver "
                    "(or: apt-get install -y chromium chromium-driver)", pytrace=False)
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("the playwright package is missing: run ./dam test (it installs the test extras)", pytrace=False)
    # Playwright's sync API keeps an event loop in this thread; the ORM calls the tests make
    # between browser steps are still plain synchronous calls.
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    # Every test module imports this fixture, so pytest holds one session fixture per module;
    # they share one Playwright (a second sync_playwright() in the same thread is refused).
    if not _SHARED:
        playwright = sync_playwright().start()
        _SHARED.update(playwright=playwright, users=0,
                       chromium=playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True))
    _SHARED["users"] += 1
    yield _SHARED["chromium"]
    _SHARED["users"] -= 1
    if _SHARED["users"] == 0:
        _SHARED["chromium"].close()
        _SHARED["playwright"].stop()
        _SHARED.clear()


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(viewport={"width": WIDTHS[0], "height": 900}, base_url=live_server.url)
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    context.set_default_timeout(15_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.js_errors = errors
    yield page
    context.close()
    assert not errors, f"JavaScript errors: {errors}"


def screenshot(page, name: str) -> list[Path]:
    """``test-artifacts/screens/<name>-1280.png`` and ``-390.png`` (full page), back to 1280 after."""
    SCREENS.mkdir(parents=True, exist_ok=True)
    paths = []
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        page.wait_for_timeout(150)
        path = SCREENS / f"{name}-{width}.png"
        page.screenshot(path=str(path), full_page=True)
        paths.append(path)
    page.set_viewport_size({"width": WIDTHS[0], "height": 900})
    return paths
