"""Organising without a browser (Django client): folders from the sidebar (create, rename,
delete only when empty, bad names), the drag-move endpoint, and the asset page's Manage card
(rename with its 409, move, replace with a new version whose pixels differ)."""

from __future__ import annotations

import io

import numpy as np
import pytest
import pyvips
from django.core.files.storage import storages

from assets.models import Asset, AssetVersion, Folder
from tests.studio.test_library_preview import put
from tests.studio_fixtures import asset_row, login, users  # noqa: F401


def texts(response) -> str:
    return response.content.decode()


@pytest.mark.django_db
def test_create_rename_and_delete_a_folder(login):
    client = login("editor")
    response = client.post("/library/-/folders/new/", {"parent": "", "name": "trips", "next": "/library/"}, follow=True)
    assert response.redirect_chain[-1][0] == "/library/trips/"
    assert "Created the folder trips." in texts(response)
    assert Folder.objects.filter(path="trips").exists()
    client.post("/library/-/folders/new/", {"parent": "trips", "name": "2024"})
    assert Folder.objects.filter(path="trips/2024").exists()
    page = texts(client.get("/library/trips/"))
    assert "Rename folder" in page and "Delete folder" in page and 'data-folder="trips/2024"' in page

    response = client.post("/library/-/folders/rename/", {"path": "trips", "name": "travel"}, follow=True)
    assert "Renamed the folder trips to travel." in texts(response)
    assert set(Folder.objects.values_list("path", flat=True)) == {"travel", "travel/2024"}

    # delete asks first, then deletes it with its empty subfolder
    confirm = client.post("/library/-/folders/delete/", {"path": "travel", "next": "/library/travel/"})
    assert confirm.status_code == 200 and "Delete the folder" in texts(confirm)
    assert Folder.objects.filter(path="travel").exists()
    done = client.post("/library/-/folders/delete/", {"path": "travel", "confirm": "1"}, follow=True)
    assert "Deleted the folder travel and 1 empty subfolder." in texts(done)
    assert not Folder.objects.exists()


@pytest.mark.django_db
def test_a_folder_holding_assets_is_not_deleted(login):
    client = login("editor")
    asset_row("shoes/red")
    asset_row("shoes/winter/boot")
    Folder.objects.create(path="shoes")
    response = client.post("/library/-/folders/delete/", {"path": "shoes", "confirm": "1"}, follow=True)
    assert "The folder shoes holds 2 assets (subfolders included): move or delete them first" in texts(response)
    assert Folder.objects.filter(path="shoes").exists()


@pytest.mark.django_db
@pytest.mark.parametrize("name,message", [
    ("", "Enter a folder name."),
    ("a/b", "can&#x27;t contain &#x27;/&#x27;"),
    ("bad?name", "folder"),
    ("x" * 300, "folder"),
])
def test_bad_folder_names_get_a_message(login, name, message):
    response = login("editor").post("/library/-/folders/new/", {"parent": "", "name": name, "next": "/library/"},
                                    follow=True)
    assert response.status_code == 200
    assert "Folder not created:" in texts(response) and message in texts(response)
    assert not Folder.objects.exists()


@pytest.mark.django_db
def test_rename_onto_an_existing_folder_is_refused(login):
    client = login("editor")
    Folder.objects.create(path="a")
    Folder.objects.create(path="b")
    response = client.post("/library/-/folders/rename/", {"path": "a", "name": "b", "next": "/library/a/"}, follow=True)
    assert "Folder not renamed: Folder b already exists" in texts(response)


@pytest.mark.django_db
def test_viewers_cannot_organise(login):
    client = login("viewer")
    asset = asset_row("x/one")
    for url, data in [("/library/-/folders/new/", {"name": "z"}), ("/library/-/folders/delete/", {"path": "x"}),
                      ("/library/-/move/", {"ids": asset.asset_id, "folder": "y"}),
                      (f"/assets/{asset.asset_id}/rename/", {"public_id": "y/one"})]:
        assert client.post(url, data).status_code == 403
    assert "Rename folder" not in texts(client.get("/library/x/"))
    assert 'id="manage"' not in texts(client.get(f"/assets/{asset.asset_id}/"))


