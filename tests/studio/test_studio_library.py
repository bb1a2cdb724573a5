"""The Media Library: search, filters, sort, keyset pages, folders, bulk actions, uploads."""

from __future__ import annotations

import io
import re

import pytest

from assets.models import Asset, AssetTag, Folder, UploadPreset
from studio import library, links
from tests.conftest import make_image
from tests.studio_fixtures import asset_row, login, users  # noqa: F401

pytestmark = pytest.mark.django_db


def names(response) -> list[str]:
    return re.findall(r'class="name" title="([^"]+)"', response.content.decode())


@pytest.fixture
def catalogue(db):
    return [
        asset_row("shoes/red", format="jpg", bytes=500, tags=["sale", "summer"], original_filename="IMG_0001"),
        asset_row("shoes/blue", format="png", bytes=3000, context={"alt": "Blue suede shoe", "sku": "B-77"}),
        asset_row("shoes/old/boot", format="webp", bytes=3000, type="private"),
        asset_row("hats/cap", format="jpg", bytes=100, tags=["summer"]),
        asset_row("logo", format="png", bytes=9000, original_filename="company-logo-final"),
    ]


@pytest.mark.parametrize("params,expected", [
    ({}, ["logo", "hats/cap", "shoes/old/boot", "shoes/blue", "shoes/red"]),
    ({"q": "shoes"}, ["shoes/old/boot", "shoes/blue", "shoes/red"]),  # public_id
    ({"q": "img_0001"}, ["shoes/red"]),  # original filename, any case
    ({"q": "summer"}, ["hats/cap", "shoes/red"]),  # tag
    ({"q": "suede"}, ["shoes/blue"]),  # context value
    ({"q": "png"}, ["logo", "shoes/blue"]),  # format
    ({"q": "nothing-like-this"}, []),
    ({"format": "jpg"}, ["hats/cap", "shoes/red"]),
    ({"type": "private"}, ["shoes/old/boot"]),
    ({"tag": "sale"}, ["shoes/red"]),
    ({"tag": "summer", "format": "jpg", "q": "hat"}, ["hats/cap"]),
    ({"sort": "oldest"}, ["shoes/red", "shoes/blue", "shoes/old/boot", "hats/cap", "logo"]),
    ({"sort": "name"}, ["hats/cap", "logo", "shoes/blue", "shoes/old/boot", "shoes/red"]),
    ({"sort": "size"}, ["logo", "shoes/old/boot", "shoes/blue", "shoes/red", "hats/cap"]),
    ({"sort": "bogus"}, ["logo", "hats/cap", "shoes/old/boot", "shoes/blue", "shoes/red"]),
])
def test_search_filter_sort(login, catalogue, params, expected):
    response = login("viewer").get("/library/", params)
    assert response.status_code == 200
    assert names(response) == expected
    if params.get("sort") == "bogus":
        assert b"Unknown sort" in response.content


def test_folder_page_shows_its_assets_and_the_tree(login, catalogue):
    client = login("viewer")
    response = client.get("/library/shoes/")
    assert names(response) == ["shoes/blue", "shoes/red"]
    html = response.content.decode()
    # the tree: every folder, with the assets in it and below
    assert re.search(r'href="/library/shoes/" aria-current="page"[^>]*>shoes <span class="count">3</span>', html)
    assert re.search(r'href="/library/shoes/old/"[^>]*>old <span class="count">1</span>', html)
    assert "All assets <span class=\"count\" id=\"all-count\">5</span>" in html
    assert names(client.get("/library/shoes/", {"q": "boot"})) == []
    assert client.get("/library/no/such/").status_code == 200  # an empty folder is just empty
    assert client.get("/library/a/../b/").status_code == 404


def test_folder_tree_orders_children_under_parents(catalogue):
    Folder.objects.create(path="shoes b")
    asset_row("shoes b/x")
    paths = [n.path for n in library.folder_tree()]
    assert paths.index("shoes/old") == paths.index("shoes") + 1 and paths.index("shoes b") > paths.index("shoes/old")


