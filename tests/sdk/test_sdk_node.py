"""The official npm ``cloudinary`` SDK (pinned in tests/sdk/node/package.json, installed by
``./dam test`` with ``npm ci``), unchanged, against a live server: faces, coordinates and
regions (issue 12).

How it sends them (lib/utils): ``face_coordinates``/``custom_coordinates`` through
``encodeDoubleArray`` (``"x,y,w,h|x,y,w,h"``; one flat list as one box), ``regions`` as
``JSON.stringify(options.regions)``, ``faces`` as ``"1"``/``"0"`` (as_safe_bool)."""

from __future__ import annotations

from urllib.parse import quote

import numpy as np
import pytest
import pyvips
from skimage import data

from assets.models import Asset, FocusAreas
from tests.conftest import make_image
from tests.sdk.live_node import node_runner, wsgi_server  # noqa: F401  (fixture)

pytestmark = pytest.mark.live

TIMEOUT = 120


@pytest.fixture
def node_sdk(wsgi_server, api_key, tmp_path):
    """`run(calls)`: the calls (``[("uploader.upload", [file, options]), ...]``) made by the
    npm SDK in one node process; returns their results (``{"error": ...}`` for a refusal)."""
    url = (f"cloudinary://{api_key.key}:{quote(api_key.secret, safe='')}@demo"
           f"?upload_prefix={quote(wsgi_server, safe='')}")
    node = node_runner("run.js", ("cloudinary",), tmp_path, TIMEOUT, CLOUDINARY_URL=url)

    def run(calls: list[tuple[str, list]]) -> list:
        return node([{"call": call, "args": args} for call, args in calls])

    def file(name: str, content: bytes) -> str:
        path = tmp_path / name
        path.write_bytes(content)
        return str(path)

    run.file = file
    return run


def png(array) -> bytes:
    return pyvips.Image.new_from_array(np.ascontiguousarray(array)).pngsave_buffer()


def inside(box, point) -> bool:
    x, y, w, h = box
    return x <= point[0] <= x + w and y <= point[1] <= y + h


def test_faces_and_coordinates(node_sdk):
    astro = node_sdk.file("astro.png", png(data.astronaut()))
    small = node_sdk.file("small.jpg", make_image(241, 51))
    detected, given, explicit, info, plain = node_sdk([
        ("uploader.upload", [astro, {"public_id": "node/astro", "faces": True}]),
        ("uploader.upload", [small, {"public_id": "node/small", "faces": True,
                                     "face_coordinates": [[120, 30, 109, 150], [121, 31, 110, 151]]}]),
        ("uploader.explicit", ["node/small", {"type": "upload", "face_coordinates": [[122, 32, 111, 152]],
                                              "custom_coordinates": [1, 2, 3, 4]}]),
        ("api.resource", ["node/small", {"faces": True, "coordinates": True}]),
        ("api.resource", ["node/astro", {"faces": True}]),
    ])
    assert len(detected["faces"]) == 1 and inside(detected["faces"][0], (225, 120))
    assert plain["faces"] == detected["faces"]
    assert given["faces"] == [[120, 30, 109, 21], [121, 31, 110, 20]]  # cut at the 51 px edge
    assert "error" not in explicit, explicit
    assert info["faces"] == [[122, 32, 111, 19]]
    assert info["coordinates"] == {"faces": [[122, 32, 111, 19]], "custom": [[1, 2, 3, 4]]}
    rows = FocusAreas.objects.filter(asset__public_id="node/small").order_by("revision")
    assert [r.source for r in rows] == ["upload", "explicit"]


def test_regions(node_sdk):
    image = node_sdk.file("r.jpg", make_image(64, 48))
    regions = {"hat": [[10, 5], [40, 20]], "shoe-1": [[0, 30], [20, 30], [10, 47]]}
    uploaded, explicit, updated, info, bad = node_sdk([
        ("uploader.upload", [image, {"public_id": "node/regions", "regions": regions}]),
        ("uploader.explicit", ["node/regions", {"type": "upload", "regions": {"box": [[50, 40], [90, 90]]}}]),
        ("api.update", ["node/regions", {"regions": {"hat": [[1, 2], [3, 4]]}}]),
        ("api.resource", ["node/regions", {}]),
        ("uploader.upload", [image, {"public_id": "node/bad", "regions": {"a_b": [[1, 1], [5, 5]]}}]),
    ])
    assert "error" not in uploaded, uploaded
    assert uploaded["regions"] == [{"name": "hat", "values": [[10, 5], [40, 20]]},
                                   {"name": "shoe-1", "values": [[0, 30], [20, 30], [10, 47]]}]
    assert explicit["regions"] == [{"name": "box", "values": [[50, 40], [64, 48]]}]
    assert updated["regions"] == info["regions"] == [{"name": "hat", "values": [[1, 2], [3, 4]]}]
    assert bad["error"]["http_code"] == 400 and "regions" in bad["error"]["message"]
    assert not Asset.objects.filter(public_id="node/bad").exists()
    rows = FocusAreas.objects.filter(asset__public_id="node/regions").order_by("revision")
    # a running worker (other tests start one) may add its detection
    assert [r.source for r in rows if r.source != "detection"] == ["upload", "explicit", "update"]
