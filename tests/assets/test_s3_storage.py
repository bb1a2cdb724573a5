"""Originals and derived files on S3-compatible storage through django-storages.

The S3 endpoint is a real S3 server, SeaweedFS on 127.0.0.1 (tests/s3_server.py, one per
test process), so boto3 and django-storages run exactly as they would against MinIO or AWS.
"""

import pytest
import pyvips
from django.core.files.storage import storages

from tests.conftest import CLOUD, make_image
from tests.s3_server import s3_server  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db


@pytest.fixture
def s3_storage(s3_server, settings, request):  # noqa: F811
    bucket = s3_server.bucket(request.node.name)
    options = s3_server.options(bucket)
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": {**options, "location": "originals"}},
        "derived": {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": {**options, "location": "derived"}},
    }
    storages._storages = {}
    yield s3_server.client(), bucket
    storages._storages = {}


def keys(client, bucket, prefix):
    return sorted(o["Key"] for o in client.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", []))


def test_upload_deliver_convert_and_delete_on_s3(s3_storage, upload, client):
    s3, bucket = s3_storage
    body = upload(make_image(120, 80, fmt="png"), name="s3.png", public_id="cloud/pic", backup="true").json()
    assert body["width"] == 120
    originals = keys(s3, bucket, "originals/")
    assert len(originals) == 1 and originals[0].endswith(".png")

    same = client.get(f"/{CLOUD}/image/upload/v{body['version']}/cloud/pic.png")
    assert same.status_code == 200
    assert pyvips.Image.new_from_buffer(b"".join(same.streaming_content), "").width == 120

    converted = client.get(f"/{CLOUD}/image/upload/cloud/pic.webp")
    assert converted.status_code == 200 and converted["Content-Type"] == "image/webp"
    image = pyvips.Image.new_from_buffer(b"".join(converted.streaming_content), "")
    assert (image.width, image.height) == (120, 80)
    assert len(keys(s3, bucket, "derived/")) == 1

    # overwrite with backup keeps both originals; the stale derived file goes
    upload(make_image(60, 40, fmt="png"), name="s3.png", public_id="cloud/pic", backup="true")
    assert len(keys(s3, bucket, "originals/")) == 2


def test_bad_upload_leaves_nothing_in_the_bucket(s3_storage, upload):
    s3, bucket = s3_storage
    assert upload(make_image(200, 200)[:900], name="broken.jpg").status_code == 400
    assert keys(s3, bucket, "") == []


def test_image_metadata_is_streamed_from_s3(s3_storage, upload):
    """No local path on S3: assets.imagemeta streams the original (libvips source; Pillow for BMP)."""
    from assets import imagemeta
    from assets.models import Asset, AssetVersion
    from assets.tasks import compute_image_metadata
    from tests.images import BLUE, RED, jpeg_with_exif

    assert upload(jpeg_with_exif(), name="cam.jpg", public_id="s3/camera").status_code == 200
    assert upload(make_image(40, 30, fmt="bmp"), name="old.bmp", public_id="s3/old").status_code == 200
    camera, old = Asset.objects.get(public_id="s3/camera"), Asset.objects.get(public_id="s3/old")
    with pytest.raises(NotImplementedError):
        storages["default"].path(camera.storage_name)

    compute_image_metadata(camera.pk, camera.version_id)  # what the worker runs once the version is stored
    data = AssetVersion.objects.get(version_id=camera.version_id).image_metadata
    assert data["exif"]["Make"] == "Canon" and data["exif"]["GPSLongitude"] == -1.25
    assert data["icc_profile"].startswith("sRGB") and data["colorspace"] == "srgb" and not data["has_alpha"]
    colours = sorted(tuple(int(h[i:i + 2], 16) for i in (1, 3, 5)) for h, _ in data["colors"])
    assert len(colours) == 2 and all(max(abs(a - b) for a, b in zip(got, want)) <= 6
                                     for got, want in zip(colours, sorted([RED, BLUE])))

    bmp = imagemeta.for_asset(old)
    assert "unreadable" not in bmp and bmp["colorspace"] == "rgb" and bmp["colors"]
