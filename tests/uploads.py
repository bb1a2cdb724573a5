"""Support for upload tests: what an upload left behind (rows and stored files)."""

from __future__ import annotations

import os

from django.core.files.storage import storages

from assets.models import Asset, AssetVersion


def stored_files() -> list[str]:
    root = storages["default"].location
    return [os.path.join(d, f) for d, _, files in os.walk(root) for f in files]


def assert_nothing_left():
    assert Asset.objects.count() == 0
    assert AssetVersion.objects.count() == 0
    assert stored_files() == []
