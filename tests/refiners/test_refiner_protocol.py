"""The refiner protocol (refiners.base): the registry, one REST API for every refiner
(the background refiner's behaviour unchanged, 409 on a stale base revision), the
overrides a refiner contributes (asked once per render, never for a cached hit, and
only ever queried for the plans they change), and the engine applying them."""

from __future__ import annotations

import numpy as np
import pytest
import pyvips
from django.db import connection
from django.test.utils import CaptureQueriesContext

from refiners import base
from refiners.background import REFINER
from tests.admin_client import Admin
from tests.conftest import CLOUD, make_image
from transforms import overrides
from transforms.cloudinary import named
from transforms.cloudinary.entry import from_text
from transforms.models import Cutout
from transforms.ops import mask

REMOVE_LEFT = {"tool": "remove", "size": 0.5, "points": [[0.0, 0.5], [0.25, 0.5]]}


@pytest.fixture
def item(upload):
    from assets.models import Asset

    assert upload(make_image(64, 48, "png"), public_id="proto/pic").status_code == 200
    return Asset.objects.get(public_id="proto/pic")


def test_the_background_refiner_is_registered_and_installed_as_the_engines_provider():
    assert base.get("background_removal") is REFINER and base.get("nothing") is None
    assert (REFINER.payload, REFINER.screen) == ("strokes", "refine-background")
    assert base.PROVIDER in overrides._providers


def test_rest_round_trip_through_the_generic_view_and_409(client, api_key, item):
    admin = Admin(client, api_key)
    path = "refiners/background_removal/upload/proto/pic"
    assert admin.get(path).json()["revision"] == 0
    saved = admin.put(path, {"strokes": [REMOVE_LEFT], "base_revision": 0})
    assert saved.status_code == 200 and saved.json()["revision"] == 1
    assert REFINER.current(item).revision == 1
    stale = admin.put(path, {"strokes": [], "base_revision": 0})
    assert stale.status_code == 409 and "changed meanwhile" in stale.json()["error"]["message"]
    missing = admin.put(path, {"base_revision": 1})
    assert missing.status_code == 400 and missing.json()["error"]["message"] == "Missing required parameter - strokes"
    cleared = admin.delete(path)
    assert cleared.status_code == 200 and (cleared.json()["revision"], cleared.json()["strokes"]) == (2, [])
    unknown = admin.get("refiners/focus_area/upload/proto/pic")
    assert unknown.status_code == 404 and "Unknown refiner 'focus_area'" in unknown.json()["error"]["message"]


def test_overrides_only_for_the_plans_they_change(item):
    plain = from_text("c_scale,w_10")
    with CaptureQueriesContext(connection) as queries:
        assert overrides.for_plan(item, plain) == ()
    assert len(queries) == 0  # no refiner query for a plan that starts from no AI result
    removal = from_text("e_background_removal/c_scale,w_10")
    assert overrides.for_plan(item, removal) == ()  # nothing painted yet
    REFINER.save(item, [REMOVE_LEFT])
    (found,) = overrides.for_plan(item, removal)
    assert (found.source, found.op, found.data.revision) == ("background_removal", "alpha_mask", 1)
    assert overrides.dependency(item, "background_removal") == ":mask:1"
    assert overrides.dependency(item, "test_invert") == ""


def test_the_engine_applies_an_alpha_mask_override():
    cut = pyvips.Image.new_from_array(np.full((30, 40, 4), 200, np.uint8), interpretation="srgb")
    strokes = [REMOVE_LEFT]

    class Painted:  # what a refiner hands the engine: a revision's strokes (no stored PNG)
        storage_name, width, height = "stored-elsewhere.png", 0, 0

    Painted.strokes = strokes
    out = overrides.apply(cut, [overrides.Override("background_removal", "alpha_mask", Painted())],
                          "background_removal").numpy()
    assert out[15, 2, 3] == 0 and out[15, 38, 3] == 200 and (out[..., :3] == 200).all()
    same = overrides.apply(cut, [overrides.Override("other", "alpha_mask", Painted())], "background_removal")
    assert same is cut  # an override of another producer's result is not applied
    assert (mask.rasterise(strokes, 40, 30)[15, :5] == 0).all()


class Counting:
    """A real provider installed for one test: records how often the engine asks."""

    def __init__(self):
        self.calls = []
        self.provider = overrides.Provider(self.for_plan, lambda asset, kind: "")

    def for_plan(self, asset, plan):
        self.calls.append(plan.key)
        return ()


def test_a_delivery_asks_for_overrides_once_per_render_and_not_for_a_hit(client, item):
    counting = Counting()
    overrides.install(counting.provider)
    try:
        url = f"/{CLOUD}/image/upload/c_scale,w_20/proto/pic.png"
        assert client.get(url).status_code == 200
        assert len(counting.calls) == 1
        assert client.get(url).status_code == 200  # a cached hit
        assert len(counting.calls) == 1
    finally:
        overrides._providers.remove(counting.provider)
        named.flush_log()  # the delivered transformation's log entry, written after the response
    assert not Cutout.objects.exists()