@pytest.mark.parametrize("sort", list(library.SORTS))
def test_keyset_pages_cover_everything_once(login, sort):
    # ties in size and name prefixes on purpose
    for i in range(23):
        asset_row(f"p/{i % 5}-{i:02d}", bytes=1000 * (i % 3))
    client = login("viewer")
    seen, url, pages = [], "/library/", 0
    params = {"sort": sort}
    while url:
        response = client.get(url, params)
        params = {}
        seen += names(response)
        match = re.search(r'href="([^"]+)"[^>]*rel="next"', response.content.decode())
        url = match.group(1).replace("&amp;", "&") if match else None
        pages += 1
    assert pages == 1 + 23 // 10 and len(seen) == 23 and len(set(seen)) == 23
    expected = [a.public_id for a in Asset.objects.order_by(*library.SORTS[sort][1])]
    assert seen == expected


@pytest.fixture(autouse=True)
def _small_pages(monkeypatch):
    monkeypatch.setattr(library, "PAGE_SIZE", 10)
    monkeypatch.setattr(library.page, "__defaults__", (10, True))


def test_stale_cursor_falls_back_to_first_page(login, catalogue):
    response = login("viewer").get("/library/", {"sort": "name", "after": "garbage!"})
    assert names(response)[0] == "hats/cap" and b"out of date" in response.content


def test_deeply_nested_cursor_falls_back_to_first_page(login, catalogue):
    import base64

    deep = base64.urlsafe_b64encode(b'["name",' + b"[" * 100_000 + b"]" * 100_000 + b"]").decode().rstrip("=")
    response = login("viewer").get("/library/", {"sort": "name", "after": deep})
    assert response.status_code == 200 and names(response)[0] == "hats/cap"


def test_htmx_search_renders_only_the_results(login, catalogue):
    response = login("viewer").get("/library/", {"q": "shoes"}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="results")
    html = response.content.decode()
    assert "<html" not in html and "Folders" not in html and len(names(response)) == 3


def test_thumbnails_use_our_delivery_urls(login, catalogue):
    html = login("viewer").get("/library/").content.decode()
    assert 'loading="lazy"' in html and 'alt="shoes/red"' in html
    red = Asset.objects.get(public_id="shoes/red")
    assert f'src="{links.thumbnail(red)["src"]}"' in html
    boot = Asset.objects.get(public_id="shoes/old/boot")  # private: signed
    assert (re.search(r"/demo/image/private/s--[^/]+--/", links.thumbnail(boot)["src"])
            or not links.keys.signing_secrets())


def test_thumbnail_mode_matches_engine(login, upload):
    """Fails when the engine starts (or stops) rendering c_fill: flip studio.links.ENGINE_RENDERS_FILL."""
    import pyvips

    response = upload(make_image(400, 300), public_id="probe/fill")
    asset = Asset.objects.get(public_id="probe/fill")
    client = login("viewer")
    got = client.get(links.path(asset, links.THUMB))
    renders = False
    if got.status_code == 200:
        body = b"".join(got.streaming_content) if got.streaming else got.content
        image = pyvips.Image.new_from_buffer(body, "")
        renders = (image.width, image.height) == (240, 240)
    assert renders == links.ENGINE_RENDERS_FILL, (
        f"the engine {'now renders' if renders else 'does not render'} c_fill: "
        f"set studio.links.ENGINE_RENDERS_FILL = {renders}")
    tile = links.thumbnail(asset)
    if links.ENGINE_RENDERS_FILL:
        assert "c_fill,w_240,h_240" in tile["src"] and "c_fill,w_480,h_480" in tile["srcset"] and " 2x" in tile["srcset"]
    else:
        assert tile["src"] == links.path(asset)


# --- bulk actions ----------------------------------------------------------------------


def ids(*public_ids) -> list[str]:
    return [Asset.objects.get(public_id=p).asset_id for p in public_ids]


