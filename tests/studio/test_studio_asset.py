"""The asset page: metadata, tags and context editing (htmx and plain), restore, derived images."""

from __future__ import annotations

import pytest

from assets.models import Asset, AssetVersion, DeletedBackup
from tests.conftest import make_image
from tests.studio_fixtures import login, users  # noqa: F401

pytestmark = pytest.mark.django_db


@pytest.fixture
def photo(upload):
    response = upload(make_image(120, 80), public_id="shoes/red", tags="sale", context="alt=Red shoe", backup="true")
    assert response.status_code == 200, response.content
    return Asset.objects.get(public_id="shoes/red")


def test_page_shows_metadata_and_urls(login, photo):
    html = login("viewer").get(f"/assets/{photo.asset_id}/").content.decode()
    for text in ("120 × 80 px", "JPG", f"v{photo.version}", "sale", "Red shoe", "alt=\"Red shoe\"",
                 f"http://testserver/demo/image/upload/v{photo.version}/shoes/red.jpg", 'data-copy="copy-url"',
                 'data-copy="copy-secure-url"', "Versions"):
        assert text in html, text
    assert "Save tags" not in html and "Restore" not in html  # a viewer only looks
    assert "Save tags" in login("editor").get(f"/assets/{photo.asset_id}/").content.decode()


def test_unknown_asset_is_404(login):
    assert login("viewer").get("/assets/0123456789abcdef0123456789abcdef/").status_code == 404


@pytest.mark.parametrize("htmx", [True, False])
def test_edit_tags(login, photo, htmx):
    client = login("editor")
    headers = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "tags-card"} if htmx else {}
    response = client.post(f"/assets/{photo.asset_id}/tags/", {"tags": "new, sale , new,"}, **headers)
    assert photo.tag_names == ["new", "sale"]
    if htmx:
        html = response.content.decode()
        assert response.status_code == 200 and html.lstrip().startswith('<section class="card" id="tags-card">')
        assert "Saved." in html
    else:
        assert response.status_code == 302 and response["Location"] == f"/assets/{photo.asset_id}/"


@pytest.mark.parametrize("htmx", [True, False])
def test_tags_validation_message(login, photo, htmx):
    headers = {"HTTP_HX_REQUEST": "true"} if htmx else {}
    response = login("editor").post(f"/assets/{photo.asset_id}/tags/", {"tags": "ok, " + "x" * 256}, **headers)
    assert response.status_code == 422 and "longer than 255 characters" in response.content.decode()
    assert photo.tag_names == ["sale"]


@pytest.mark.parametrize("text,expected,error", [
    ("alt=Blue\nsku = B-77\n\n", {"alt": "Blue", "sku": "B-77"}, None),
    ("", {}, None),
    ("caption=a=b", {"caption": "a=b"}, None),
    ("no equals sign", None, "Line 1: write each entry as key=value."),
    ("ok=1\n=value", None, "Line 2: write each entry as key=value."),
    ("a|b=1", None, "must be 1 to 100 characters"),
])
def test_edit_context(login, photo, text, expected, error):
    response = login("editor").post(f"/assets/{photo.asset_id}/context/", {"context": text}, HTTP_HX_REQUEST="true")
    photo.refresh_from_db()
    if error:
        assert response.status_code == 422 and error in response.content.decode()
        assert photo.context == {"alt": "Red shoe"}
    else:
        assert response.status_code == 200 and photo.context == expected


def test_restore_a_backed_up_version(login, photo, upload):
    first_version_id = photo.version_id
    assert upload(make_image(50, 50, seed=3), public_id="shoes/red", backup="true").status_code == 200
    photo.refresh_from_db()
    assert (photo.width, photo.height) == (50, 50)
    client = login("editor")
    page = client.get(f"/assets/{photo.asset_id}/").content.decode()
    assert page.count(">Restore</button>") == 1  # the older version, not the current one
    response = client.post(f"/assets/{photo.asset_id}/restore/", {"version_id": first_version_id}, follow=True)
    photo.refresh_from_db()
    assert (photo.width, photo.height) == (120, 80)
    assert "Restored version" in response.content.decode()
    assert AssetVersion.objects.filter(asset=photo).count() == 3
    # a version without a backup is refused plainly
    response = client.post(f"/assets/{photo.asset_id}/restore/", {"version_id": "nope"}, follow=True)
    assert "no backup to restore" in response.content.decode()


def test_deleted_asset_comes_back_from_the_trash(login, photo):
    client = login("editor")
    client.post("/library/-/bulk/", {"action": "delete", "confirm": "1", "ids": [photo.asset_id]})
    assert not Asset.objects.filter(public_id="shoes/red").exists()
    trash = client.get("/library/-/trash/").content.decode()
    assert "shoes/red" in trash
    backup = DeletedBackup.objects.get()
    response = client.post("/library/-/trash/restore/", {"version_id": backup.version_id})
    restored = Asset.objects.get(public_id="shoes/red")
    assert response["Location"] == f"/assets/{restored.asset_id}/"


def test_derived_images_listed_and_deleted(login, photo):
    from transforms.models import DerivedImage

    client = login("editor")
    rendered = client.get(f"/demo/image/upload/c_fill,w_30,h_30/v{photo.version}/shoes/red.jpg")
    assert rendered.status_code == 200
    row = DerivedImage.objects.get(asset=photo)
    page = client.get(f"/assets/{photo.asset_id}/").content.decode()
    assert "c_fill,h_30,w_30" in page or "c_fill,w_30,h_30" in page
    # someone else's derived id is refused
    refused = client.post(f"/assets/{photo.asset_id}/derived/delete/", {"derived_id": "f" * 32}, HTTP_HX_REQUEST="true")
    assert refused.status_code == 422 and DerivedImage.objects.count() == 1
    response = client.post(f"/assets/{photo.asset_id}/derived/delete/", {"derived_id": row.derived_id},
                           HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and "Deleted the derived image" in response.content.decode()
    assert not DerivedImage.objects.exists()


def test_private_asset_preview_is_signed(login, upload, api_key):
    upload(make_image(), public_id="secret/one", type="private")
    asset = Asset.objects.get(public_id="secret/one")
    client = login("viewer")
    page = client.get(f"/assets/{asset.asset_id}/").content.decode()
    import re

    src = re.search(r'<img src="([^"]+)" alt="secret/one"', page).group(1)
    assert "/s--" in src and client.get(src).status_code == 200
