"""Transformation URLs built by the official SDK (unchanged) and rendered by a live server:
chained transformations, variables, conditions, signed URLs, f_auto/q_auto, overlays and
text.  Checked by geometry and pixel properties."""

from __future__ import annotations

import cloudinary
import cloudinary.utils
import numpy as np
import pytest
import pyvips

from tests.sdk_fixtures import fetch_image, sdk  # noqa: F401  (fixture)


def url(public_id: str, **options) -> str:
    return cloudinary.utils.cloudinary_url(public_id, **options)[0]


def halves(width=200, height=100) -> bytes:
    array = np.zeros((height, width, 3), np.uint8)
    array[:, : width // 2] = (255, 0, 0)
    array[:, width // 2:] = (0, 0, 255)
    return pyvips.Image.new_from_array(array, interpretation="srgb").pngsave_buffer()


@pytest.fixture
def base(sdk):
    sdk.upload(halves(), public_id="sdk_base", filename="base.png")
    return sdk


CASES = [
    ({"width": 100, "crop": "scale"}, (100, 50)),
    ({"width": 60, "height": 60, "crop": "fill", "gravity": "east"}, (60, 60)),
    ({"width": 0.25, "crop": "scale"}, (50, 25)),
    ({"aspect_ratio": "1:1", "width": 40, "crop": "fill"}, (40, 40)),
    ({"transformation": [{"width": 120, "crop": "scale"}, {"radius": "max"}, {"angle": 90}]}, (60, 120)),
    ({"transformation": [{"crop": "pad", "width": 100, "height": 100, "background": "#00ff00"},
                         {"border": {"width": 2, "color": "#000000"}}]}, (104, 104)),
    ({"variables": [["$w", "30"]], "width": "$w", "crop": "scale"}, (30, 15)),
    ({"width": "iw / 4", "crop": "scale"}, (50, 25)),
    ({"transformation": [{"if": "w > 150", "width": 20, "crop": "scale"}]}, (20, 10)),
    ({"transformation": [{"if": "w < 150", "width": 20, "crop": "scale"}]}, (200, 100)),
    ({"transformation": [{"if": "ar > 1.5"}, {"width": 10, "crop": "scale"}, {"if": "else"},
                         {"width": 30, "crop": "scale"}, {"if": "end"}]}, (10, 5)),
    ({"dpr": 2.0, "width": 25, "crop": "scale"}, (50, 25)),
    ({"effect": "grayscale", "width": 50, "crop": "scale"}, (50, 25)),
]


@pytest.mark.parametrize("options,size", CASES)
def test_sdk_built_urls_render(base, options, size):
    response, image = fetch_image(url("sdk_base", format="png", **options))
    assert response.status_code == 200, response.headers.get("X-Cld-Error")
    assert (image.width, image.height) == size


def test_chained_east_crop_is_blue(base):
    _, image = fetch_image(url("sdk_base", format="png", transformation=[
        {"width": 50, "height": 100, "crop": "fill", "gravity": "east"}, {"effect": "negate"}]))
    r, g, b = image(25, 50)[:3]
    assert r > 200 and g > 200 and b < 60  # blue, negated


def test_signed_transformation_url(base):
    signed = url("sdk_base", format="png", width=40, crop="scale", sign_url=True)
    response, image = fetch_image(signed)
    assert response.status_code == 200 and image.width == 40
    tampered = signed.replace("w_40", "w_41")
    assert fetch_image(tampered)[0].status_code == 401


def test_f_auto_and_q_auto(base):
    response, _ = fetch_image(url("sdk_base", fetch_format="auto", quality="auto", width=50, crop="scale"),
                              headers={"Accept": "image/webp,*/*"})
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "image/webp"
    assert "Accept" in response.headers["Vary"] and "Save-Data" in response.headers["Vary"]


def test_overlay_and_text(base, sdk):
    sdk.upload(halves(20, 20), public_id="sdk_folder/logo", filename="logo.png")
    _, image = fetch_image(url("sdk_base", format="png", transformation=[
        {"overlay": "sdk_folder:logo", "width": 10, "crop": "scale"},
        {"flags": "layer_apply", "gravity": "north_west", "x": 5, "y": 5}]))
    assert (image.width, image.height) == (200, 100)
    r, g, b = image(7, 7)[:3]
    assert r > 200 and b < 60  # the logo's red half over the base's red: still red
    r, g, b = image(12, 7)[:3]
    assert b > 200  # the logo's blue half on the base's red
    response, image = fetch_image(url("sdk_base", format="png", overlay={
        "font_family": "DejaVu Sans", "font_size": 16, "text": "Hi, 100%"}, color="white", gravity="south"))
    assert response.status_code == 200, response.headers.get("X-Cld-Error")
    bottom = image.crop(0, 80, 200, 20).numpy()[:, :, :3]
    assert (bottom.min(axis=2) > 200).any()  # white text pixels near the bottom


def test_bad_parameter_is_a_400_with_the_header(base):
    response, _ = fetch_image(url("sdk_base", format="png", effect="no_such_effect"))
    assert response.status_code == 400
    assert response.headers["X-Cld-Error"] == "Invalid effect: no_such_effect"
