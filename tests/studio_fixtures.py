"""Fixtures for the Studio's tests: a user per role, asset rows without files, and the
browser tests' page helpers (log in, add a step from the palette, wait for the preview)."""

from __future__ import annotations

import itertools

import pytest
from django.contrib.auth import get_user_model

from assets.models import Asset, AssetTag
from studio import roles

PASSWORD = "correct horse battery staple 42"
_numbers = itertools.count(1)


def make_user(username: str, role: str | None):
    User = get_user_model()
    if role == "superuser":
        return User.objects.create_superuser(username, "", PASSWORD)
    user = User.objects.create_user(username, "", PASSWORD)
    if role:
        roles.set_role(user, role)
    return user


@pytest.fixture
def users(db, settings):
    """{"admin": superuser, "admin_group": admin by group, "editor": ..., "viewer": ..., "none": no group}"""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    return {
        "admin": make_user("root", "superuser"),
        "admin_group": make_user("ada", "admin"),
        "editor": make_user("eddie", "editor"),
        "viewer": make_user("vera", "viewer"),
        "none": make_user("nobody", None),
    }


@pytest.fixture
def login(client, users):
    def _login(role: str):
        client.force_login(users[role])
        return client

    return _login


def asset_row(public_id: str, *, format: str = "jpg", bytes: int = 1000, width: int = 64, height: int = 48,
              type: str = "upload", tags=(), context=None, original_filename: str = "", save: bool = True) -> Asset:
    """An Asset row with no stored file (listing, search and permission tests)."""
    n = next(_numbers)
    asset = Asset(public_id=public_id, type=type, folder=public_id.rpartition("/")[0], version=1_700_000_000 + n,
                  format=format, width=width, height=height, bytes=bytes, etag=f"{n:032x}",
                  content_hash=f"{n:064x}", storage_name=f"none/{n}.{format}", original_filename=original_filename,
                  context=context or {})
    if save:
        asset.save()
        AssetTag.objects.bulk_create([AssetTag(asset=asset, name=t) for t in tags])
    return asset


# --- browser (Playwright page) helpers -----------------------------------------------------

# true once the editor's preview image shows a rendering whose URL contains `src`
PREVIEW_READY = """src => {
    const img = document.querySelector('#preview');
    return img && img.hasAttribute('data-ok') && img.complete && img.naturalWidth > 0 && img.src.includes(src);
}"""


def log_in(page, next_url: str, username: str = "eddie"):
    """Log `username` (PASSWORD) in through the login form of a Playwright page."""
    page.goto(f"/login/?next={next_url}")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"**{next_url}*")


def add_step(page, kind: str, title: str, button: str, **fields):
    details = page.locator("details.palette-item", has=page.locator(f"#add-{kind}-form"))
    if not details.evaluate("d => d.open"):
        details.locator("summary").click()
    form = page.locator(f"#add-{kind}-form")
    for label, value in fields.items():
        control = form.get_by_label(label, exact=True)
        if control.evaluate("e => e.tagName") == "SELECT":
            control.select_option(value)
        else:
            control.fill(value)
    form.get_by_role("button", name=button).click()
