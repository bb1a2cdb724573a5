"""URLs built by the official cloudinary Python SDK, fetched from a live server.

Images are compared by geometry, content type and similarity, never by bytes.
"""

from __future__ import annotations

import re

import cloudinary
import pytest
import pyvips

from tests.conftest import make_image
from tests.images import similarity

from tests.sdk_fixtures import configure, fetch_image, sdk  # noqa: F401 (fixture)

pytestmark = pytest.mark.live

JPEG, PNG, WEBP = "image/jpeg", "image/png", "image/webp"


def content_type(response) -> str:
    return response.headers.get("Content-Type", "").split(";")[0].strip()


@pytest.fixture
def photo(sdk):
    data = make_image(120, 80, seed=7)
    result = sdk.upload(data, public_id="sample")
    return result, pyvips.Image.new_from_buffer(data, "")


def test_build_url_has_our_layout(sdk):
    assert cloudinary.CloudinaryImage("sample").build_url() == f"http://{sdk.host}/demo/image/upload/sample"
    assert cloudinary.CloudinaryImage("sample").build_url(format="png", version=123) == (
        f"http://{sdk.host}/demo/image/upload/v123/sample.png")
    assert cloudinary.CloudinaryImage("a/b").build_url(format="jpg") == (
        f"http://{sdk.host}/demo/image/upload/v1/a/b.jpg")


def test_plain_url_delivers_the_original(photo):
    result, original = photo
    response, image = fetch_image(cloudinary.CloudinaryImage("sample").build_url())
    assert response.status_code == 200, response.headers.get("X-Cld-Error")
    assert content_type(response) == JPEG
    assert (image.width, image.height) == (120, 80)
    assert similarity(original, image) > 0.97


def test_url_from_the_upload_response(photo):
    result, original = photo
    response, image = fetch_image(result["url"])
    assert response.status_code == 200, response.headers.get("X-Cld-Error")
    assert content_type(response) == JPEG
    assert (image.width, image.height) == (120, 80)
    assert response.headers.get("ETag")


@pytest.mark.parametrize("fmt, mime, loader", [("png", PNG, "pngload"), ("webp", WEBP, "webpload"),
                                               ("jpg", JPEG, "jpegload")])
def test_format_from_the_extension(photo, fmt, mime, loader):
    result, original = photo
    response, image = fetch_image(cloudinary.CloudinaryImage("sample").build_url(format=fmt))
    assert response.status_code == 200, response.headers.get("X-Cld-Error")
    assert content_type(response) == mime
    assert image.get("vips-loader").startswith(loader)
    assert (image.width, image.height) == (120, 80)
    assert similarity(original, image) > 0.95


def test_with_version(sdk, photo):
    result, _ = photo
    url = cloudinary.CloudinaryImage("sample").build_url(version=result["version"], format="jpg")
    assert f"/v{result['version']}/" in url
    response, image = fetch_image(url)
    assert response.status_code == 200, response.headers.get("X-Cld-Error")
    assert (image.width, image.height) == (120, 80)


def test_folder_public_id_with_forced_v1(sdk):
    sdk.upload(make_image(40, 30), public_id="shop/items/chair")
    url = cloudinary.CloudinaryImage("shop/items/chair").build_url(format="png")
    assert "/v1/shop/items/chair.png" in url
    response, image = fetch_image(url)
    assert response.status_code == 200, response.headers.get("X-Cld-Error")
    assert content_type(response) == PNG
    assert (image.width, image.height) == (40, 30)


def test_replaced_asset_is_served_fresh(sdk, photo):
    url = cloudinary.CloudinaryImage("sample").build_url(format="png")
    response, image = fetch_image(url)
    assert (image.width, image.height) == (120, 80)
    sdk.upload(make_image(64, 64, seed=9), public_id="sample")
    response, image = fetch_image(url)
    assert response.status_code == 200
    assert (image.width, image.height) == (64, 64)


def test_missing_asset_is_404(sdk):
    response, _ = fetch_image(cloudinary.CloudinaryImage("nothing_here").build_url(format="jpg"))
    assert response.status_code == 404


@pytest.mark.parametrize("long_signature", [False, True])
def test_private_asset_needs_a_signed_url(sdk, long_signature):
    data = make_image(48, 36, seed=11)
    sdk.upload(data, public_id="private_photo", type="private")
    resource = cloudinary.CloudinaryImage("private_photo")

    signed = resource.build_url(type="private", sign_url=True, long_url_signature=long_signature, format="jpg")
    match = re.search(r"/demo/image/private/s--([A-Za-z0-9_-]+)--/", signed)
    assert match and len(match.group(1)) == (32 if long_signature else 8)
    response, image = fetch_image(signed)
    assert response.status_code == 200, response.headers.get("X-Cld-Error")
    assert content_type(response) == JPEG
    assert (image.width, image.height) == (48, 36)
    assert similarity(pyvips.Image.new_from_buffer(data, ""), image) > 0.97

    as_png = resource.build_url(type="private", sign_url=True, long_url_signature=long_signature, format="png")
    response, image = fetch_image(as_png)
    assert response.status_code == 200 and content_type(response) == PNG

    unsigned = resource.build_url(type="private", format="jpg")
    assert fetch_image(unsigned)[0].status_code == 401
    tampered = signed.replace(match.group(1), ("A" if match.group(1)[0] != "A" else "B") + match.group(1)[1:])
    assert fetch_image(tampered)[0].status_code == 401
    configure(api_secret="some-other-secret")
    wrong_key = resource.build_url(type="private", sign_url=True, format="jpg")
    assert fetch_image(wrong_key)[0].status_code == 401


def test_signed_url_for_a_public_asset(photo):
    url = cloudinary.CloudinaryImage("sample").build_url(sign_url=True, format="webp")
    assert "/s--" in url
    response, image = fetch_image(url)
    assert response.status_code == 200, response.headers.get("X-Cld-Error")
    assert content_type(response) == WEBP and (image.width, image.height) == (120, 80)


@pytest.mark.parametrize("options", [
    {},
    {"long_url_signature": True},
    {"width": 100, "crop": "scale"},
    {"transformation": [{"width": 50, "height": 50, "crop": "fill"}, {"angle": 90}], "long_url_signature": True},
    {"version": 1700000000, "type": "private"},
])
def test_sdk_url_signatures_verify_with_our_signing(sdk, options):
    """What the SDK signs is what assets.signing checks (no server needed for this part)."""
    from assets import signing

    url = cloudinary.CloudinaryImage("folder/my photo").build_url(sign_url=True, format="jpg", **options)
    path = url.split(f"/demo/image/{options.get('type', 'upload')}/", 1)[1]
    match = re.match(r"^s--([A-Za-z0-9_-]+)--/(.*)$", path)
    assert match, url
    signature, rest = match.groups()
    to_sign = signing.url_to_sign(rest.split("/"))
    assert signing.verify_url_signature(signature, [to_sign], [sdk.key.secret])
    assert not signing.verify_url_signature(signature, [to_sign], ["another-secret"])
