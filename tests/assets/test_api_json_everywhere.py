"""Every answer under ``/v1_1/`` is Cloudinary's JSON: unknown paths at any depth (404),
a method a route does not take (405 with ``Allow``), trailing slashes, another cloud's
name, HEAD and OPTIONS.  The sweep walks every ``/v1_1/`` route (assets, transforms, refiners) with every
method, authenticated, and never sees an HTML page or a 500."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from tests.admin_client import basic
from tests.conftest import CLOUD

pytestmark = pytest.mark.django_db

METHODS = ("GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS")

# One concrete path per route name (the sweep fails if a route is added without one).
SAMPLES = {
    "admin-ping": "ping",
    "admin-usage": "usage",
    "admin-usage-date": "usage/2024-01-02",
    "admin-tags": "tags/image",
    "admin-resources-root": "resources",
    "admin-resource-by-asset-id": "resources/" + "0" * 32,
    "admin-resources-by-tag": "resources/image/tags/sweep",
    "admin-resources-by-context": "resources/image/context",
    "admin-resource": "resources/image/upload/sweep/none",
    "admin-resources-type": "resources/image/upload",
    "admin-resources": "resources/image",
    "admin-derived-resources": "derived_resources",
    "admin-folders": "folders",
    "admin-folder": "folders/sweep-folder",
    "admin-presets": "upload_presets",
    "admin-preset": "upload_presets/sweep-preset",
    "upload-api": "image/upload",
    "upload-api-archive": "image/generate_archive",
    "admin-search": "resources/search",
    "admin-folders-search": "folders/search",
    "admin-metadata-fields": "metadata_fields",
    "admin-metadata-order": "metadata_fields/order",
    "admin-metadata-field": "metadata_fields/sweep_field",
    "admin-metadata-datasource": "metadata_fields/sweep_field/datasource",
    "admin-metadata-datasource-order": "metadata_fields/sweep_field/datasource/order",
    "admin-metadata-datasource-restore": "metadata_fields/sweep_field/datasource_restore",
    "admin-restore-by-asset-ids": "resources/restore",
    "admin-publish-resources": "resources/image/publish_resources",
    "admin-upload-mappings": "upload_mappings",
    "admin-config": "config",
    # the other apps' routes under /v1_1/
    "admin-transformations": "transformations",
    "admin-transformation": "transformations/sweep_named",
    "refiner-generative-batch": "refiners/generative/upload/sweep/pic/variations/b1",
    "refiner-generative-variations": "refiners/generative/upload/sweep/pic/variations",
    "refiner-generative": "refiners/generative/upload/sweep/pic",
    "refiner": "refiners/background_removal/upload/sweep/pic",
}


def _api_patterns(patterns=None):
    for p in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(p, URLResolver):
            yield from _api_patterns(p.url_patterns)
        elif isinstance(p, URLPattern) and str(p.pattern).lstrip("^").startswith("v1_1/") and p.name:
            yield p


def _route_names():
    return [p.name for p in _api_patterns()]


def test_every_route_has_a_sample():
    assert sorted(_route_names()) == sorted(SAMPLES)


def _assert_json(response, method):
    kind = response.get("Content-Type", "")
    assert kind.startswith("application/json"), (method, response.status_code, kind, response.content[:200])
    assert response.status_code < 500, (method, response.status_code, response.content[:300])
    if method != "HEAD" and response.status_code >= 400:
        assert isinstance(response.json()["error"]["message"], str)


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_every_method_on_every_route_answers_json(api_key, name):
    client = Client(enforce_csrf_checks=True)
    auth = {"HTTP_AUTHORIZATION": basic(api_key.key, api_key.secret)}
    for method in METHODS:
        response = client.generic(method, f"/v1_1/{CLOUD}/{SAMPLES[name]}", b"", **auth)
        _assert_json(response, method)
        if response.status_code == 405:
            assert method not in response["Allow"].split(", ") and response["Allow"], (name, method)


UNKNOWN = [
    "/v1_1", "/v1_1/", f"/v1_1/{CLOUD}", f"/v1_1/{CLOUD}/", f"/v1_1/{CLOUD}/nothing", f"/v1_1/{CLOUD}/nothing/",
    f"/v1_1/{CLOUD}/ping/", f"/v1_1/{CLOUD}/a/b/c/d/e/f/g", f"/v1_1/{CLOUD}/image", f"/v1_1/{CLOUD}/image/",
    f"/v1_1/{CLOUD}/image/upload/", f"/v1_1/{CLOUD}/image/upload/extra", f"/v1_1/{CLOUD}/resources/",
    f"/v1_1/{CLOUD}/resources/image/upload/", f"/v1_1/{CLOUD}/resources/image/tags/", f"/v1_1/{CLOUD}/folders/",
    f"/v1_1/{CLOUD}/upload_presets/", f"/v1_1/{CLOUD}/usage/2024/01", "/v1_1/image/upload/sample.jpg",
    "/v1_1//ping", f"/v1_1/{CLOUD}//resources", f"/v1_1/{CLOUD}/%00", f"/v1_1/{CLOUD}/caf%C3%A9",
    f"/v1_1/{CLOUD}/%ff%fe", f"/v1_1/{CLOUD}/" + "x" * 3000,
]


@pytest.mark.parametrize("path", UNKNOWN)
def test_unknown_paths_answer_json_404_whatever_the_method(api_key, path):
    client = Client(enforce_csrf_checks=True)  # as a real caller: no CSRF token, no session
    auth = {"HTTP_AUTHORIZATION": basic(api_key.key, api_key.secret), "HTTP_ACCEPT": "text/html,*/*"}
    for method in METHODS:
        response = client.generic(method, path, b"", **auth)
        _assert_json(response, method)
        assert response.status_code in (400, 404), (path, method, response.status_code)


@pytest.mark.parametrize("path", ["ping", "resources/image", "folders", "image/upload", "nothing"])
def test_another_clouds_name_is_a_json_404(client, api_key, path):
    auth = {"HTTP_AUTHORIZATION": basic(api_key.key, api_key.secret), "HTTP_ACCEPT": "text/html"}
    for method in ("GET", "POST", "DELETE"):
        response = client.generic(method, f"/v1_1/not-{CLOUD}/{path}", b"", **auth)
        _assert_json(response, method)
        assert response.status_code == 404


def test_a_wrong_method_is_a_json_405_with_allow(client, api_key):
    auth = {"HTTP_AUTHORIZATION": basic(api_key.key, api_key.secret), "HTTP_ACCEPT": "text/html"}
    response = client.generic("DELETE", f"/v1_1/{CLOUD}/ping", b"", **auth)
    assert response.status_code == 405 and response["Allow"] == "GET, HEAD, OPTIONS"
    assert response.json() == {"error": {"message": 'Method "DELETE" not allowed.'}}
    response = client.get(f"/v1_1/{CLOUD}/image/upload", **auth)
    assert response.status_code == 405 and "POST" in response["Allow"] and "GET" not in response["Allow"]
    _assert_json(response, "GET")


def test_options_names_the_methods_and_nothing_else(client, api_key):
    auth = {"HTTP_AUTHORIZATION": basic(api_key.key, api_key.secret)}
    response = client.options(f"/v1_1/{CLOUD}/folders", **auth)
    assert response.status_code == 200 and response["Allow"] == "GET, HEAD, OPTIONS"
    assert response.json() == {"methods": ["GET", "HEAD", "OPTIONS"]}
    assert client.options(f"/v1_1/{CLOUD}/folders").status_code == 401  # the same credentials as any call


def test_unknown_calls_change_nothing(client, api_key):
    from assets.models import Asset, Folder, UploadPreset

    auth = {"HTTP_AUTHORIZATION": basic(api_key.key, api_key.secret)}
    before = (Asset.objects.count(), Folder.objects.count(), UploadPreset.objects.count())
    for method in ("POST", "PUT", "DELETE", "PATCH"):
        for path in UNKNOWN + [f"/v1_1/{CLOUD}/image/nothing", f"/v1_1/{CLOUD}/video/nothing"]:
            client.generic(method, path, b"public_id=x&folder=y&name=z", content_type="application/x-www-form-urlencoded",
                           **auth)
    assert (Asset.objects.count(), Folder.objects.count(), UploadPreset.objects.count()) == before
