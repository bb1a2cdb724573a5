"""Named transformations, strict mode and eager transformations through the real SDK
against a live server: cloudinary.api's transformation calls, URLs built with
``transformation="<name>"`` and ``sign_url=True``, and ``eager`` on upload."""

from __future__ import annotations

import time

import cloudinary
import cloudinary.api
import cloudinary.uploader
import cloudinary.utils
import pytest

from transforms.cloudinary import named
from transforms.models import DerivedImage

from tests.sdk_fixtures import fetch_image, sdk  # noqa: F401  (fixture)


def url(public_id: str, **options) -> str:
    return cloudinary.utils.cloudinary_url(public_id, **options)[0]


def test_crud_through_the_sdk(sdk):
    assert cloudinary.api.create_transformation("small_fill", {"width": 20, "height": 20, "crop": "fill"}) == {
        "message": "created"}
    assert cloudinary.api.create_transformation("sepia_round", "e_sepia/r_max")["message"] == "created"

    listing = cloudinary.api.transformations(named=True)
    assert [(t["name"], t["named"], t["allowed_for_strict"]) for t in listing["transformations"]] == [
        ("t_small_fill", True, True), ("t_sepia_round", True, True)]
    assert cloudinary.api.transformations(named=True, max_results=1)["next_cursor"]

    detail = cloudinary.api.transformation("small_fill")
    assert detail["name"] == "t_small_fill" and detail["named"] is True
    assert detail["info"] == [{"crop": "fill", "height": 20, "width": 20}]
    assert detail["derived"] == []

    result = cloudinary.api.update_transformation("small_fill", allowed_for_strict=False,
                                                  unsafe_update={"width": 30, "crop": "scale"})
    assert result == {"message": "updated"}
    detail = cloudinary.api.transformation("small_fill")
    assert detail["allowed_for_strict"] is False
    assert detail["info"] == [{"crop": "scale", "width": 30}]

    assert cloudinary.api.delete_transformation("small_fill") == {"message": "deleted"}
    with pytest.raises(cloudinary.exceptions.NotFound):
        cloudinary.api.transformation("small_fill")
    with pytest.raises(cloudinary.exceptions.AlreadyExists):
        cloudinary.api.create_transformation("sepia_round", "e_sepia")
    with pytest.raises(cloudinary.exceptions.BadRequest):
        cloudinary.api.create_transformation("bad.name", "e_sepia")
    with pytest.raises(cloudinary.exceptions.BadRequest):
        cloudinary.api.create_transformation("unknown_param", "zz_3")


def test_named_url_renders_and_follows_updates(sdk):
    sdk.upload(public_id="named_pic")
    cloudinary.api.create_transformation("my_named", {"width": 20, "height": 20, "crop": "fill"})
    named_url = url("named_pic", transformation="my_named", format="png")
    assert "/t_my_named/" in named_url
    response, image = fetch_image(named_url)
    assert response.status_code == 200, response.headers.get("X-Cld-Error")
    assert (image.width, image.height) == (20, 20)
    assert DerivedImage.objects.filter(named__contains="|my_named|").count() == 1

    detail = cloudinary.api.transformation("my_named")
    assert detail["used"] is True and len(detail["derived"]) == 1

    cloudinary.api.update_transformation("my_named", unsafe_update={"width": 12, "crop": "scale"})
    assert DerivedImage.objects.filter(named__contains="|my_named|").count() == 0
    response, image = fetch_image(named_url)
    assert response.status_code == 200
    assert (image.width, image.height) == (12, 9)

    # chained before another component, and inside another named transformation
    cloudinary.api.create_transformation("outer", "t_my_named/e_grayscale")
    response, image = fetch_image(url("named_pic", transformation=["outer", {"width": 6, "crop": "scale"}]))
    assert response.status_code == 200
    assert image.width == 6

    cloudinary.api.delete_transformation("my_named")
    response, _ = fetch_image(named_url)
    assert response.status_code == 400
    assert "Unknown named transformation: my_named" in response.headers["X-Cld-Error"]


def test_delivered_dynamic_transformations_are_logged(sdk):
    sdk.upload(public_id="logged")
    response, _ = fetch_image(url("logged", width=10, crop="scale"))
    assert response.status_code == 200
    listing = cloudinary.api.transformations(named=False)
    assert "c_scale,w_10" in [t["name"] for t in listing["transformations"]]


def test_strict_mode(sdk):
    sdk.upload(public_id="strict_pic")
    cloudinary.api.create_transformation("strict_ok", {"width": 16, "crop": "scale"})
    cloudinary.api.create_transformation("strict_no", {"width": 8, "crop": "scale"})
    cloudinary.api.update_transformation("strict_no", allowed_for_strict=False)
    named.set_strict(True)

    response, _ = fetch_image(url("strict_pic", width=14, crop="scale"))
    assert response.status_code == 401
    assert "is not allowed" in response.headers["X-Cld-Error"]
    response, image = fetch_image(url("strict_pic", transformation="strict_ok"))
    assert response.status_code == 200 and image.width == 16
    response, _ = fetch_image(url("strict_pic", transformation="strict_no"))
    assert response.status_code == 401
    response, image = fetch_image(url("strict_pic", width=12, crop="scale", sign_url=True))
    assert response.status_code == 200 and image.width == 12
    response, _ = fetch_image(url("strict_pic"))  # the original
    assert response.status_code == 200

    # a dynamic transformation allowed explicitly
    cloudinary.api.update_transformation("c_scale,w_13", allowed_for_strict=True)
    response, image = fetch_image(url("strict_pic", width=13, crop="scale"))
    assert response.status_code == 200 and image.width == 13

    named.set_strict(False)
    response, _ = fetch_image(url("strict_pic", width=14, crop="scale"))
    assert response.status_code == 200


def test_eager_on_upload(sdk):
    cloudinary.api.create_transformation("eager_named", {"width": 10, "height": 10, "crop": "fill"})
    result = sdk.upload(public_id="eager_sdk", eager=[{"width": 32, "crop": "scale"},
                                                      {"transformation": "eager_named", "format": "png"}])
    eager = result["eager"]
    assert [e["transformation"] for e in eager] == ["c_scale,w_32", "t_eager_named/png"]
    assert [(e["width"], e["height"], e["format"]) for e in eager] == [(32, 24, "jpg"), (10, 10, "png")]
    # the eager rendering is what the SDK-built URL is served from
    count = DerivedImage.objects.count()
    response, image = fetch_image(url("eager_sdk", width=32, crop="scale", format="jpg"))
    assert response.status_code == 200 and image.width == 32
    assert DerivedImage.objects.count() == count


@pytest.mark.django_db(transaction=True)
def test_eager_async_on_upload(celery_worker, sdk):
    result = sdk.upload(public_id="eager_sdk_async", eager=[{"width": 24, "crop": "scale"}], eager_async=True)
    assert [e["status"] for e in result["eager"]] == ["processing"]
    assert result["eager"][0]["batch_id"]
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and not DerivedImage.objects.filter(asset__public_id="eager_sdk_async"):
        time.sleep(0.3)
    row = DerivedImage.objects.filter(asset__public_id="eager_sdk_async").first()
    assert row is not None, open(celery_worker.log_path).read()[-3000:]
    assert (row.width, row.height) == (24, 18)
