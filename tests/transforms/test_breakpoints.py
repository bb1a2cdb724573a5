"""Responsive breakpoints: the rule (transforms.breakpoints), the upload/explicit parameter's
refusals, and the ``w_auto:breakpoints...:json`` delivery."""

from __future__ import annotations

import json

import pytest

from assets.models import Asset
from core.errors import BadRequest
from tests.conftest import CLOUD, make_image
from transforms import breakpoints as rule
from transforms.cloudinary.breakpoints import delivery_settings
from transforms.models import DerivedImage

pytestmark = pytest.mark.django_db


def _fake(natural: int, bytes_per_pixel_width: float = 100.0):
    """A measure: an image `natural` px wide whose encoded size grows with width squared."""
    calls = []

    def measure(width: int) -> rule.Measured:
        calls.append(width)
        w = min(width, natural)
        return rule.Measured(w, w // 2, int(bytes_per_pixel_width * w * w / 100))
    measure.calls = calls
    return measure


def test_choose_walks_down_by_bytes_step_and_keeps_both_ends():
    measure = _fake(1000)
    chosen = rule.choose(measure, rule.settings(100, 1000, 100_000, 20))
    widths = [c.width for c in chosen]
    assert widths[0] == 1000 and widths[-1] == 100 and widths == sorted(widths, reverse=True)
    assert all(a.bytes - b.bytes >= 100_000 for a, b in zip(chosen, chosen[1:-1]))
    assert len(measure.calls) <= rule.SAMPLES  # bounded work whatever the range


def test_choose_never_wider_than_the_image_and_max_images():
    chosen = rule.choose(_fake(600), rule.settings(50, 5000, 1, 4))
    assert [c.width for c in chosen][0] == 600 and len(chosen) == 4 and chosen[-1].width == 50
    assert [c.width for c in rule.choose(_fake(30), rule.settings(50, 1000, 1, 20))] == [30]


def test_a_huge_step_leaves_just_the_ends():
    assert [c.width for c in rule.choose(_fake(1000), rule.settings(200, 800, 10 ** 12, 20))] == [800, 200]


@pytest.mark.parametrize("args, word", [((0, 10, 1, 1), "min_width"), ((10, 5, 1, 1), "larger"),
                                        ((1, 10, 1, 500), "max_images"), (("x", 10, 1, 1), "whole number")])
def test_bad_settings_are_400s(args, word):
    with pytest.raises(BadRequest, match=word):
        rule.settings(*args)


def test_delivery_component():
    assert delivery_settings("c_scale,w_auto:breakpoints_100_900_10_6:json") == rule.Settings(100, 900, 10240, 6)
    assert delivery_settings("w_auto:breakpoints:json") == rule.Settings()
    assert delivery_settings("w_auto:breakpoints_1_2_3_4") is None
    assert delivery_settings("c_scale,w_100") is None


@pytest.mark.parametrize("value, word", [
    ("{not json", "not JSON"),
    (json.dumps({"max_width": "wide"}), "max_width"),
    (json.dumps({"format": "exe"}), "format"),
    (json.dumps({"transformation": "x_nonsense_1"}), ""),
    (json.dumps([{}] * 11), "1 to 10"),
])
def test_bad_parameter_stores_nothing(upload, value, word):
    response = upload(make_image(64, 48), responsive_breakpoints=value)
    assert response.status_code == 400, response.content
    assert word in response.json()["error"]["message"]
    assert Asset.objects.count() == 0


def test_raw_upload_refuses_breakpoints(client, api_key):
    from tests.conftest import signed
    payload = signed({"responsive_breakpoints": json.dumps({"max_width": 10})}, api_key)
    payload["file"] = ("data:text/plain;base64,aGVsbG8=")
    response = client.post(f"/v1_1/{CLOUD}/raw/upload", payload)
    assert response.status_code == 400 and "not supported for raw" in response.json()["error"]["message"]
    assert Asset.objects.count() == 0


def test_upload_answer_and_derived_rows(upload):
    response = upload(make_image(400, 200), public_id="bp", responsive_breakpoints=json.dumps(
        {"min_width": 100, "max_width": 300, "bytes_step": 1, "max_images": 3, "format": "webp"}))
    assert response.status_code == 200, response.content
    [entry] = response.json()["responsive_breakpoints"]
    widths = [b["width"] for b in entry["breakpoints"]]
    assert len(widths) == 3 and widths[0] == 300 and widths[-1] == 100 and 100 < widths[1] < 300
    assert all(b["url"].endswith(".webp") and abs(b["height"] - b["width"] / 2) <= 1 for b in entry["breakpoints"])
    rows = DerivedImage.objects.filter(asset__public_id="bp").order_by("-width")
    assert [(r.width, r.format, r.bytes) for r in rows] == [(b["width"], "webp", b["bytes"])
                                                           for b in entry["breakpoints"]]


def test_delivery_json(client, upload):
    upload(make_image(500, 250), public_id="bpd")
    response = client.get(f"/{CLOUD}/image/upload/e_grayscale/c_scale,w_auto:breakpoints_50_400_1_3:json/bpd.jpg")
    assert response.status_code == 200 and response["Content-Type"] == "application/json"
    widths = response.json()["breakpoints"]
    assert len(widths) == 3 and widths[0] == 400 and widths[-1] == 50 and 50 < widths[1] < 400
    missing = client.get(f"/{CLOUD}/image/upload/c_scale,w_auto:breakpoints:json/nothing.jpg")
    assert missing.status_code == 404


def test_strict_mode_refuses_unsigned_breakpoints(client, upload, settings):
    upload(make_image(300, 150), public_id="strict")
    settings.DAM_STRICT_TRANSFORMATIONS = True
    response = client.get(f"/{CLOUD}/image/upload/c_scale,w_auto:breakpoints:json/strict.jpg")
    assert response.status_code == 401
