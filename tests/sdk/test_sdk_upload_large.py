"""`upload_large`: the SDK sends Content-Range chunks; the server assembles them."""

import cloudinary.exceptions
import cloudinary.uploader
import io
import pytest

from tests.conftest import make_image
from tests.sdk_fixtures import sdk  # noqa: F401  (fixture)


def _stream(data: bytes, name="large.png"):
    stream = io.BytesIO(data)
    stream.name = name
    return stream


def test_upload_large_in_many_chunks(sdk):  # noqa: F811
    data = make_image(300, 200, fmt="png")
    assert len(data) > 5 * 20_000
    result = cloudinary.uploader.upload_large(_stream(data), resource_type="image", chunk_size=20_000,
                                              public_id="large/chunked", tags="big")
    assert (result["public_id"], result["width"], result["height"], result["format"]) == ("large/chunked", 300, 200,
                                                                                         "png")
    assert result["bytes"] == len(data) and result["tags"] == ["big"]


def test_upload_large_without_public_id_keeps_one_id_across_chunks(sdk):  # noqa: F811
    data = make_image(200, 150, fmt="png", seed=3)
    result = cloudinary.uploader.upload_large(_stream(data), resource_type="image", chunk_size=15_000)
    assert len(result["public_id"]) == 20 and result["width"] == 200


def test_upload_large_of_a_non_image_is_refused_and_leaves_nothing(sdk):  # noqa: F811
    from assets.models import Asset

    with pytest.raises(cloudinary.exceptions.BadRequest, match="Invalid image file"):
        cloudinary.uploader.upload_large(_stream(b"not an image " * 3000, "x.bin"), resource_type="image",
                                         chunk_size=10_000)
    assert Asset.objects.count() == 0
