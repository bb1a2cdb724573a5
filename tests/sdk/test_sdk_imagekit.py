"""The official ImageKit npm SDKs (pinned in tests/sdk/node/package.json), unchanged, pointed
at ``http://<live server>/ik/demo`` as their ``urlEndpoint``: ``imagekit`` 6.0.0 (Node,
``url()``, signed URLs with the API secret as the private key) and ``@imagekit/javascript``
5.5.1 (the browser SDK's ``buildSrc``, transformations in the query by default, overlays).
The URLs they build are fetched from the production WSGI stack (config.wsgi) on a loopback
port and the images checked by geometry and pixels."""

from __future__ import annotations

import urllib.error
import urllib.request

import numpy as np
import pytest
import pyvips

from tests.sdk.live_node import node_runner, wsgi_server  # noqa: F401  (fixture)
from transforms.cloudinary import named

pytestmark = pytest.mark.live

TIMEOUT = 60
CLOUD = "demo"


@pytest.fixture
def build(wsgi_server, api_key, tmp_path):
    """`build(calls)`: the URLs the SDKs build for ``[("node"|"javascript", options), ...]``."""
    endpoint = f"{wsgi_server}/ik/{CLOUD}"
    node = node_runner("imagekit_urls.js", ("imagekit", "@imagekit/javascript"), tmp_path, TIMEOUT)

    def run(calls: list[tuple[str, dict]]) -> list[str]:
        urls = node({"endpoint": endpoint, "privateKey": api_key.secret,
                     "calls": [{"sdk": sdk, "options": options} for sdk, options in calls]})
        assert all(url.startswith(endpoint + "/") for url in urls), urls
        return urls

    run.endpoint = endpoint
    return run


def fetch(url: str) -> tuple[int, dict, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT) as response:
            return response.status, {k.lower(): v for k, v in response.headers.items()}, response.read()
    except urllib.error.HTTPError as error:
        return error.code, {k.lower(): v for k, v in error.headers.items()}, error.read()


def image(url: str) -> np.ndarray:
    status, headers, content = fetch(url)
    assert status == 200, (url, status, content[:300])
    assert headers["content-type"].startswith("image/"), (url, headers)
    return pyvips.Image.new_from_buffer(content, "").numpy()


