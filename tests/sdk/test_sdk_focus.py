"""Faces, coordinates and regions through the official cloudinary Python SDK, unchanged,
against a live server (issue 12): ``faces=True``, ``face_coordinates``,
``custom_coordinates`` and ``regions`` on upload, explicit and update, read back with
``api.resource(..., faces=True, coordinates=True)``.

How the SDK sends them (cloudinary.utils): coordinates through ``encode_double_array``
(``"x,y,w,h|x,y,w,h"``, one flat list as ``"x,y,w,h"``), regions through ``json_encode``
(the JSON object's text), booleans as ``"1"``/``"true"``."""

from __future__ import annotations

import cloudinary
import cloudinary.api
import cloudinary.exceptions
import cloudinary.uploader
import numpy as np
import pytest
import pyvips
from skimage import data

from assets.models import Asset, FocusAreas

from tests.conftest import make_image
from tests.sdk_fixtures import sdk  # noqa: F401 (fixtures)

pytestmark = pytest.mark.live


def png(array) -> bytes:
    return pyvips.Image.new_from_array(np.ascontiguousarray(array)).pngsave_buffer()


def inside(box, point) -> bool:
    x, y, w, h = box
    return x <= point[0] <= x + w and y <= point[1] <= y + h


def test_face_coordinates_as_pycloudinarys_own_test_with_boxes_cut_at_the_edge(sdk):
    """pycloudinary's test_uploader.test_face_coordinates on its 241x51 image; Cloudinary
    answers [[120, 30, 109, 51], [121, 31, 110, 51]] there (the height capped, the box still
    past the bottom edge); we cut at the edge (README)."""
    coordinates = [[120, 30, 109, 150], [121, 31, 110, 151]]
    result = sdk.upload(make_image(241, 51), face_coordinates=coordinates, faces=True)
    assert result["faces"] == [[120, 30, 109, 21], [121, 31, 110, 20]]

    different = [[122, 32, 111, 152]]
    custom = [1, 2, 3, 4]  # one flat box, as the SDK's own test sends it
    cloudinary.uploader.explicit(result["public_id"], face_coordinates=different, custom_coordinates=custom,
                                 type="upload")
    info = cloudinary.api.resource(result["public_id"], faces=True, coordinates=True)
    assert info["faces"] == [[122, 32, 111, 19]]
    assert info["coordinates"] == {"faces": [[122, 32, 111, 19]], "custom": [custom]}
    rows = FocusAreas.objects.filter(asset__public_id=result["public_id"]).order_by("revision")
    assert [r.source for r in rows] == ["upload", "explicit"]


def test_faces_true_detects_on_upload_and_explicit(sdk):
    result = sdk.upload(png(data.astronaut()), public_id="sdk/astro", faces=True, filename="a.png")
    assert len(result["faces"]) == 1 and inside(result["faces"][0], (225, 120))
    info = cloudinary.api.resource("sdk/astro", faces=True, coordinates=True)
    assert info["faces"] == result["faces"]
    assert info["coordinates"] == {"faces": result["faces"], "custom": []}

    sdk.upload(png(data.coffee()), public_id="sdk/coffee", filename="c.png")
    assert cloudinary.uploader.explicit("sdk/coffee", type="upload", faces=True)["faces"] == []
    assert cloudinary.api.resource("sdk/coffee", faces=True)["faces"] == []


def test_regions_on_upload_explicit_and_update(sdk):
    regions = {"hat": [[10, 5], [40, 20]], "shoe-1": [[0, 30], [20, 30], [10, 47]]}
    result = sdk.upload(make_image(64, 48), public_id="sdk/regions", regions=regions)
    listed = [{"name": "hat", "values": [[10, 5], [40, 20]]},
              {"name": "shoe-1", "values": [[0, 30], [20, 30], [10, 47]]}]
    assert result["regions"] == listed
    assert cloudinary.api.resource("sdk/regions")["regions"] == listed

    result = cloudinary.uploader.explicit("sdk/regions", type="upload", regions={"box": [[50, 40], [90, 90]]})
    assert result["regions"] == [{"name": "box", "values": [[50, 40], [64, 48]]}]  # cut at the edge

    updated = cloudinary.api.update("sdk/regions", regions={"hat": [[1, 2], [3, 4]]}, custom_coordinates=[[5, 6, 7, 8]])
    assert updated["regions"] == [{"name": "hat", "values": [[1, 2], [3, 4]]}]
    info = cloudinary.api.resource("sdk/regions", coordinates=True)
    assert info["coordinates"] == {"faces": [], "custom": [[5, 6, 7, 8]]}
    rows = FocusAreas.objects.filter(asset__public_id="sdk/regions").order_by("revision")
    # a running worker (other tests start one) may add its detection
    assert [r.source for r in rows if r.source != "detection"] == ["upload", "explicit", "update"]


def test_bad_boxes_and_regions_are_refused_naming_the_field(sdk):
    with pytest.raises(cloudinary.exceptions.BadRequest, match="face_coordinates.*outside"):
        sdk.upload(make_image(64, 48), public_id="sdk/bad", face_coordinates=[[100, 100, 10, 10]])
    with pytest.raises(cloudinary.exceptions.BadRequest, match="regions.*region name"):
        sdk.upload(make_image(64, 48), public_id="sdk/bad", regions={"not_ok": [[1, 1], [5, 5]]})
    with pytest.raises(cloudinary.exceptions.BadRequest, match="regions.*two points"):
        sdk.upload(make_image(64, 48), public_id="sdk/bad", regions={"one": [[1, 1]]})
    assert not Asset.objects.filter(public_id="sdk/bad").exists()
    sdk.upload(make_image(64, 48), public_id="sdk/ok")
    with pytest.raises(cloudinary.exceptions.BadRequest, match="custom_coordinates.*no area"):
        cloudinary.api.update("sdk/ok", custom_coordinates=[[1, 1, 0, 5]])
    assert FocusAreas.objects.filter(asset__public_id="sdk/ok").count() == 0
