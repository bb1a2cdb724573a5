"""The Admin API's resource details with ``image_metadata=true`` and ``colors=true``
(Cloudinary's parameters), from assets.imagemeta: EXIF tags as text, the ICC profile's name,
the predominant colours as ``[[hex, percent], ...]``; neither unless asked for."""

from __future__ import annotations

import pytest

from tests.admin_client import admin  # noqa: F401  (fixture)
from tests.images import jpeg_with_exif

pytestmark = pytest.mark.django_db


def test_resource_details_image_metadata_and_colors(admin, upload):
    assert upload(jpeg_with_exif(), public_id="cam/one").status_code == 200
    plain = admin.get("resources/image/upload/cam/one").json()
    assert "image_metadata" not in plain and "colors" not in plain

    body = admin.get("resources/image/upload/cam/one", {"image_metadata": "true", "colors": "true"}).json()
    meta = body["image_metadata"]
    assert meta["Make"] == "Canon" and meta["Model"] == "EOS 5D" and meta["ExposureTime"] == "1/250"
    assert meta["DateTimeOriginal"] == "2024:05:01 10:20:30" and meta["ISOSpeedRatings"] == "200"
    assert meta["ProfileDescription"].startswith("sRGB") and meta["ColorSpace"] == "srgb"
    assert all(isinstance(v, str) for v in meta.values())
    assert len(body["colors"]) == 2 and {round(p) for _, p in body["colors"]} == {50}
    assert all(c[0].startswith("#") and len(c[0]) == 7 for c in body["colors"])

    bad = admin.get("resources/image/upload/cam/one", {"colors": "maybe"})
    assert bad.status_code == 400 and "colors" in bad.json()["error"]["message"]