@pytest.mark.django_db
def test_the_move_endpoint_answers_json(login):
    client = login("editor")
    a, b = asset_row("in/a"), asset_row("in/b")
    response = client.post("/library/-/move/", {"ids": [a.asset_id, b.asset_id], "folder": "out"},
                           HTTP_ACCEPT="application/json")
    assert response.json() == {"moved": 2, "problems": [], "folder": "out"}
    assert sorted(Asset.objects.values_list("public_id", flat=True)) == ["out/a", "out/b"]
    bad = client.post("/library/-/move/", {"ids": [a.asset_id], "folder": "bad?"}, HTTP_ACCEPT="application/json")
    assert bad.status_code == 400 and "folder" in bad.json()["error"]["message"]
    none = client.post("/library/-/move/", {"folder": "out"}, HTTP_ACCEPT="application/json")
    assert none.status_code == 400 and "Select at least one asset" in none.json()["error"]["message"]


@pytest.mark.django_db
def test_asset_page_rename_with_conflict_and_overwrite(login):
    client = login("editor")
    asset, other = asset_row("shoes/red"), asset_row("shoes/blue")
    page = texts(client.get(f"/assets/{asset.asset_id}/"))
    assert 'id="manage"' in page and "Replace with a new version" in page
    response = client.post(f"/assets/{asset.asset_id}/rename/", {"public_id": "shoes/blue"}, follow=True)
    assert "shoes/blue is taken by another asset" in texts(response)
    asset.refresh_from_db()
    assert asset.public_id == "shoes/red"
    response = client.post(f"/assets/{asset.asset_id}/rename/", {"public_id": "bags/red"}, follow=True)
    assert "Renamed shoes/red to bags/red." in texts(response)
    asset.refresh_from_db()
    assert (asset.public_id, asset.folder) == ("bags/red", "bags")
    assert Folder.objects.filter(path="bags").exists()
    client.post(f"/assets/{asset.asset_id}/rename/", {"public_id": "shoes/blue", "overwrite": "1"})
    asset.refresh_from_db()
    assert asset.public_id == "shoes/blue" and not Asset.objects.filter(pk=other.pk).exists()
    bad = client.post(f"/assets/{asset.asset_id}/rename/", {"public_id": "a//b"}, follow=True)
    assert "Not renamed:" in texts(bad)


@pytest.mark.django_db
def test_asset_page_move(login):
    client = login("editor")
    asset = asset_row("shoes/red")
    response = client.post(f"/assets/{asset.asset_id}/move/", {"folder": "archive/2024"}, follow=True)
    asset.refresh_from_db()
    assert asset.public_id == "archive/2024/red"
    assert "Moved to archive/2024: now archive/2024/red." in texts(response)
    asset_row("archive/2024/blue")
    blue = asset_row("blue")
    clash = client.post(f"/assets/{blue.asset_id}/move/", {"folder": "archive/2024"}, follow=True)
    assert "exists already, not moved" in texts(clash)
    bad = client.post(f"/assets/{asset.asset_id}/move/", {"folder": "x?y"}, follow=True)
    assert "Not moved:" in texts(bad)


def pixels(asset: Asset) -> np.ndarray:
    with storages["default"].open(asset.storage_name) as f:
        image = pyvips.Image.new_from_buffer(f.read(), "")
    return np.ndarray(buffer=image.write_to_memory(), dtype=np.uint8, shape=(image.height, image.width, image.bands))


@pytest.mark.django_db
def test_asset_page_replace_stores_a_new_version(login):
    client = login("editor")
    asset = put("shoes/red", 120, 80, seed=1)
    before_version, before = asset.version, pixels(asset)
    dark = pyvips.Image.black(120, 80, bands=3).write_to_buffer(".png")  # all black: a different image
    upload = io.BytesIO(dark)
    upload.name = "new.png"
    response = client.post(f"/assets/{asset.asset_id}/replace/", {"file": upload}, follow=True)
    assert "Replaced: shoes/red is now version" in texts(response)
    asset.refresh_from_db()
    assert asset.version > before_version and asset.format == "png"
    assert AssetVersion.objects.filter(asset=asset).count() == 2
    after = pixels(asset)
    assert before.mean() > 60 and after.mean() < 1  # the stored pixels changed
    nothing = client.post(f"/assets/{asset.asset_id}/replace/", {}, follow=True)
    assert "Choose a file" in texts(nothing)
    junk = io.BytesIO(b"not an image at all")
    junk.name = "junk.jpg"
    refused = client.post(f"/assets/{asset.asset_id}/replace/", {"file": junk}, follow=True)
    assert "Not replaced:" in texts(refused)
    asset.refresh_from_db()
    assert AssetVersion.objects.filter(asset=asset).count() == 2

