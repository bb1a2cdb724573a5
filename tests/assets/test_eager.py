"""Eager transformations at upload and explicit: validated first, rendered synchronously
(the response reports each rendering) or by a worker with ``eager_async`` (the response
says processing; the asset's info and the ``eager`` notification report the result)."""

from __future__ import annotations

import json

import pytest
import pyvips
from django.core.files.storage import storages

from assets import tasks
from core.errors import BadRequest
from assets.models import Asset
from tests.conftest import make_image
from transforms.cloudinary import named
from transforms.models import DerivedImage

SPLITS = [
    ("c_scale,w_32", ("c_scale,w_32", None)),
    ("c_scale,w_32/png", ("c_scale,w_32", "png")),
    ("c_scale,w_32/e_sepia/WEBP", ("c_scale,w_32/e_sepia", "webp")),
    ("w_32/", ("w_32", None)),
    ("c_fill,h_10,w_10/e_sepia", ("c_fill,h_10,w_10/e_sepia", None)),
    ("t_thumb", ("t_thumb", None)),
    (" w_1 ", ("w_1", None)),
]


@pytest.mark.parametrize("item,expected", SPLITS)
def test_split_eager(item, expected):
    assert tasks.split_eager(item) == expected


EAGER_ERRORS = [
    ("t_nope", "Unknown named transformation: nope"),
    ("w_10/zzz", "Invalid eager format 'zzz'"),
    ("zz_1", "Invalid transformation"),
    ("w_10//h_1", "empty component"),
    ("/png", "no transformation"),
]


@pytest.mark.parametrize("item,message", EAGER_ERRORS)
def test_check_eager_errors(db, item, message):
    with pytest.raises(BadRequest, match=message):
        tasks.check_eager(["c_scale,w_10", item])


def test_bad_eager_upload_is_a_400_before_any_rendering(upload):
    response = upload(make_image(40, 30), public_id="bad_eager", eager="c_scale,w_10|t_nope")
    assert response.status_code == 400
    assert "Unknown named transformation: nope" in response.json()["error"]["message"]
    assert DerivedImage.objects.count() == 0
    assert not Asset.objects.filter(public_id="bad_eager").exists()  # refused before anything was stored


def test_strict_mode_serves_eager_renderings_but_renders_nothing_new(upload, client, settings):
    response = upload(make_image(80, 60), public_id="strict_eager", eager="c_scale,w_40")
    assert response.status_code == 200
    settings.DAM_STRICT_TRANSFORMATIONS = True
    stored = client.get("/demo/image/upload/c_scale,w_40/strict_eager.jpg")
    assert stored.status_code == 200
    assert pyvips.Image.new_from_buffer(b"".join(stored.streaming_content), "").width == 40
    fresh = client.get("/demo/image/upload/c_scale,w_41/strict_eager.jpg")
    assert fresh.status_code == 401 and "not allowed" in fresh["X-Cld-Error"]


def _decoded(row: DerivedImage) -> pyvips.Image:
    with storages["derived"].open(row.storage_name, "rb") as fh:
        return pyvips.Image.new_from_buffer(fh.read(), "")


def test_sync_eager_renders_and_reports(upload):
    named.create("thumb", "c_fill,h_10,w_10")
    response = upload(make_image(80, 60), public_id="eager_sync", eager="c_scale,w_40|t_thumb/png|c_scale,w_20/")
    assert response.status_code == 200, response.content
    body = response.json()
    eager = body["eager"]
    assert [e["transformation"] for e in eager] == ["c_scale,w_40", "t_thumb/png", "c_scale,w_20/"]
    assert [(e["width"], e["height"], e["format"]) for e in eager] == [(40, 30, "jpg"), (10, 10, "png"),
                                                                        (20, 15, "jpg")]
    assert all(e["bytes"] > 0 for e in eager)
    version = body["version"]
    assert eager[0]["url"].endswith(f"/demo/image/upload/c_scale,w_40/v{version}/eager_sync.jpg")
    assert eager[1]["url"].endswith(f"/demo/image/upload/t_thumb/v{version}/eager_sync.png")
    assert eager[0]["secure_url"].startswith("http")
    rows = DerivedImage.objects.filter(asset__public_id="eager_sync")
    assert rows.count() == 3
    assert sorted((r.width, r.height) for r in rows) == [(10, 10), (20, 15), (40, 30)]
    assert all(_decoded(r).width == r.width for r in rows)
    asset = Asset.objects.get(public_id="eager_sync")
    assert [e["status"] for e in asset.info["eager"]] == ["processed"] * 3


def test_eager_renders_are_the_cache_the_delivery_uses(upload, client):
    upload(make_image(80, 60), public_id="eager_hit", eager="c_scale,w_40")
    before = DerivedImage.objects.get(asset__public_id="eager_hit")
    response = client.get("/demo/image/upload/c_scale,w_40/eager_hit.jpg")
    assert response.status_code == 200
    assert DerivedImage.objects.filter(asset__public_id="eager_hit").count() == 1
    assert response["ETag"].strip('"') == before.etag


def test_explicit_eager_renders(upload, api_key, client):
    from tests.conftest import signed

    upload(make_image(80, 60), public_id="explicit_eager")
    response = client.post("/v1_1/demo/image/explicit",
                           signed({"public_id": "explicit_eager", "type": "upload", "eager": "c_scale,w_16"},
                                  api_key))
    assert response.status_code == 200, response.content
    assert [(e["width"], e["height"]) for e in response.json()["eager"]] == [(16, 12)]


@pytest.mark.django_db(transaction=True)
def test_async_eager_rendered_by_the_worker_and_notified(celery_worker, upload, http_recorder):
    notify = http_recorder.url + "/eager"
    response = upload(make_image(80, 60), public_id="eager_async", eager="c_scale,w_40|c_fill,h_8,w_8/png",
                      eager_async="true", eager_notification_url=notify)
    assert response.status_code == 200, response.content
    eager = response.json()["eager"]
    assert [e["status"] for e in eager] == ["processing", "processing"]
    batch_id = eager[0]["batch_id"]
    assert batch_id and eager[1]["batch_id"] == batch_id
    assert [e["transformation"] for e in eager] == ["c_scale,w_40", "c_fill,h_8,w_8/png"]

    requests = http_recorder.wait_for(1, timeout=90)
    assert requests, open(celery_worker.log_path).read()[-3000:]
    payload = json.loads(requests[0]["body"])
    assert payload["notification_type"] == "eager" and payload["batch_id"] == batch_id
    assert payload["public_id"] == "eager_async"
    assert [(e["width"], e["height"], e["format"], e["status"]) for e in payload["eager"]] == [
        (40, 30, "jpg", "processed"), (8, 8, "png", "processed")]
    assert requests[0]["headers"].get("X-Cld-Signature")

    asset = Asset.objects.get(public_id="eager_async")
    assert [e["status"] for e in asset.info["eager"]] == ["processed", "processed"]
    assert DerivedImage.objects.filter(asset=asset).count() == 2


def test_async_eager_of_a_replaced_version_is_skipped(db):
    assert tasks.render_eager("0" * 32, "0" * 32, "c_scale,w_10") == {"transformation": "c_scale,w_10",
                                                                       "status": "skipped"}
