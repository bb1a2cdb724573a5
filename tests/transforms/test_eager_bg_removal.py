"""Eager transformations with e_background_removal ("You can request background removal as
an eager transformation to prepare the derived versions in advance of the first request").

Synchronous eager (the Upload API's default) computes the cut-out in the request (the
model runs in this process) and renders the derived image, so the response reports it
like any eager rendering and the first delivery is a 200, never a 423.  With
``eager_async`` the worker computes the cut-out, renders, records the result on the
asset and sends the ``eager`` notification.  The model is the real ISNet on small
generated scenes (see tests/transforms/test_background_removal.py).
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import pyvips
from django.core.files.storage import storages

from assets import tasks
from assets.models import Asset
from tests.conftest import signed
from tests.cutouts import centre, corners, scene
from transforms.cloudinary import eager
from transforms.models import Cutout, DerivedImage

CLOUD = "demo"


def _png(width: int = 320, height: int = 240) -> bytes:
    return pyvips.Image.new_from_array(scene(width, height)).write_to_buffer(".png")


def _pixels(data: bytes) -> np.ndarray:
    return pyvips.Image.new_from_buffer(data, "").numpy()


def _delivered(response) -> np.ndarray:
    body = b"".join(response.streaming_content) if response.streaming else response.content
    return _pixels(body)


def _stored(row: DerivedImage) -> np.ndarray:
    with storages["derived"].open(row.storage_name, "rb") as fh:
        return _pixels(fh.read())


def _is_cut_out(rgba: np.ndarray) -> bool:
    """The red disc kept opaque, the light background's corners transparent."""
    return (rgba.shape[2] == 4 and centre(rgba)[..., 3].min() > 230
            and all(c[..., 3].max() < 13 for c in corners(rgba)))


def test_sync_eager_computes_the_cutout_in_the_request_and_renders(upload, client, api_key):
    response = upload(_png(), name="scene.png", public_id="eager_bg",
                      eager="e_background_removal/png|e_background_removal,c_fill,w_100,h_100/webp")
    assert response.status_code == 200, response.content
    body = response.json()
    eager = body["eager"]
    assert [e["transformation"] for e in eager] == ["e_background_removal/png",
                                                    "e_background_removal,c_fill,w_100,h_100/webp"]
    assert [(e["width"], e["height"], e["format"]) for e in eager] == [(320, 240, "png"), (100, 100, "webp")]
    assert all(e["bytes"] > 0 and e["url"] for e in eager)
    assert eager[0]["url"].endswith(f"/demo/image/upload/e_background_removal/v{body['version']}/eager_bg.png")

    row = Cutout.objects.get(asset__public_id="eager_bg")
    assert (row.status, row.runs, row.width, row.height) == ("done", 1, 320, 240)  # one model run for both
    assert Asset.objects.get(public_id="eager_bg").info["eager"][0]["status"] == "processed"

    rows = {r.format: r for r in DerivedImage.objects.filter(asset__public_id="eager_bg")}
    assert set(rows) == {"png", "webp"}
    assert _is_cut_out(_stored(rows["png"]))
    assert np.abs(centre(_stored(rows["png"]))[..., :3].astype(int) - centre(scene())).max() <= 2
    small = _stored(rows["webp"])
    assert small.shape == (100, 100, 4) and small[0, 0, 3] < 13 and small[50, 50, 3] > 230

    # The first request is served from the eager rendering: no 423, no second model run.
    delivered = client.get(f"/{CLOUD}/image/upload/e_background_removal/eager_bg.png")
    assert delivered.status_code == 200, delivered.headers
    assert delivered["ETag"].strip('"') == rows["png"].etag
    assert _is_cut_out(_delivered(delivered))

    # explicit on the same version: another chain reuses the stored cut-out (no model run).
    explicit = client.post(f"/v1_1/{CLOUD}/image/explicit",
                           signed({"public_id": "eager_bg", "type": "upload",
                                   "eager": "e_background_removal/e_grayscale/png"}, api_key))
    assert explicit.status_code == 200, explicit.content
    assert [(e["width"], e["height"], e["format"]) for e in explicit.json()["eager"]] == [(320, 240, "png")]
    row.refresh_from_db()
    assert row.runs == 1 and Cutout.objects.count() == 1
    grey = _stored(DerivedImage.objects.get(asset__public_id="eager_bg", transformation__contains="grayscale"))
    assert _is_cut_out(grey) and np.ptp(centre(grey)[..., :3].astype(int), axis=2).max() <= 1


