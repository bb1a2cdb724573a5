"""The lean delivery path: the middleware short cut, the one-shot SQL row reads, the
render stored and served from memory, the per-process plan memo."""

from __future__ import annotations

import hashlib

import pytest
from django.core.files.storage import storages
from django.urls import resolve

from assets.models import Asset
from tests.conftest import CLOUD, make_image
from transforms import derived, executor, rows, views
from transforms.models import DerivedImage
from transforms.cloudinary.route import DELIVERY

pytestmark = pytest.mark.django_db


def body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


@pytest.fixture
def pic(upload):
    assert upload(make_image(120, 90, "jpg"), name="pic.jpg", public_id="shop/pic").status_code == 200
    return Asset.objects.get(public_id="shop/pic")


@pytest.mark.parametrize("path", [
    f"/{CLOUD}/image/upload/shop/pic.jpg", f"/{CLOUD}/image/upload/c_fill,w_40,h_30/v1/a/b.c.png",
    "/other/image/private/s--abcdefgh--/x.jpg", f"/{CLOUD}/image/upload/t_thumb/x",
])
def test_the_short_cut_matches_exactly_what_the_urlconf_sends_to_the_delivery_view(path):
    assert DELIVERY.match(path[1:]) is not None
    assert resolve(path).url_name == "delivery"


@pytest.mark.parametrize("path", ["/library/image/x.jpg", "/v1_1/demo/image/upload", "/studio/image/x",
                                  "/transformations/image/x", "/admin/image/x", "/static/image/x.png"])
def test_site_paths_never_take_the_short_cut(path):
    assert DELIVERY.match(path[1:]) is None


def test_delivery_keeps_request_id_and_the_security_headers(client, pic):
    response = client.get(f"/{CLOUD}/image/upload/shop/pic.jpg", HTTP_X_REQUEST_ID="abc-123")
    assert response.status_code == 200
    assert response["X-Request-Id"] == "abc-123"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "Cookie" not in response.get("Vary", "")
    assert not response.cookies


def test_a_post_still_meets_the_whole_stack(client, pic):
    response = client.post(f"/{CLOUD}/image/upload/shop/pic.jpg")
    assert response.status_code == 405
    assert response["Allow"] == "GET, HEAD"
    assert response["X-Frame-Options"] == "DENY"


def test_an_unknown_host_is_refused_as_before(client, pic):
    assert client.get(f"/{CLOUD}/image/upload/shop/pic.jpg", HTTP_HOST="evil.example").status_code == 400


def test_rows_get_builds_the_same_instance_as_the_orm(pic):
    pic.context = {"alt": "a shoe", "n": [1, 2]}
    pic.face_coordinates = [[1, 2, 3, 4]]
    pic.save()
    fast, orm = rows.get(Asset, type="upload", public_id="shop/pic"), Asset.objects.get(pk=pic.pk)
    assert {f.attname: getattr(fast, f.attname) for f in Asset._meta.concrete_fields} == \
        {f.attname: getattr(orm, f.attname) for f in Asset._meta.concrete_fields}
    assert fast._state.adding is False and fast._state.db == "default"
    assert rows.get(Asset, type="private", public_id="shop/pic") is None


def test_a_first_render_is_stored_once_and_served_from_the_same_bytes(client, pic):
    response = client.get(f"/{CLOUD}/image/upload/c_fill,w_40,h_30/shop/pic.jpg")
    assert response.status_code == 200
    data = body(response)
    row = DerivedImage.objects.get(asset=pic)
    assert row.bytes == len(data) == int(response["Content-Length"])
    assert row.etag == hashlib.md5(data).hexdigest() and response["ETag"] == f'"{row.etag}"'
    with storages["derived"].open(row.storage_name, "rb") as fh:
        assert fh.read() == data
    again = client.get(f"/{CLOUD}/image/upload/c_fill,w_40,h_30/shop/pic.jpg")  # a hit: from storage
    assert body(again) == data and again["ETag"] == response["ETag"]


def test_a_result_too_large_for_memory_goes_through_a_file(client, pic, monkeypatch):
    monkeypatch.setattr(executor, "MEMORY_PIXELS", 100)
    response = client.get(f"/{CLOUD}/image/upload/c_scale,w_50/shop/pic.png")
    assert response.status_code == 200
    data = body(response)
    row = DerivedImage.objects.get(asset=pic)
    assert row.etag == hashlib.md5(data).hexdigest() and row.format == "png"


def test_a_concurrent_insert_of_the_same_key_keeps_the_first_row(pic):
    from transforms.cloudinary.entry import from_text

    plan = from_text("c_fill,w_20,h_20").for_asset(pic)
    key = derived.cache_key(pic, plan)
    first = derived._render_and_store(pic, plan, key)
    second = derived._render_and_store(pic, plan, key)  # as if another process lost the race
    assert second.pk == first.pk
    assert DerivedImage.objects.filter(key=key).count() == 1
    assert sorted(storages["derived"].listdir(first.storage_name.rsplit("/", 1)[0])[1]) == \
        [first.storage_name.rsplit("/", 1)[1]]  # the loser's file is gone


def test_the_plan_memo_never_remembers_named_transformations():
    views._parse_pure.cache_clear()
    first = views._parse("upload/c_fill,w_10,h_10/x.jpg")
    assert views._parse("upload/c_fill,w_10,h_10/x.jpg") is first
    assert views._parse_pure.cache_info().hits == 1
    with pytest.raises(Exception):  # read from the database every time (here: no such transformation)
        views._parse("upload/t_thumb/x.jpg")
    assert views._parse_pure.cache_info().currsize == 1
