"""Layers through delivery URLs: ``l_``/``u_`` ... ``fl_layer_apply`` rendered by the
server, written by hand and built by the official SDK.  Pixel properties only."""

from __future__ import annotations

import cloudinary
import numpy as np
import pytest
import pyvips

from tests.conftest import CLOUD

from tests.sdk_fixtures import fetch_image, sdk  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db

GREY, RED, BLUE = (60, 60, 60), (255, 0, 0), (0, 0, 255)


def png(w: int, h: int, rgba, *, hole: tuple[int, int, int, int] | None = None,
        right_half_clear: bool = False) -> bytes:
    array = np.zeros((h, w, 4), dtype=np.uint8)
    array[:, :] = rgba
    if hole:
        x, y, hw, hh = hole
        array[y:y + hh, x:x + hw, 3] = 0
    if right_half_clear:
        array[:, w // 2:, 3] = 0
    return pyvips.Image.new_from_array(array, interpretation="srgb").write_to_buffer(".png")


@pytest.fixture
def assets(upload):
    for public_id, data in [
        ("base", png(100, 80, (*GREY, 255))),
        ("holed", png(100, 80, (*GREY, 255), hole=(40, 30, 20, 20))),
        ("logo", png(40, 40, (*RED, 255))),
        ("brand/half", png(20, 20, (*RED, 255), right_half_clear=True)),
        ("blue", png(100, 80, (*BLUE, 255))),
    ]:
        response = upload(data, name=f"{public_id.split('/')[-1]}.png", public_id=public_id)
        assert response.status_code == 200, response.content


def get(client, transformation: str, public_id: str = "base", ext: str = "png"):
    response = client.get(f"/{CLOUD}/image/upload/{transformation}/{public_id}.{ext}")
    return response


def pixels_of(response) -> np.ndarray:
    assert response.status_code == 200, (response.status_code, response.headers.get("X-Cld-Error"))
    data = b"".join(response.streaming_content) if response.streaming else response.content
    return pyvips.Image.new_from_buffer(data, "").numpy()


def box(pixels: np.ndarray, rgb) -> tuple[int, int, int, int] | None:
    match = np.all(np.abs(pixels[:, :, :3].astype(int) - rgb) < 40, axis=2)
    if pixels.shape[2] == 4:
        match &= pixels[:, :, 3] > 128
    ys, xs = np.nonzero(match)
    if len(xs) == 0:
        return None
    return int(xs.min()), int(ys.min()), int(xs.max() - xs.min() + 1), int(ys.max() - ys.min() + 1)


PLACED = [
    # transformation -> (size of the result, box of the red layer)
    ("l_logo/c_scale,w_20/fl_layer_apply,g_south_east,x_5,y_5", (100, 80), (75, 55, 20, 20)),
    ("l_logo,c_scale,g_south_east,w_20,x_5,y_5", (100, 80), (75, 55, 20, 20)),  # never closed: own component
    ("l_logo/c_scale,w_20/fl_layer_apply,g_north_west", (100, 80), (0, 0, 20, 20)),
    ("l_logo/c_scale,w_20/fl_layer_apply", (100, 80), (40, 30, 20, 20)),
    ("l_logo/c_scale,w_20/fl_layer_apply,g_north,y_10", (100, 80), (40, 10, 20, 20)),
    ("l_logo/c_scale,w_20/fl_layer_apply,g_west,x_-10", (110, 80), (0, 30, 20, 20)),  # canvas extended
    ("l_logo/c_scale,w_20/fl_layer_apply.no_overflow,g_west,x_-10", (100, 80), (0, 30, 10, 20)),
    ("c_scale,w_50/l_logo/c_scale,w_20/fl_layer_apply,g_south_east", (50, 40), (30, 20, 20, 20)),
]


@pytest.mark.parametrize("transformation,size,layer_box", PLACED)
def test_image_layer_placement(client, assets, transformation, size, layer_box):
    pixels = pixels_of(get(client, transformation))
    assert (pixels.shape[1], pixels.shape[0]) == size
    assert box(pixels, RED) == layer_box


def test_folder_layer_tiled(client, assets):
    pixels = pixels_of(get(client, "l_brand:half/fl_layer_apply.tiled,g_north_west"))
    assert pixels.shape[:2] == (80, 100)
    red = np.all(np.abs(pixels[:, :, :3].astype(int) - RED) < 40, axis=2)
    assert red.mean() == pytest.approx(0.5, abs=0.02)
    assert red[:, 0:10].all() and not red[:, 10:20].any()


def test_underlay_shows_through_transparency(client, assets):
    pixels = pixels_of(get(client, "u_blue/fl_layer_apply", public_id="holed"))
    assert tuple(pixels[40, 50, :3]) == BLUE
    assert tuple(pixels[5, 5, :3]) == GREY


def test_text_layer(client, assets):
    pixels = pixels_of(get(client, "l_text:DejaVu%20Sans_20_bold:Hello,co_red/fl_layer_apply,g_north"))
    assert pixels.shape[:2] == (80, 100)
    x, y, w, h = box(pixels, RED)
    assert abs(x + w / 2 - 50) <= 3 and y <= 6 and w > 40 and 10 <= h <= 24


def test_text_layer_escapes_and_wrapping(client, assets):
    one_line = box(pixels_of(get(client, "l_text:DejaVu%20Sans_12:a%252Cb%252Fc%2525,co_red/fl_layer_apply")),
                   RED)
    assert one_line is not None
    wrapped = box(pixels_of(get(
        client, "l_text:DejaVu%20Sans_14:The%20quick%20brown%20fox%20jumps,c_fit,w_60,co_red/"
                "fl_layer_apply,g_north_west,x_2,y_2")), RED)
    assert wrapped[0] >= 2 and wrapped[2] <= 60 and wrapped[3] > 30


@pytest.mark.parametrize("transformation,status,message", [
    ("l_nope/fl_layer_apply", 400, "Overlay not found: nope"),
    ("l_text:DejaVu%20Sans_big:Hi/fl_layer_apply", 400, "font size"),
    ("l_text:DejaVu%20Sans_20_wobbly:Hi/fl_layer_apply", 400, "wobbly"),
    ("l_text:DejaVu%20Sans_20:/fl_layer_apply", 400, "text"),
])
def test_layer_errors(client, assets, transformation, status, message):
    response = get(client, transformation)
    assert response.status_code == status
    assert message.lower() in response.headers["X-Cld-Error"].lower()
    assert message.lower() in response.json()["error"]["message"].lower()


# --- URLs built by the official SDK -------------------------------------------------------


def test_wide_text_extends_the_canvas(client, assets):
    pixels = pixels_of(get(client, "l_text:DejaVu%20Sans_20_bold:Hello%20there%20world,co_red/fl_layer_apply"))
    assert pixels.shape[1] > 100 and pixels.shape[0] == 80 and pixels.shape[2] == 4
    clipped = pixels_of(get(client, "l_text:DejaVu%20Sans_20_bold:Hello%20there%20world,co_red/"
                                    "fl_layer_apply.no_overflow"))
    assert clipped.shape[:2] == (80, 100) and box(clipped, RED)[2] == 100


@pytest.fixture
def sdk_assets(sdk):  # noqa: F811 (fixture)
    for public_id, data in [("base", png(100, 80, (*GREY, 255))), ("logo", png(40, 40, (*RED, 255))),
                            ("holed", png(100, 80, (*GREY, 255), hole=(40, 30, 20, 20))),
                            ("blue", png(100, 80, (*BLUE, 255)))]:
        sdk.upload(data, public_id=public_id, filename=f"{public_id}.png")
    return sdk


def fetch_pixels(url: str) -> np.ndarray:
    response, image = fetch_image(url)
    assert response.status_code == 200, (url, response.status_code, response.headers.get("X-Cld-Error"))
    return image.numpy()


@pytest.mark.parametrize("options,size,check", [
    ({"transformation": [{"overlay": "logo", "width": 20, "crop": "scale"},
                         {"flags": "layer_apply", "gravity": "south_east", "x": 5, "y": 5}]},
     (100, 80), lambda p: box(p, RED) == (75, 55, 20, 20)),
    ({"overlay": "logo", "width": 20, "crop": "scale", "gravity": "north_west"},
     (100, 80), lambda p: box(p, RED) == (0, 0, 20, 20)),
    ({"transformation": [{"overlay": {"font_family": "DejaVu Sans", "font_size": 12, "font_weight": "bold",
                                      "text": "Hi, a/b 5%"}, "color": "red"},
                         {"flags": "layer_apply", "gravity": "north"}]},
     (100, 80), lambda p: box(p, RED) is not None and box(p, RED)[1] <= 6),
    ({"transformation": [{"underlay": {"public_id": "blue"}}, {"flags": "layer_apply"}], "public_id": "holed"},
     (100, 80), lambda p: tuple(p[40, 50, :3]) == BLUE and tuple(p[5, 5, :3]) == GREY),
])
def test_sdk_built_layer_urls_render(sdk_assets, options, size, check):
    options = dict(options)
    public_id = options.pop("public_id", "base")
    url = cloudinary.CloudinaryImage(public_id).build_url(format="png", **options)
    pixels = fetch_pixels(url)
    assert (pixels.shape[1], pixels.shape[0]) == size
    assert check(pixels), url


def test_sdk_signed_private_layer(sdk_assets):
    sdk_assets.upload(png(20, 20, (*RED, 255)), public_id="secret", type="private", filename="secret.png")
    options = {"transformation": [{"overlay": {"public_id": "secret", "type": "private"}},
                                  {"flags": "layer_apply", "gravity": "north_west"}], "format": "png"}
    unsigned = cloudinary.CloudinaryImage("base").build_url(**options)
    assert "l_private:secret" in unsigned
    response, _ = fetch_image(unsigned)
    assert response.status_code == 401
    signed = cloudinary.CloudinaryImage("base").build_url(sign_url=True, **options)
    assert box(fetch_pixels(signed), RED) == (0, 0, 20, 20)