def test_explicit_eager_on_a_replaced_version_computes_that_versions_cutout(upload, client, api_key):
    assert upload(_png(160, 120), name="scene.png", public_id="eager_bg_v").status_code == 200
    first = client.get(f"/{CLOUD}/image/upload/e_background_removal/eager_bg_v.png")
    assert first.status_code == 423  # on the fly: queued (no worker here), nothing rendered
    pending = Cutout.objects.get(asset__public_id="eager_bg_v")
    assert pending.status == "pending"

    # explicit eager does not wait for a worker: it computes the pending row in the request.
    response = client.post(f"/v1_1/{CLOUD}/image/explicit",
                           signed({"public_id": "eager_bg_v", "type": "upload", "eager": "e_background_removal/png"},
                                  api_key))
    assert response.status_code == 200, response.content
    assert [(e["width"], e["height"]) for e in response.json()["eager"]] == [(160, 120)]
    pending.refresh_from_db()
    assert (pending.status, pending.runs) == ("done", 1)
    again = client.get(f"/{CLOUD}/image/upload/e_background_removal/eager_bg_v.png")
    assert again.status_code == 200 and _is_cut_out(_delivered(again))


@pytest.mark.parametrize("eager,status,message", [
    ("e_background_removal:hints_(unicorn)/png", 400, "Invalid e_background_removal hint 'unicorn'"),
    ("e_grayscale/e_background_removal/png", 400, "must be the first component"),
])
def test_bad_eager_background_removal_is_refused_before_storing(upload, eager, status, message):
    response = upload(_png(64, 48), name="s.png", public_id="eager_bg_bad", eager=eager)
    assert response.status_code == status, response.content
    assert message in response.json()["error"]["message"]
    assert not Asset.objects.filter(public_id="eager_bg_bad").exists()
    assert not Cutout.objects.exists()


@pytest.mark.parametrize("eager_async", [None, "true"])
def test_missing_model_is_a_503_naming_the_command_before_storing(upload, settings, tmp_path, eager_async):
    settings.DAM_ISNET_MODEL = tmp_path / "nowhere.onnx"
    response = upload(_png(64, 48), name="s.png", public_id="eager_bg_nomodel", eager="e_background_removal/png",
                      eager_async=eager_async)
    assert response.status_code == 503
    assert "fetch_models" in response.json()["error"]["message"]
    assert not Asset.objects.filter(public_id="eager_bg_nomodel").exists()
    assert not Cutout.objects.exists()


def test_prepare_ai_result_ignores_other_transformations(upload):
    upload(_png(64, 48), name="s.png", public_id="eager_bg_plain")
    asset = Asset.objects.get(public_id="eager_bg_plain")
    assert eager.prepare_ai_result(asset, "c_scale,w_10", "png") is None
    assert not Cutout.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_async_eager_computes_in_the_worker_renders_and_notifies(celery_worker, upload, client, http_recorder):
    notify = http_recorder.url + "/eager"
    response = upload(_png(), name="scene.png", public_id="eager_bg_async",
                      eager="e_background_removal/png|e_background_removal/b_red/jpg",
                      eager_async="true", eager_notification_url=notify)
    assert response.status_code == 200, response.content
    eager = response.json()["eager"]
    assert [e["status"] for e in eager] == ["processing", "processing"]
    batch_id = eager[0]["batch_id"]

    hits = http_recorder.wait_for(1, timeout=180)
    assert hits, open(celery_worker.log_path).read()[-4000:]
    payload = json.loads(hits[0]["body"])
    assert payload["notification_type"] == "eager" and payload["batch_id"] == batch_id
    assert [(e["transformation"], e["width"], e["height"], e["format"], e["status"]) for e in payload["eager"]] == [
        ("e_background_removal/png", 320, 240, "png", "processed"),
        ("e_background_removal/b_red/jpg", 320, 240, "jpg", "processed")]
    assert hits[0]["headers"].get("X-Cld-Signature")

    asset = Asset.objects.get(public_id="eager_bg_async")
    assert [e["status"] for e in asset.info["eager"]] == ["processed", "processed"]
    row = Cutout.objects.get(asset=asset)
    assert (row.status, row.runs) == ("done", 1)  # computed once, by the worker, for both
    assert DerivedImage.objects.filter(asset=asset).count() == 2

    # Prepared in advance of the first request: 200 at once, the stored renderings.
    png = client.get(f"/{CLOUD}/image/upload/e_background_removal/eager_bg_async.png")
    assert png.status_code == 200 and _is_cut_out(_delivered(png))
    jpg = client.get(f"/{CLOUD}/image/upload/e_background_removal/b_red/eager_bg_async.jpg")
    assert jpg.status_code == 200
    flat = _delivered(jpg)
    assert flat.shape[2] == 3 and all(c[..., 0].min() > 235 and c[..., 1].max() < 25 for c in corners(flat))
    assert DerivedImage.objects.filter(asset=asset).count() == 2
