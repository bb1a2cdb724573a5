"""pycloudinary's ``text``, ``multi`` and ``generate_sprite`` against the live server (issue
15, item 5), and the npm SDK's ``uploader.text``: real images made in the test, results
decoded and measured."""

from __future__ import annotations

from urllib.parse import unquote

import cloudinary
import cloudinary.uploader
import numpy as np
import pytest
import pyvips
import requests

from tests.conftest import make_image
from tests.sdk.live_node import wsgi_server  # noqa: F401 (fixture)
from tests.sdk.test_sdk_node import node_sdk  # noqa: F401 (fixture)
from tests.sdk_fixtures import HTTP_TIMEOUT, sdk  # noqa: F401  (fixture)

pytestmark = pytest.mark.live


def _get(url: str) -> requests.Response:
    response = requests.get(url, timeout=HTTP_TIMEOUT)
    assert response.status_code == 200, response.text
    return response


def _solid(width: int, height: int, rgb) -> bytes:
    return (pyvips.Image.black(width, height, bands=3) + list(rgb)).cast("uchar").copy(
        interpretation="srgb").pngsave_buffer()


def test_text(sdk):  # noqa: F811
    result = cloudinary.uploader.text("hello world", public_id="txt/hello", font_family="Arial", font_size=40,
                                      font_color="#ff0000", font_weight="bold")
    assert result["public_id"] == "txt/hello" and result["width"] > 100 and result["height"] > 20
    image = pyvips.Image.new_from_buffer(_get(result["secure_url"]).content, "")
    pixels = np.ndarray(buffer=image.write_to_memory(), dtype=np.uint8,
                        shape=(image.height, image.width, image.bands))
    inked = pixels[..., 3] > 200
    assert inked.any() and (pixels[inked][:, 0] > 200).all() and (pixels[inked][:, 1] < 60).all()
    bigger = cloudinary.uploader.text("hello world", public_id="txt/big", font_size=80)
    assert bigger["height"] > result["height"]
    with pytest.raises(cloudinary.exceptions.Error, match="font_color"):
        cloudinary.uploader.text("x", font_color="not-a-colour")


def test_multi_gif_and_pdf(sdk):  # noqa: F811
    for n, rgb in enumerate([(255, 0, 0), (0, 0, 255), (0, 255, 0)]):
        sdk.upload(_solid(60, 40, rgb), public_id=f"m/{n}", tags=["anim"], filename="f.png")
    result = cloudinary.uploader.multi(tag="anim", crop="scale", width="0.5")
    assert result["url"].endswith(".gif") and "w_0.5" in result["url"]
    gif = _get(result["url"]).content
    frames = pyvips.Image.new_from_buffer(gif, "", n=-1)
    assert frames.get("n-pages") == 3 and (frames.width, frames.get("page-height")) == (30, 20)
    firsts = [frames.crop(0, 20 * i, 30, 20).colourspace("srgb").getpoint(15, 10)[:3] for i in range(3)]
    assert [int(np.argmax(p)) for p in firsts] == [0, 2, 1]  # red, blue, green in public_id order
    pdf = cloudinary.uploader.multi(tag="anim", width=111, format="pdf")
    assert pdf["url"].endswith(".pdf") and "w_111" in pdf["url"]
    data = _get(pdf["url"]).content
    assert data.startswith(b"%PDF-") and data.count(b"/Type /Page ") == 3
    with pytest.raises(cloudinary.exceptions.Error, match="No images found"):
        cloudinary.uploader.multi(tag="nothing-tagged")


def test_sprite(sdk):  # noqa: F811
    sdk.upload(make_image(50, 30), public_id="s/a", tags=["spr"])
    sdk.upload(make_image(20, 40), public_id="s/b", tags=["spr"])
    result = cloudinary.uploader.generate_sprite("spr")
    assert result["image_infos"] == {"s/a": {"x": 0, "y": 0, "width": 50, "height": 30},
                                     "s/b": {"x": 0, "y": 30, "width": 20, "height": 40}}
    image = pyvips.Image.new_from_buffer(_get(result["image_url"]).content, "")
    assert (image.width, image.height) == (50, 70)
    css = _get(result["css_url"]).text
    assert ".spr-s_b {" in css and "background-position: -0px -30px" in css and result["secure_image_url"] in css
    assert _get(result["json_url"]).json()["image_infos"]["s/a"]["width"] == 50
    small = cloudinary.uploader.generate_sprite("spr", format="jpg", width=10, crop="scale")
    assert "/sprite/c_scale,f_jpg,w_10/spr.css" in unquote(small["css_url"])  # commas escaped in a public_id
    assert small["image_infos"]["s/b"] == {"x": 0, "y": 6, "width": 10, "height": 20}
    assert pyvips.Image.new_from_buffer(_get(small["image_url"]).content, "").get("vips-loader").startswith("jpeg")


def test_node_text(node_sdk):  # noqa: F811
    [result] = node_sdk([("uploader.text", ["node text", {"public_id": "node/txt", "font_size": 30}])])
    assert result["public_id"] == "node/txt" and result["width"] > 50, result


def test_node_multi_and_sprite(node_sdk):  # noqa: F811
    red = node_sdk.file("r.png", _solid(40, 20, (255, 0, 0)))
    blue = node_sdk.file("b.png", _solid(40, 20, (0, 0, 255)))
    *_, animated, sprite = node_sdk([
        ("uploader.upload", [red, {"public_id": "nm/1", "tags": ["n-multi"]}]),
        ("uploader.upload", [blue, {"public_id": "nm/2", "tags": ["n-multi"]}]),
        ("uploader.multi", ["n-multi", {"transformation": {"width": 20, "crop": "scale"}}]),
        ("uploader.generate_sprite", ["n-multi", {}]),
    ])
    frames = pyvips.Image.new_from_buffer(_get(animated["url"]).content, "", n=-1)
    assert frames.get("n-pages") == 2 and frames.width == 20
    assert sprite["image_infos"]["nm/2"] == {"x": 0, "y": 20, "width": 40, "height": 20}
