"""Upload API text/multi/sprite refusals: 4xx with a message, nothing stored."""

from __future__ import annotations

import pytest

from assets.models import Asset
from tests.conftest import CLOUD, make_image, signed

pytestmark = pytest.mark.django_db


def call(client, api_key, action, **params):
    return client.post(f"/v1_1/{CLOUD}/image/{action}", signed(params, api_key))


@pytest.mark.parametrize("action, params, word", [
    ("text", {}, "Missing required parameter - text"),
    ("text", {"text": "x", "opacity": "150"}, "opacity"),
    ("text", {"text": "x", "font_size": "5000"}, "Font size too large"),
    ("text", {"text": "x", "font_weight": "heavyish"}, "font_weight"),
    ("text", {"text": "x" * 3000}, "too long"),
    ("multi", {"urls": "http://127.0.0.1/a.jpg"}, "urls are not supported"),
    ("multi", {"tag": "t", "mode": "download"}, "mode=download"),
    ("multi", {"tag": "t", "transformation": "f_png"}, "gif, webp or pdf"),
    ("multi", {"tag": "t", "transformation": "x_bogus_1"}, ""),
    ("sprite", {"tag": "t", "transformation": "f_webp"}, "png or jpg"),
    ("sprite", {}, "Missing required parameter - tag"),
])
def test_refusals(client, api_key, upload, action, params, word):
    assert upload(make_image(16, 16), public_id="one", tags="t").status_code == 200
    response = call(client, api_key, action, **params)
    assert response.status_code == 400, response.content
    assert word in response.json()["error"]["message"]
    assert list(Asset.objects.values_list("public_id", flat=True)) == ["one"]


def test_unsigned_is_refused(client):
    response = client.post(f"/v1_1/{CLOUD}/image/text", {"text": "hi"})
    assert response.status_code == 401 and Asset.objects.count() == 0
