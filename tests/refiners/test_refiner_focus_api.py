"""The Focus Area Refiner's REST API (refiners.focus on the generic refiners.views):
``GET|PUT|DELETE /v1_1/<cloud>/refiners/focus_areas/<type>/<public_id>`` with Admin API
Basic auth.  A status-code table (200, 400 naming the bad field, 401, 403 for a viewer's
writes, 404, 409 on a stale base revision), kinds left out staying unchanged, DELETE
clearing all three in one revision, the history, the source "api", the Admin API's
refiners listing, and a save changing what ``c_crop,g_custom`` delivers."""

from __future__ import annotations

import json

import pytest
import pyvips

from assets import focus
from assets.models import ApiKey, Asset
from refiners import base
from refiners.focus import REFINER
from tests.admin_client import Admin
from tests.conftest import CLOUD, make_image

PATH = "refiners/focus_areas/upload/focus/pic"
W, H = 120, 80


@pytest.fixture
def item(upload):
    assert upload(make_image(W, H, "png"), public_id="focus/pic").status_code == 200
    return Asset.objects.get(public_id="focus/pic")


@pytest.fixture
def admin(client, api_key):
    return Admin(client, api_key)


def test_registered_on_the_protocol():
    assert base.get("focus_areas") is REFINER
    assert (REFINER.payload, REFINER.screen) == (("faces", "custom", "regions"), "refine-focus")


def test_put_get_delete_round_trip(admin, item):
    assert admin.get(PATH).json()["revision"] == 0
    body = {"faces": [[10, 10, 20, 20]], "custom": [[5, 6, 50, 40]], "regions": {"left-eye": [[1, 2], [30, 20]]},
            "base_revision": 0}
    saved = admin.put(PATH, body)
    assert saved.status_code == 200, saved.content
    got = saved.json()
    assert (got["revision"], got["faces"], got["custom"], got["regions"]) == (
        1, [[10, 10, 20, 20]], [[5, 6, 50, 40]], {"left-eye": [[1, 2], [30, 20]]})
    assert got["source"] == "api" and got["history"][0]["revision"] == 1
    # kinds left out stay unchanged; a box past the edge comes back cut at the edge
    partial = admin.put(PATH, {"custom": [[100, 70, 50, 50]]}).json()
    assert (partial["revision"], partial["custom"], partial["faces"]) == (2, [[100, 70, 20, 10]], [[10, 10, 20, 20]])
    assert partial["regions"] == {"left-eye": [[1, 2], [30, 20]]}
    assert [h["revision"] for h in admin.get(PATH).json()["history"]] == [2, 1]
    item.refresh_from_db()
    assert (item.custom_coordinates, item.face_count) == ([[100, 70, 20, 10]], 1)
    # the Admin API's resource details list the revision (the refiners hook)
    assert base.revisions(item)["focus_areas"] == {"revision": 2}
    cleared = admin.delete(PATH)
    assert cleared.status_code == 200
    got = cleared.json()
    assert (got["revision"], got["faces"], got["custom"], got["regions"]) == (3, [], [], {})
    item.refresh_from_db()
    assert (item.face_count, item.custom_coordinates, item.regions) == (0, [], {})


def test_form_body_with_json_text(admin, item):
    saved = admin.put(PATH, {"custom": "[[1,2,30,40]]", "regions": json.dumps({"a": [[0, 0], [9, 9], [0, 9]]})},
                      as_="form")
    assert saved.status_code == 200, saved.content
    assert saved.json()["custom"] == [[1, 2, 30, 40]] and saved.json()["regions"]["a"] == [[0, 0], [9, 9], [0, 9]]


BAD = [
    ({"faces": [[10, 10, 20]]}, "faces"),
    ({"faces": "nonsense"}, "faces"),
    ({"custom": [[500, 500, 10, 10]]}, "custom"),  # outside the image: clipped to nothing
    ({"custom": [[0, 0, 0, 10]]}, "custom"),
    ({"regions": {"bad name!": [[0, 0], [5, 5]]}}, "regions"),
    ({"regions": {"one": [[0, 0]]}}, "regions"),  # fewer than two points
    ({"regions": [[0, 0], [5, 5]]}, "regions"),
    ({"faces": [[1, 1, 5, 5]], "base_revision": "x"}, "base_revision"),
    ({"base_revision": 0}, "faces, custom, regions"),  # nothing to save
]


@pytest.mark.parametrize("body, field", BAD, ids=[f"{f}-{i}" for i, (_, f) in enumerate(BAD)])
def test_400_names_the_bad_field(admin, item, body, field):
    response = admin.put(PATH, body)
    assert response.status_code == 400, response.content
    assert field in response.json()["error"]["message"]
    assert focus.revision(item) == 0  # nothing written


def test_400_for_malformed_json(client, api_key, item):
    response = client.put(f"/v1_1/{CLOUD}/{PATH}", '{"faces": [[1,2,3,4]', content_type="application/json",
                          **Admin(client, api_key).auth)
    assert response.status_code == 400
    assert "JSON" in response.json()["error"]["message"]


def test_status_codes(client, admin, item):
    viewer = Admin(client, ApiKey.objects.create(name="viewer", role="viewer"))
    url = f"/v1_1/{CLOUD}/{PATH}"
    table = {
        "GET": admin.get(PATH).status_code,
        "PUT": admin.put(PATH, {"custom": [[1, 1, 10, 10]]}).status_code,
        "DELETE": admin.delete(PATH).status_code,
        "no auth GET": client.get(url).status_code,
        "no auth PUT": client.put(url, "{}", content_type="application/json").status_code,
        "viewer GET": viewer.get(PATH).status_code,
        "viewer PUT": viewer.put(PATH, {"custom": [[1, 1, 10, 10]]}).status_code,
        "viewer DELETE": viewer.delete(PATH).status_code,
        "unknown asset": admin.get("refiners/focus_areas/upload/focus/nothing").status_code,
        "unknown asset PUT": admin.put("refiners/focus_areas/upload/focus/nothing",
                                       {"custom": [[1, 1, 2, 2]]}).status_code,
        "stale base": admin.put(PATH, {"custom": [[1, 1, 10, 10]], "base_revision": 1}).status_code,
        "current base": admin.put(PATH, {"custom": [[1, 1, 10, 10]], "base_revision": 2}).status_code,
    }
    assert table == {"GET": 200, "PUT": 200, "DELETE": 200, "no auth GET": 401, "no auth PUT": 401,
                     "viewer GET": 200, "viewer PUT": 403, "viewer DELETE": 403, "unknown asset": 404,
                     "unknown asset PUT": 404, "stale base": 409, "current base": 200}
    assert focus.revision(item) == 3


def test_a_save_changes_what_c_crop_g_custom_delivers(client, admin, item):
    def delivered():
        response = client.get(f"/{CLOUD}/image/upload/c_crop,g_custom/focus/pic.png")
        assert response.status_code == 200, response.get("X-Cld-Error")
        image = pyvips.Image.new_from_buffer(b"".join(response.streaming_content) if response.streaming
                                             else response.content, "")
        return image.width, image.height

    admin.put(PATH, {"custom": [[10, 10, 40, 30]]})
    first = delivered()
    admin.put(PATH, {"custom": [[0, 0, 90, 60]]})
    assert (first, delivered()) == ((40, 30), (90, 60))