def halves(width: int = 200, height: int = 100) -> bytes:
    """Left half red, right half blue."""
    array = np.zeros((height, width, 3), np.uint8)
    array[:, : width // 2] = (220, 20, 20)
    array[:, width // 2:] = (20, 20, 220)
    return pyvips.Image.new_from_array(array, interpretation="srgb").pngsave_buffer()


def solid(colour, size: int = 20) -> bytes:
    array = np.zeros((size, size, 3), np.uint8)
    array[...] = colour
    return pyvips.Image.new_from_array(array, interpretation="srgb").pngsave_buffer()


def near(pixel, colour, tolerance: int = 40) -> bool:
    return bool(np.abs(np.asarray(pixel[:3], int) - np.asarray(colour, int)).max() <= tolerance)


RED, BLUE, GREEN, WHITE = (220, 20, 20), (20, 20, 220), (0, 255, 0), (255, 255, 255)


@pytest.fixture
def assets(upload):
    assert upload(halves(), name="halves.png", public_id="sdk/halves").status_code == 200
    assert upload(solid(GREEN), name="logo.png", public_id="sdk/logo").status_code == 200


def test_node_sdk_resize_crop_focus_rotation_border_radius_chains(build, assets):
    path = {"path": "/sdk/halves.png"}
    urls = build([
        ("node", {**path, "transformation": [{"width": 100}]}),
        ("node", {**path, "transformation": [{"width": 50, "height": 50}], "transformationPosition": "query"}),
        ("node", {**path, "transformation": [{"width": 50, "height": 100, "focus": "left"}]}),
        ("node", {**path, "transformation": [{"width": 60, "height": 60, "cropMode": "pad_resize",
                                               "background": "FFFFFF"}]}),
        ("node", {**path, "transformation": [{"rotation": 90}]}),
        ("node", {**path, "transformation": [{"border": "5_00FF00"}]}),
        ("node", {**path, "transformation": [{"radius": 20}]}),
        ("node", {**path, "transformation": [{"width": 100}, {"rotation": 90}]}),
        ("node", {**path, "transformation": [{"width": 100, "format": "webp"}]}),
    ])
    assert "/tr:w-100/sdk/halves.png" in urls[0] and "?tr=" in urls[1]

    scaled = image(urls[0])
    assert scaled.shape[:2] == (50, 100) and near(scaled[25, 10], RED) and near(scaled[25, 90], BLUE)
    filled = image(urls[1])  # w and h: cropped to cover, centred
    assert filled.shape[:2] == (50, 50) and near(filled[25, 5], RED) and near(filled[25, 45], BLUE)
    left = image(urls[2])
    assert left.shape[:2] == (100, 50) and all(near(left[y, x], RED) for y, x in ((5, 5), (95, 45), (50, 25)))
    padded = image(urls[3])  # the whole image inside 60x60, white bands above and below
    assert padded.shape[:2] == (60, 60) and near(padded[2, 30], WHITE) and near(padded[30, 5], RED)
    turned = image(urls[4])
    assert turned.shape[:2] == (200, 100) and near(turned[10, 50], RED) and near(turned[190, 50], BLUE)
    bordered = image(urls[5])
    assert bordered.shape[:2] == (110, 210) and near(bordered[1, 1], GREEN) and near(bordered[50, 20], RED)
    rounded = image(urls[6])
    assert rounded.shape[2] == 4 and rounded[0, 0, 3] < 30 and rounded[50, 100, 3] > 250
    chained = image(urls[7])
    assert chained.shape[:2] == (100, 50)
    status, headers, _ = fetch(urls[8])
    assert status == 200 and headers["content-type"] == "image/webp"


def test_javascript_sdk_overlays_text_and_query_parameters(build, assets):
    src = {"src": "/sdk/halves.png"}
    urls = build([
        ("javascript", {**src, "transformation": [{"width": 200}], "queryParameters": {"v": "2"}}),
        ("javascript", {**src, "transformation": [{"overlay": {
            "type": "image", "input": "sdk/logo.png", "position": {"x": 10, "y": 10}}}]}),
        ("javascript", {**src, "transformation": [{"overlay": {
            "type": "text", "text": "Hello World", "transformation": [{"fontSize": 40, "fontColor": "FFFFFF"}]}}]}),
        ("javascript", {**src, "transformationPosition": "path", "transformation": [{"overlay": {
            "type": "text", "text": "Hello World", "transformation": [{"fontSize": 40, "fontColor": "FFFFFF"}]}}]}),
        ("javascript", {**src, "transformation": [{"overlay": {
            "type": "text", "text": "Hi, you: 100%", "transformation": [{"fontSize": 24, "fontColor": "FFFFFF"}]}}]}),
        ("javascript", {**src, "transformation": [{"width": 100}, {"rotation": 90}]}),
        ("javascript", {**src, "transformationPosition": "path", "transformation": [{"overlay": {
            "type": "text", "text": "Hi? you", "transformation": [{"fontSize": 24, "fontColor": "FFFFFF"}]}}]}),
    ])
    assert "v=2" in urls[0] and "tr=w-200" in urls[0]
    plain = image(urls[0])
    assert plain.shape[:2] == (100, 200)
    logo = image(urls[1])
    assert logo.shape[:2] == (100, 200)
    assert near(logo[20, 20], GREEN) and near(logo[5, 5], RED) and near(logo[50, 150], BLUE)

    for url in urls[2:5]:  # white text drawn over red and blue, the size unchanged
        text = image(url)
        assert text.shape[:2] == (100, 200), url
        white = (text[..., :3].min(axis=2) > 200).sum()
        assert white > 60, url
    assert "ie-" in urls[4]  # not simple text: sent base64-encoded
    assert image(urls[3]).shape == image(urls[2]).shape
    assert np.abs(image(urls[3]).astype(int) - image(urls[2]).astype(int)).mean() < 2  # path = query
    assert image(urls[5]).shape[:2] == (100, 50)
    # In the path, a base64 value with "/" ("Hi? you" is SGk/IHlvdQ==) is escaped (%2F) by the SDK;
    # the server decodes the path before Django sees it and the view puts the value back together.
    assert "ie-SGk%2FIHlvdQ%3D%3D" in urls[6]
    text = image(urls[6])
    assert text.shape[:2] == (100, 200) and (text[..., :3].min(axis=2) > 200).sum() > 60


def test_named_transformation(build, assets):
    named.create("ik_thumb", "c_fill,w_30,h_30")
    url, = build([("node", {"path": "/sdk/halves.png", "transformation": [{"named": "ik_thumb"}]})])
    assert "n-ik_thumb" in url
    assert image(url).shape[:2] == (30, 30)


def test_signed_urls(build, assets):
    path = {"path": "/sdk/halves.png", "signed": True}
    forever, expiring, query, unsigned = build([
        ("node", {**path, "transformation": [{"width": 40}]}),
        ("node", {**path, "transformation": [{"width": 40}], "expireSeconds": 300}),
        ("node", {**path, "transformation": [{"width": 40, "height": 20}], "transformationPosition": "query",
                  "queryParameters": {"a": "1 2"}}),
        ("node", {"path": "/sdk/halves.png", "transformation": [{"width": 40}]}),
    ])
    assert "ik-s=" in forever and "ik-t=" not in forever and "ik-t=" in expiring and "ik-s=" not in unsigned
    assert image(forever).shape[:2] == (20, 40)
    assert image(expiring).shape[:2] == (20, 40)
    assert image(query).shape[:2] == (20, 40)
    status, headers, content = fetch(forever.replace("w-40", "w-41"))
    assert status == 401 and "Invalid signature" in headers["x-cld-error"]
    status, headers, _ = fetch(expiring.replace("ik-s=", "ik-s=0"))
    assert status == 401
