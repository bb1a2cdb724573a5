"""The Search API (``resources/search``, ``folders/search``) through the Django test client:
expressions, sort_by with keyset cursors, max_results bounds, aggregations, with_field and
fields, GET and POST, clear 400s, and the route order (``folders/search`` never creates a folder)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from assets.models import ApiKey, Folder
from tests.admin_client import admin, basic  # noqa: F401  (fixtures)
from tests.assets.test_search_expr import NOW, make

pytestmark = pytest.mark.django_db


@pytest.fixture
def assets(db):
    rows = []
    for i in range(7):
        rows.append(make(f"cats/cat{i}", fmt="png" if i % 2 else "jpg", size=100 + i, width=10 * (i + 1),
                         tags=("cat",) + (("odd",) if i % 2 else ()), created=NOW - timedelta(minutes=i),
                         metadata={"color": "red"} if i == 3 else None))
    rows.append(make("dogs/dog", fmt="gif", created=NOW - timedelta(days=400), type_="private"))
    return rows


def ids(response):
    assert response.status_code == 200, response.content
    return [r["public_id"] for r in response.json()["resources"]]


def test_expression_sort_and_shape(admin, assets):
    response = admin.post("resources/search", {"expression": "tags:cat AND format:png",
                                               "sort_by": [{"public_id": "asc"}]})
    body = response.json()
    assert ids(response) == ["cats/cat1", "cats/cat3", "cats/cat5"]
    assert body["total_count"] == 3 and isinstance(body["time"], int) and "next_cursor" not in body
    first = body["resources"][0]
    for key in ("asset_id", "public_id", "format", "resource_type", "type", "created_at", "bytes", "width",
                "height", "folder", "asset_folder", "url", "secure_url", "tags"):
        assert key in first
    assert first["tags"] == ["cat", "odd"]


def test_default_sort_is_newest_and_default_page_is_50(admin, assets):
    assert ids(admin.post("resources/search", {})) == [f"cats/cat{i}" for i in range(7)] + ["dogs/dog"]


def test_keyset_paging_over_every_sort(admin, assets):
    for sort in ([{"bytes": "desc"}], [{"width": "asc"}], [{"created_at": "asc"}], [{"format": "asc"}],
                 [{"format": "desc"}, {"public_id": "asc"}]):
        seen, cursor = [], None
        for _ in range(10):
            params = {"expression": "", "sort_by": sort, "max_results": 3}
            if cursor:
                params["next_cursor"] = cursor
            body = admin.post("resources/search", params).json()
            assert len(body["resources"]) <= 3 and body["total_count"] == 8
            seen += [r["public_id"] for r in body["resources"]]
            cursor = body.get("next_cursor")
            if not cursor:
                break
        whole = ids(admin.post("resources/search", {"sort_by": sort, "max_results": 500}))
        assert seen == whole and len(set(seen)) == 8, sort


def test_cursor_is_bound_to_its_search(admin, assets):
    body = admin.post("resources/search", {"expression": "tags:cat", "max_results": 2}).json()
    cursor = body["next_cursor"]
    other = admin.post("resources/search", {"expression": "tags:odd", "max_results": 2, "next_cursor": cursor})
    assert other.status_code == 400 and "another search" in other.json()["error"]["message"]
    forged = admin.post("resources/search", {"expression": "tags:cat", "next_cursor": cursor[:-3] + "abc"})
    assert forged.status_code == 400 and forged.json()["error"]["message"] == "Invalid next_cursor"


def test_get_with_query_string(admin, assets):
    response = admin.get("resources/search", {"expression": "format:gif OR width>=70", "max_results": 5,
                                              "sort_by": '[{"public_id":"desc"}]', "aggregate": "format"})
    assert ids(response) == ["dogs/dog", "cats/cat6"]
    assert response.json()["aggregations"] == {"format": {"gif": 1, "jpg": 1}}


def test_aggregate_with_field_and_fields(admin, assets):
    body = admin.post("resources/search", {"expression": "folder:cats", "aggregate": ["format", "type"],
                                           "with_field": ["metadata", "tags", "image_metadata"],
                                           "fields": ["format"], "max_results": 7}).json()
    assert body["aggregations"] == {"format": {"jpg": 4, "png": 3}, "type": {"upload": 7}}
    red = next(r for r in body["resources"] if r["public_id"] == "cats/cat3")
    assert red["metadata"] == {"color": "red"}
    assert "format" in red and "bytes" not in red and "image_metadata" in red
    assert admin.post("resources/search", {"expression": "metadata.color=red"}).json()["total_count"] == 1


@pytest.mark.parametrize("params, message", [
    ({"expression": "tags:(cat"}, "Invalid expression 'tags:(cat': Unexpected '(': quote the value"),
    ({"expression": "(cat"}, "Unclosed '(' at position 0"),
    ({"expression": "colour:red"}, "Unknown field 'colour' at position 0"),
    ({"max_results": 501}, "max_results"),
    ({"max_results": 0}, "max_results"),
    ({"sort_by": [{"colour": "asc"}]}, "Invalid sort_by field 'colour'"),
    ({"sort_by": [{"bytes": "up"}]}, "Invalid sort_by direction"),
    ({"aggregate": ["tags"]}, "Invalid aggregate 'tags'"),
    ({"with_field": ["everything"]}, "Invalid with_field 'everything'"),
    ({"expression": 5}, "Invalid expression"),
    ({"next_cursor": "nonsense"}, "Invalid next_cursor"),
    ({"expression": "a" * 2001}, "too long"),
])
def test_bad_requests_are_400_with_a_message(admin, assets, params, message):
    response = admin.post("resources/search", params)
    assert response.status_code == 400
    assert message in response.json()["error"]["message"]


def test_viewer_keys_may_search(client, assets):
    viewer = ApiKey.objects.create(role="viewer")
    response = client.post("/v1_1/demo/resources/search", {"expression": "tags:odd"},
                           content_type="application/json", HTTP_AUTHORIZATION=basic(viewer.key, viewer.secret))
    assert response.status_code == 200 and response.json()["total_count"] == 3
    assert client.post("/v1_1/demo/resources/search", {}, content_type="application/json").status_code == 401


def test_folders_search_and_route_order(admin, db):
    for path in ("a", "a/b", "a/b/c", "search", "z/b"):
        Folder.objects.create(path=path)
    before = Folder.objects.count()
    body = admin.post("folders/search", {"expression": "name:b"}).json()
    assert [f["path"] for f in body["folders"]] == ["a/b", "z/b"] and body["total_count"] == 2
    assert set(body["folders"][0]) >= {"name", "path", "external_id", "created_at"}
    assert Folder.objects.count() == before  # POST folders/search is the search, not "create folder search"
    assert [f["path"] for f in admin.post("folders/search", {"expression": "path:a/*"}).json()["folders"]] == [
        "a/b", "a/b/c"]
    pages, cursor = [], None
    for _ in range(5):
        params = {"max_results": 2, "sort_by": [{"path": "desc"}], **({"next_cursor": cursor} if cursor else {})}
        body = admin.post("folders/search", params).json()
        pages.append([f["path"] for f in body["folders"]])
        cursor = body.get("next_cursor")
        if not cursor:
            break
    assert pages == [["z/b", "search"], ["a/b/c", "a/b"], ["a"]]
    bad = admin.post("folders/search", {"expression": "format:png"})
    assert bad.status_code == 400 and "Unknown folder field 'format'" in bad.json()["error"]["message"]


@pytest.mark.parametrize("params", [
    {"expression": ["tags:a"]}, {"expression": {"a": 1}}, {"sort_by": "nonsense"}, {"sort_by": [[1, 2]]},
    {"sort_by": [{"bytes": ["desc"]}]}, {"sort_by": [{}]}, {"sort_by": [{"a": 1, "b": 2}]},
    {"sort_by": '[{"bytes": "desc"}'}, {"aggregate": [{"type": "bytes"}]}, {"aggregate": [[]]},
    {"with_field": [None]}, {"fields": [{"x": 1}]}, {"max_results": "ten"}, {"max_results": 10 ** 30},
    {"next_cursor": 12}, {"next_cursor": ["x"]}, {"next_cursor": "é" * 300},
    {"expression": "width>99999999999999999999"}, {"expression": "created_at>99999d"},
    {"expression": "created_at:9999-12-31T23:59:59+14:00"}, {"expression": "metadata.a:[* TO *]"},
    {"expression": "context.ünïcode=1"}, {"expression": "\"unterminated \\"}, {"expression": "tags:\\"},
    {"expression": "((((((((((((((((((a))))))))))))))))))"}, {"expression": "-" * 100},
    {"expression": "a:b:c"}, {"expression": "[1 TO 2]"}, {"expression": "width:[a TO b]"},
    {"expression": "uploaded_at:[0001-01-01 TO 9999-12-31]"}, {"expression": "public_id:**"},
])
def test_hostile_input_is_never_a_500(admin, assets, params):
    for method in ("post", "get"):
        body = params if method == "post" else {k: v if isinstance(v, str) else str(v) for k, v in params.items()}
        response = getattr(admin, method)("resources/search", body)
        assert response.status_code in (200, 400), (params, response.status_code, response.content[:300])
        if response.status_code == 400:
            assert response.json()["error"]["message"]
        response = getattr(admin, method)("folders/search", body)
        assert response.status_code in (200, 400), (params, response.status_code, response.content[:300])