def test_bulk_tag_and_untag(login, catalogue):
    client = login("editor")
    response = client.post("/library/-/bulk/", {"action": "tag", "tags": "new, sale", "ids": ids("shoes/red", "logo"),
                                                 "next": "/library/?q=s"})
    assert response.status_code == 302 and response["Location"] == "/library/?q=s"
    assert Asset.objects.get(public_id="logo").tag_names == ["new", "sale"]
    assert Asset.objects.get(public_id="shoes/red").tag_names == ["new", "sale", "summer"]
    client.post("/library/-/bulk/", {"action": "untag", "tags": "sale", "ids": ids("shoes/red", "logo")})
    assert Asset.objects.get(public_id="shoes/red").tag_names == ["new", "summer"]


@pytest.mark.parametrize("data,message", [
    ({"action": "tag", "tags": " , "}, "Enter at least one tag."),
    ({"action": "tag", "tags": "x" * 300}, "longer than 255"),
    ({"action": "move", "folder": "a/../b"}, "Invalid folder"),
    ({"action": "explode"}, "Select a valid choice"),
    ({"action": "tag", "tags": "a", "ids": []}, "Select at least one asset"),
])
def test_bulk_validation(login, catalogue, data, message):
    client = login("editor")
    payload = {"ids": ids("logo"), **data}
    response = client.post("/library/-/bulk/", payload, follow=True)
    assert message in response.content.decode()
    assert AssetTag.objects.filter(name="a").count() == 0


def test_bulk_move_renames_public_ids(login, catalogue):
    client = login("editor")
    asset_row("archive/cap")  # a clash for hats/cap
    response = client.post("/library/-/bulk/", {"action": "move", "folder": "archive",
                                                 "ids": ids("shoes/red", "hats/cap", "logo")}, follow=True)
    html = response.content.decode()
    assert "Moved 2 assets to archive" in html and "archive/cap exists already" in html
    assert set(Asset.objects.filter(folder="archive").values_list("public_id", flat=True)) == {
        "archive/red", "archive/cap", "archive/logo"}
    assert Asset.objects.filter(public_id="hats/cap").exists()
    assert Folder.objects.filter(path="archive").exists()
    client.post("/library/-/bulk/", {"action": "move", "folder": "", "ids": ids("archive/red")})
    assert Asset.objects.get(public_id="red").folder == ""


def test_bulk_delete_asks_first(login, catalogue):
    client = login("editor")
    chosen = ids("shoes/red", "logo")
    confirm = client.post("/library/-/bulk/", {"action": "delete", "ids": chosen, "next": "/library/shoes/"})
    assert confirm.status_code == 200 and b"Delete 2 assets?" in confirm.content
    assert Asset.objects.count() == 5
    assert all(i.encode() in confirm.content for i in chosen)
    done = client.post("/library/-/bulk/", {"action": "delete", "confirm": "1", "ids": chosen,
                                             "next": "/library/shoes/"})
    assert done.status_code == 302 and done["Location"] == "/library/shoes/"
    assert not Asset.objects.filter(asset_id__in=chosen).exists() and Asset.objects.count() == 3


def test_bulk_next_must_be_local(login, catalogue):
    response = login("editor").post("/library/-/bulk/", {"action": "tag", "tags": "x", "ids": ids("logo"),
                                                          "next": "https://evil.example/"})
    assert response["Location"] == "/library/"


# --- the upload endpoint -----------------------------------------------------------------


def _file(data: bytes, name: str):
    handle = io.BytesIO(data)
    handle.name = name
    return handle


