"""Upload mappings: the Admin API (``upload_mappings``) and delivery from a mapped folder,
fetched from a real HTTP server on 127.0.0.1 through the SSRF guard."""

from __future__ import annotations

import pyvips
import pytest
from django.core.cache import cache

from assets import capacity, mappings
from assets.models import ApiKey, Asset, UploadMapping
from tests.admin_client import admin, basic  # noqa: F401  (fixtures)
from tests.conftest import CLOUD, make_image
from tests.sdk_fixtures import remote_files  # noqa: F401  (fixture)


def delivered(client, path: str):
    response = client.get(f"/{CLOUD}/image/upload/{path}")
    if response.status_code != 200:
        return response, None
    body = b"".join(response.streaming_content) if response.streaming else response.content
    return response, pyvips.Image.new_from_buffer(body, "")


# --- the Admin API -------------------------------------------------------------------------


def test_mapping_crud(admin):
    assert admin.post("upload_mappings", {"folder": "wiki", "template": "https://example.org/w/"}).json() == {
        "message": "created", "folder": "wiki"}
    assert admin.get("upload_mappings", {"folder": "wiki"}).json() == {
        "folder": "wiki", "template": "https://example.org/w/"}
    assert admin.put("upload_mappings", {"folder": "wiki", "template": "https://example.org/x"}).json() == {
        "message": "updated"}
    admin.post("upload_mappings", {"folder": "a/b", "template": "http://example.org/"})
    assert admin.get("upload_mappings").json() == {"mappings": [
        {"folder": "a/b", "template": "http://example.org/"}, {"folder": "wiki", "template": "https://example.org/x"}]}
    page = admin.get("upload_mappings", {"max_results": 1}).json()
    assert [m["folder"] for m in page["mappings"]] == ["a/b"]
    rest = admin.get("upload_mappings", {"max_results": 1, "next_cursor": page["next_cursor"]}).json()
    assert [m["folder"] for m in rest["mappings"]] == ["wiki"] and "next_cursor" not in rest
    assert admin.delete("upload_mappings", {"folder": "wiki"}).json() == {"message": "deleted"}
    assert [m.folder for m in UploadMapping.objects.all()] == ["a/b"]


@pytest.mark.parametrize("call,params,status,message", [
    ("post", {"folder": "x"}, 400, "template"),
    ("post", {"template": "https://example.org/"}, 400, "folder"),
    ("post", {"folder": "x", "template": "ftp://example.org/"}, 400, "http(s)"),
    ("post", {"folder": "x", "template": "https://example.org/?a=1"}, 400, "query"),
    ("post", {"folder": "x", "template": "https://" + "a" * 1100}, 400, "longer"),
    ("post", {"folder": "../up", "template": "https://example.org/"}, 400, "public_id"),
    ("post", {"folder": "dup", "template": "https://example.org/"}, 409, "already mapped"),
    ("put", {"folder": "none", "template": "https://example.org/"}, 404, "Mapping not found"),
    ("delete", {"folder": "none"}, 404, "Mapping not found"),
    ("get", {"folder": "none"}, 404, "Mapping not found"),
])
def test_mapping_refuses_bad_input(admin, call, params, status, message):
    UploadMapping.objects.create(folder="dup", template="https://example.org/")
    response = getattr(admin, call)("upload_mappings", params)
    assert response.status_code == status and message in response.json()["error"]["message"]
    assert UploadMapping.objects.count() == 1


def test_only_an_admin_key_changes_mappings(client, db):
    editor = ApiKey.objects.create(name="editor", role="editor")
    auth = {"HTTP_AUTHORIZATION": basic(editor.key, editor.secret)}
    url = f"/v1_1/{CLOUD}/upload_mappings"
    response = client.post(url, {"folder": "x", "template": "https://example.org/"}, **auth)
    assert response.status_code == 403 and "upload mappings" in response.json()["error"]["message"]
    assert client.get(url, **auth).status_code == 200
    assert not UploadMapping.objects.exists()


# --- delivery from a mapped folder ------------------------------------------------------------


@pytest.fixture
def mapped(remote_files, settings, db):
    settings.DAM_ALLOW_PRIVATE_REMOTE_URLS = True  # the test's file server is on the loopback
    cache.clear()  # remembered misses (mappings.MISS_SECONDS) of earlier tests
    base = remote_files("/images/cat.jpg", make_image(40, 30)).rsplit("/cat.jpg", 1)[0]
    UploadMapping.objects.create(folder="remote", template=base)  # no trailing slash: one is added
    return remote_files


def test_first_request_fetches_and_stores(client, mapped):
    response, image = delivered(client, "remote/cat.jpg")
    assert response.status_code == 200 and (image.width, image.height) == (40, 30)
    asset = Asset.objects.get()
    assert (asset.public_id, asset.type, asset.folder, asset.width) == ("remote/cat", "upload", "remote", 40)
    # later requests find the stored asset (the remote copy changing does not matter)
    mapped("/images/cat.jpg", make_image(8, 8))
    response, image = delivered(client, "w_20/remote/cat.jpg")
    assert response.status_code == 200 and (image.width, image.height) == (20, 15)
    assert Asset.objects.count() == 1


def test_nested_path_and_transformation_on_first_request(client, mapped):
    mapped("/images/sub/dog.png", make_image(50, 20, fmt="png"), "image/png")
    response, image = delivered(client, "c_scale,w_25/remote/sub/dog.png")
    assert response.status_code == 200 and (image.width, image.height) == (25, 10)
    assert Asset.objects.get().public_id == "remote/sub/dog"


def test_missing_remote_file_is_a_404_and_stores_nothing(client, mapped):
    response, _ = delivered(client, "remote/absent.jpg")
    assert response.status_code == 404 and "remote/absent" in response.json()["error"]["message"]
    mapped("/images/page.jpg", b"<html>not an image</html>", "text/html")
    response, _ = delivered(client, "remote/page.jpg")
    assert response.status_code == 404 and "remote/page" in response.json()["error"]["message"]
    response, _ = delivered(client, "unmapped/cat.jpg")
    assert response.status_code == 404
    assert not Asset.objects.exists()


def test_a_miss_is_remembered_so_repeated_requests_do_not_fetch_again(client, mapped):
    response, _ = delivered(client, "remote/later.jpg")
    assert response.status_code == 404
    mapped("/images/later.jpg", make_image(12, 9))  # the file appears at the source
    response, _ = delivered(client, "w_6/remote/later.jpg")
    assert response.status_code == 404 and "remote/later" in response.json()["error"]["message"]  # not fetched
    cache.clear()  # the remembered miss expires (MISS_SECONDS)
    response, image = delivered(client, "remote/later.jpg")
    assert response.status_code == 200 and (image.width, image.height) == (12, 9)


def test_the_ssrf_guard_still_applies(client, mapped, settings):
    settings.DAM_ALLOW_PRIVATE_REMOTE_URLS = False
    response, _ = delivered(client, "remote/cat.jpg")
    assert response.status_code == 404 and "non-public address" in response.json()["error"]["message"]
    assert not Asset.objects.exists()


def test_fetches_are_bounded(client, mapped):
    held = [capacity.try_acquire("upload_mapping", mappings.FETCH_SLOTS) for _ in range(mappings.FETCH_SLOTS)]
    try:
        assert all(held)
        response, _ = delivered(client, "remote/cat.jpg")
        assert response.status_code == 503 and response["Retry-After"]
    finally:
        for _ in held:
            capacity.release("upload_mapping")
    assert delivered(client, "remote/cat.jpg")[0].status_code == 200
