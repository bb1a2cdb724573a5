"""Fixtures for the Studio's tests: a user per role, asset rows without files."""

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
