"""The official SDKs, unchanged, against the Search API of a live server: pycloudinary's
``cloudinary.search.Search`` / ``SearchFolders`` builders (POSTed JSON) with expressions,
sort_by, max_results, next_cursor paging, with_field and aggregate; and the npm SDK's
``api.search`` / ``api.search_folders``."""

from __future__ import annotations

import cloudinary
import cloudinary.api
import cloudinary.exceptions
import pytest
from cloudinary.search import Search
from cloudinary.search_folders import SearchFolders

from tests.conftest import make_image
from tests.sdk.live_node import wsgi_server  # noqa: F401 (fixture)
from tests.sdk.test_sdk_node import node_sdk  # noqa: F401 (fixture)
from tests.sdk_fixtures import sdk  # noqa: F401 (fixture)

pytestmark = pytest.mark.live


def upload_set(sdk):
    sizes = {"shop/red": (40, 30), "shop/blue": (80, 20), "shop/green": (20, 60), "other/grey": (30, 30)}
    for public_id, (w, h) in sizes.items():
        sdk.upload(make_image(w, h), public_id=public_id, tags=["shop"] if public_id.startswith("shop") else [],
                   context={"alt": public_id.split("/")[1]})
    sdk.upload(make_image(10, 10), public_id="shop/logo", tags=["brand"])


def test_search_builder(sdk):
    upload_set(sdk)
    result = (Search().expression("folder:shop AND width>=30").sort_by("width", "asc").max_results(10)
              .with_field("context").with_field("tags").aggregate("format").execute())
    assert [r["public_id"] for r in result["resources"]] == ["shop/red", "shop/blue"]
    assert [r["width"] for r in result["resources"]] == [40, 80]
    assert result["total_count"] == 2 and "next_cursor" not in result
    assert result["resources"][0]["tags"] == ["shop"]
    assert result["resources"][0]["context"] == {"custom": {"alt": "red"}}
    assert result["aggregations"] == {"format": {"jpg": 2}}

    assert [r["public_id"] for r in Search().expression("tags:brand OR context.alt=grey").sort_by(
        "public_id", "asc").execute()["resources"]] == ["other/grey", "shop/logo"]
    assert Search().expression("public_id:shop/* AND -tags:shop").execute()["total_count"] == 1
    assert Search().expression("created_at>1d AND bytes<1mb").execute()["total_count"] == 5


def test_search_paging_with_next_cursor(sdk):
    upload_set(sdk)
    seen, cursor = [], None
    for _ in range(10):
        search = Search().expression("resource_type:image").sort_by("public_id", "desc").max_results(2)
        if cursor:
            search = search.next_cursor(cursor)
        result = search.execute()
        assert result["total_count"] == 5 and len(result["resources"]) <= 2
        seen += [r["public_id"] for r in result["resources"]]
        cursor = result.get("next_cursor")
        if not cursor:
            break
    assert seen == ["shop/red", "shop/logo", "shop/green", "shop/blue", "other/grey"]


def test_search_errors_reach_the_sdk(sdk):
    with pytest.raises(cloudinary.exceptions.BadRequest, match=r"Unclosed '\(' at position 0"):
        Search().expression("(tags:shop").execute()
    with pytest.raises(cloudinary.exceptions.BadRequest, match="max_results"):
        Search().max_results(501).execute()


def test_search_folders(sdk):
    cloudinary.api.create_folder("shop/winter")
    upload_set(sdk)
    result = SearchFolders().expression("path:shop/*").sort_by("path", "asc").max_results(5).execute()
    assert [f["path"] for f in result["folders"]] == ["shop/winter"]
    assert [f["name"] for f in SearchFolders().expression("name:shop").execute()["folders"]] == ["shop"]


def test_node_sdk_search(node_sdk):
    red = node_sdk.file("red.jpg", make_image(40, 30))
    blue = node_sdk.file("blue.jpg", make_image(80, 20))
    node_sdk([("uploader.upload", [red, {"public_id": "node/red", "tags": ["shop"]}]),
              ("uploader.upload", [blue, {"public_id": "node/blue", "tags": ["shop"]}])])
    first, = node_sdk([("api.search", [{"expression": "tags=shop", "sort_by": [{"public_id": "asc"}],
                                        "max_results": 1, "aggregate": ["format"]}])])
    assert [r["public_id"] for r in first["resources"]] == ["node/blue"]
    assert first["total_count"] == 2 and first["aggregations"] == {"format": {"jpg": 2}}
    second, bad, folders = node_sdk([
        ("api.search", [{"expression": "tags=shop", "sort_by": [{"public_id": "asc"}], "max_results": 1,
                         "next_cursor": first["next_cursor"]}]),
        ("api.search", [{"expression": "width>"}]),
        ("api.search_folders", [{"expression": "name:node"}]),
    ])
    assert [r["public_id"] for r in second["resources"]] == ["node/red"] and "next_cursor" not in second
    assert bad["error"]["http_code"] == 400 and "Missing value after width>" in bad["error"]["message"]
    assert [f["path"] for f in folders["folders"]] == ["node"]


def test_search_structured_metadata(sdk):
    """Fields made through the metadata API, values set on upload: metadata.<external_id> terms."""
    api = cloudinary.api
    api.add_metadata_field({"external_id": "rating", "label": "Rating", "type": "integer"})
    api.add_metadata_field({"external_id": "shot", "label": "Shot", "type": "date"})
    api.add_metadata_field({"external_id": "topics", "label": "Topics", "type": "set",
                            "datasource": {"values": [{"external_id": "sea", "value": "Sea"},
                                                      {"external_id": "sky", "value": "Sky"}]}})
    sdk.upload(make_image(8, 8), public_id="md/one", metadata={"rating": 5, "shot": "2024-05-01",
                                                               "topics": ["sea", "sky"]})
    sdk.upload(make_image(8, 8), public_id="md/two", metadata={"rating": 2, "topics": ["sky"]})
    sdk.upload(make_image(8, 8), public_id="md/zero")

    def found(expression):
        result = Search().expression(expression).sort_by("public_id", "asc").with_field("metadata").execute()
        return [r["public_id"] for r in result["resources"]]

    assert found("metadata.topics=sea") == ["md/one"]
    assert found("metadata.topics:sky") == ["md/one", "md/two"]
    assert found("metadata.rating>=3") == ["md/one"]
    assert found("metadata.rating=2") == ["md/two"]
    assert found("metadata.shot:[2024-01-01 TO 2024-12-31]") == ["md/one"]
    assert found("-metadata.topics=sea AND folder:md") == ["md/two", "md/zero"]  # no value: not "sea"
    assert found("NOT metadata.rating>=3 AND folder:md") == ["md/two", "md/zero"]
    one = Search().expression("public_id=md/one").with_field("metadata").execute()["resources"][0]
    assert one["metadata"] == {"rating": 5, "shot": "2024-05-01", "topics": ["sea", "sky"]}