def test_upload_json_per_file(login):
    client = login("editor")
    response = client.post("/library/-/upload/", {"file": _file(make_image(80, 60), "Beach Day.jpg"),
                                                   "folder": "trips"}, HTTP_ACCEPT="application/json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["public_id"] == "trips/Beach_Day" and body["width"] == 80  # no random suffix unless asked
    asset = Asset.objects.get(public_id=body["public_id"])
    assert asset.original_filename == "Beach Day" and body["page"] == f"/assets/{asset.asset_id}/"
    assert body["replaced"] is False
    again = client.post("/library/-/upload/", {"file": _file(make_image(90, 60, seed=2), "Beach Day.jpg"),
                                               "folder": "trips"}, HTTP_ACCEPT="application/json").json()
    assert again["public_id"] == "trips/Beach_Day" and again["replaced"] is True and again["width"] == 90
    assert Asset.objects.count() == 1


def test_upload_options_folder_tags_and_names(login):
    client = login("editor")
    unique = client.post("/library/-/upload/", {"file": _file(make_image(), "cat.jpg"), "folder": "pets",
                                                "tags": " fluffy, cute ,,", "options": "1", "use_filename": "1",
                                                "unique_filename": "1"}, HTTP_ACCEPT="application/json").json()
    assert re.fullmatch(r"pets/cat_\w{6}", unique["public_id"]), unique
    asset = Asset.objects.get(public_id=unique["public_id"])
    assert asset.folder == "pets" and sorted(asset.tag_names) == ["cute", "fluffy"]
    random = client.post("/library/-/upload/", {"file": _file(make_image(), "cat.jpg"), "folder": "pets",
                                                "options": "1"}, HTTP_ACCEPT="application/json").json()
    assert random["public_id"].startswith("pets/") and "cat" not in random["public_id"]  # use_filename off


@pytest.mark.parametrize("data,message", [
    ({"url": "ftp://example.com/a.jpg"}, "must start with http:// or https://"),
    ({"url": "file:///etc/passwd"}, "must start with http:// or https://"),
    ({"url": "http://127.0.0.1:9/a.jpg"}, "address"),  # the API's SSRF guard answers
    ({"file": "x", "tags": ",".join(f"t{i}" for i in range(50))}, "At most 40 tags"),
    ({"file": "x", "tags": "a" * 300}, "Invalid tag"),
    ({"file": "x", "folder": "a/../b"}, "folder"),
])
def test_upload_option_errors_are_400_with_a_message(login, data, message):
    client = login("editor")
    payload = dict(data)
    if payload.get("file") == "x":
        payload["file"] = _file(make_image(), "a.jpg")
    response = client.post("/library/-/upload/", payload, HTTP_ACCEPT="application/json")
    assert response.status_code == 400
    assert message.lower() in response.json()["error"]["message"].lower(), response.json()
    assert Asset.objects.count() == 0


@pytest.mark.parametrize("data,name,extra,message", [
    (b"this is not an image", "notes.jpg", {}, "Invalid image file"),
    (None, "", {}, "Choose a file to upload."),
    (make_image(), "a.jpg", {"upload_preset": "missing"}, "Upload preset not found: missing"),
    (make_image(), "a.jpg", {"folder": "../up"}, "Invalid folder"),
])
def test_upload_errors_carry_the_servers_message(login, data, name, extra, message):
    client = login("editor")
    payload = {**extra}
    if data is not None:
        payload["file"] = _file(data, name)
    response = client.post("/library/-/upload/", payload, HTTP_ACCEPT="application/json")
    assert response.status_code == 400
    assert message.lower() in response.json()["error"]["message"].lower(), response.json()
    assert Asset.objects.count() == 0


def test_upload_with_a_preset(login):
    UploadPreset.objects.create(name="catalogue", settings={"folder": "products", "tags": "imported,new"})
    client = login("editor")
    response = client.post("/library/-/upload/", {"file": _file(make_image(), "x.jpg"), "upload_preset": "catalogue"},
                           HTTP_ACCEPT="application/json")
    asset = Asset.objects.get(public_id=response.json()["public_id"])
    assert asset.folder == "products" and asset.tag_names == ["imported", "new"]


def test_upload_without_javascript_takes_several_files(login):
    client = login("editor")
    response = client.post("/library/-/upload/", {"file": [_file(make_image(seed=1), "one.jpg"),
                                                            _file(b"junk", "two.jpg")],
                                                   "next": "/library/"}, follow=True)
    html = response.content.decode()
    assert response.redirect_chain[-1][0] == "/library/"
    assert "Uploaded one." in html and "two.jpg:" in html
    assert Asset.objects.count() == 1


def test_upload_needs_csrf(users):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(users["editor"])
    response = client.post("/library/-/upload/", {"file": _file(make_image(), "a.jpg")}, HTTP_ACCEPT="application/json")
    assert response.status_code == 403 and Asset.objects.count() == 0
