"""Effects through delivery URLs (``e_<name>[:args]`` with their qualifiers), rendered by
the server: pixel properties of the result, and 400 + X-Cld-Error for bad values."""

from __future__ import annotations

import numpy as np
import pytest
import pyvips

from tests.conftest import CLOUD

pytestmark = pytest.mark.django_db


def png(array: np.ndarray) -> bytes:
    image = pyvips.Image.new_from_array(np.clip(np.round(array), 0, 255).astype(np.uint8), interpretation="srgb")
    return image.write_to_buffer(".png")


def textured(width=80, height=60, seed=0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    base = np.linspace(40, 215, width)[None, :, None].repeat(height, 0).repeat(3, 2)
    return np.clip(base + rng.normal(0, 25, (height, width, 3)), 0, 255)


@pytest.fixture
def assets(upload):
    photo = textured()
    framed = np.full((60, 80, 3), 255.0)
    framed[10:40, 20:60] = (30, 90, 200)
    shape = np.zeros((50, 70, 4))
    shape[10:40, 15:55] = (200, 40, 40, 255)
    for public_id, array in (("photo", photo), ("framed", framed), ("shape", shape)):
        response = upload(png(array), name=f"{public_id}.png", public_id=public_id)
        assert response.status_code == 200, response.content
    return {"photo": photo, "framed": framed, "shape": shape}


def get(client, transformation: str, public_id: str = "photo", ext: str = "png"):
    return client.get(f"/{CLOUD}/image/upload/{transformation}/{public_id}.{ext}")


def pixels_of(response) -> np.ndarray:
    assert response.status_code == 200, (response.status_code, response.headers.get("X-Cld-Error"))
    data = b"".join(response.streaming_content) if response.streaming else response.content
    image = pyvips.Image.new_from_buffer(data, "")
    return np.asarray(image.numpy()).reshape(image.height, image.width, image.bands).astype(float)


def test_grayscale_and_negate(client, assets):
    out = pixels_of(get(client, "e_grayscale"))
    assert np.array_equal(out[..., 0], out[..., 1]) and np.array_equal(out[..., 1], out[..., 2])
    negated = pixels_of(get(client, "e_negate"))
    assert np.abs(negated - (255 - np.round(assets["photo"]))).max() <= 1


def test_chained_effects_and_resize(client, assets):
    out = pixels_of(get(client, "c_scale,w_40/e_sepia/e_blur:300"))
    assert out.shape[:2] == (30, 40)
    assert out[..., 0].mean() > out[..., 1].mean() > out[..., 2].mean()
    sharp = pixels_of(get(client, "c_scale,w_40/e_sepia"))
    roughness = lambda a: np.abs(np.diff(a[..., 1], axis=0)).mean()  # noqa: E731 (across the gradient)
    assert roughness(out) < roughness(sharp) * 0.5


def test_brightness_and_contrast(client, assets):
    src = np.round(assets["photo"])
    assert pixels_of(get(client, "e_brightness:30")).mean() > src.mean() + 10
    assert pixels_of(get(client, "e_contrast:-60")).std() < src.std() * 0.6


def test_colorize_with_co(client, assets):
    out = pixels_of(get(client, "co_rgb:0000ff,e_colorize:100"))
    assert np.allclose(out[..., :3], [0, 0, 255], atol=1)


def test_make_transparent_and_trim(client, assets):
    transparent = pixels_of(get(client, "e_make_transparent", "framed"))
    assert transparent.shape[2] == 4 and transparent[0, 0, 3] == 0 and transparent[20, 30, 3] == 255
    trimmed = get(client, "e_trim", "framed")
    assert pixels_of(trimmed).shape[:2] == (30, 40)


def test_shadow_and_outline_grow_the_canvas(client, assets):
    shadow = pixels_of(get(client, "co_black,e_shadow:50,x_6,y_6", "shape"))
    assert shadow.shape[0] > 50 and shadow.shape[1] > 70 and shadow.shape[2] == 4
    outline = pixels_of(get(client, "co_blue,e_outline:outer:3", "shape"))
    assert outline.shape[:2] == (56, 76)
    assert np.allclose(outline[3 + 20, 3 + 15 - 2], [0, 0, 255, 255], atol=2)


def test_gradient_fade_with_y(client, assets):
    out = pixels_of(get(client, "e_gradient_fade,y_-0.5"))
    assert out.shape[2] == 4 and out[-1, 40, 3] < 40 and out[0, 40, 3] == 255


def test_equivalent_spellings_share_the_derived_image(client, assets):
    first = get(client, "e_blur")
    second = get(client, "e_blur:100")
    assert first.status_code == second.status_code == 200
    assert first.get("ETag") == second.get("ETag")


@pytest.mark.parametrize("transformation,needle", [
    ("e_blur:5000", "e_blur"),
    ("e_blur:abc", "e_blur"),
    ("e_sepia:0", "e_sepia"),
    ("e_brightness:-100", "e_brightness"),
    ("e_outline:sideways", "e_outline"),
    ("co_notacolour,e_colorize", "co"),
    ("e_replace_color", "e_replace_color"),
    ("e_gradient_fade,x_0.5,y_0.5", "e_gradient_fade"),
    ("e_shadow,x_abc", "e_shadow"),
    ("e_no_such_effect", "Invalid effect: no_such_effect"),
])
def test_bad_values_are_400(client, assets, transformation, needle):
    response = get(client, transformation)
    assert response.status_code == 400, response.status_code
    assert needle in response.headers.get("X-Cld-Error", "")
    assert needle in response.json()["error"]["message"]


@pytest.mark.parametrize("options,check", [
    ({"effect": "shadow:50", "color": "black", "x": 6, "y": 6},
     lambda out: out.shape[0] > 50 and out.shape[2] == 4),
    ({"transformation": [{"effect": "outline:outer:3", "color": "#0000ff"}, {"width": 38, "crop": "scale"}]},
     lambda out: out.shape[1] == 38 and out[..., 2].max() > 200),
    ({"effect": ["replace_color", "green", 40, "c81e1e"]},
     lambda out: out[25, 35, 1] > out[25, 35, 0]),
    ({"effect": "gradient_fade:symmetric:40", "x": 0.2},
     lambda out: out[25, 0, 3] < 60 and out[25, -1, 3] < 60 and out[25, 35, 3] == 255),
])
def test_sdk_built_transformations(client, assets, options, check):
    """The official SDK's spelling of effect parameters renders."""
    from cloudinary.utils import generate_transformation_string

    transformation, _ = generate_transformation_string(**options)
    out = pixels_of(get(client, transformation, "shape"))
    assert check(out), transformation
