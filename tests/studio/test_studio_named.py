"""The named transformations screen through Django's test client: list with derived counts,
create, edit (derived images built with the old definition removed, as the Admin API does),
allowed_for_strict toggle, delete with confirmation, preview; who may do what."""

from __future__ import annotations

import re
from html import unescape

import pytest

from assets.models import Asset
from tests.conftest import make_image
from tests.studio_fixtures import asset_row, login, users  # noqa: F401
from transforms.cloudinary import named
from transforms.models import DerivedImage
from transforms.models_named import Transformation

pytestmark = pytest.mark.django_db

ROLES = ("anon", "viewer", "editor", "admin")
# (method, url, data, expected per role in ROLES)
TABLE = [
    ("get", "/studio/", {}, (302, 302, 302, 302)),
    ("get", "/studio/{asset_id}/", {}, (302, 200, 200, 200)),
    ("get", "/studio/{asset_id}/?t=e_sepia&edit=0", {}, (302, 200, 200, 200)),
    ("post", "/studio/{asset_id}/", {"t": "e_sepia", "action": "remove", "index": "0"}, (302, 302, 302, 302)),
    ("put", "/studio/{asset_id}/", {}, (302, 405, 405, 405)),
    ("post", "/studio/{asset_id}/save/", {"t": "e_sepia", "name": "new"}, (302, 403, 302, 302)),
    ("get", "/studio/{asset_id}/save/", {}, (302, 403, 405, 405)),
    ("get", "/transformations/", {}, (302, 200, 200, 200)),
    ("post", "/transformations/", {"new-name": "n2", "new-definition": "e_sepia"}, (302, 403, 302, 302)),
    ("get", "/transformations/gray/", {}, (302, 200, 200, 200)),
    ("post", "/transformations/gray/", {"definition": "e_sepia"}, (302, 403, 302, 302)),
    ("post", "/transformations/gray/strict/", {}, (302, 403, 302, 302)),
    ("get", "/transformations/gray/delete/", {}, (302, 403, 200, 200)),
    ("post", "/transformations/gray/delete/", {}, (302, 403, 302, 302)),
    ("get", "/transformations/missing/", {}, (302, 404, 404, 404)),
]
CASES = [(m, u, d, role, s[i]) for m, u, d, s in TABLE for i, role in enumerate(ROLES)]


@pytest.mark.parametrize("method,url,data,role,status", CASES, ids=[f"{m}-{u}-{r}" for m, u, d, r, s in CASES])
def test_permissions(client, users, method, url, data, role, status):
    asset = asset_row("shoes/red")
    named.create("gray", "e_grayscale")
    if role != "anon":
        client.force_login(users[role])
    response = getattr(client, method)(url.format(asset_id=asset.asset_id), data)
    assert response.status_code == status, response.content[:400]
    if role == "anon":
        assert response["Location"].startswith("/login/")


def _counts(client) -> dict[str, int]:
    html = client.get("/transformations/").content.decode()
    rows = re.findall(r'<h3><a [^>]*><code>t_([^<]+)</code></a></h3>.*?class="derived-count">(\d+)<', html, re.S)
    return {unescape(name): int(count) for name, count in rows}


def _render(client, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 200, response.get("X-Cld-Error")


def test_create_edit_toggle_delete(login, upload, django_capture_on_commit_callbacks):
    assert upload(make_image(120, 90), public_id="inv").status_code == 200
    client = login("editor")

    response = client.post("/transformations/", {"new-name": "small", "new-definition": "c_scale,w_20",
                                                 "new-allowed_for_strict": "on"})
    assert response.status_code == 302
    client.post("/transformations/", {"new-name": "other", "new-definition": "c_scale,w_30"})
    assert Transformation.objects.get(name="small").allowed_for_strict
    assert not Transformation.objects.get(name="other").allowed_for_strict
    assert _counts(client) == {"other": 0, "small": 0}

    _render(client, "/demo/image/upload/t_small/inv.jpg")
    _render(client, "/demo/image/upload/t_small/e_sepia/inv.jpg")
    _render(client, "/demo/image/upload/t_other/inv.jpg")
    assert _counts(client) == {"other": 1, "small": 2}
    page = client.get("/transformations/small/")
    assert page.status_code == 200 and '<span id="derived-count">2</span>' in page.content.decode()
    assert "/demo/image/upload/s--" in page.content.decode() and "/t_small/" in page.content.decode()

    # the same definition (another spelling): nothing is invalidated
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/transformations/small/", {"definition": "w_20,c_scale", "allowed_for_strict": "on"})
    assert _counts(client) == {"other": 1, "small": 2}
    # a new definition removes what was built with the old one, and only that
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/transformations/small/", {"definition": "c_scale,w_16", "allowed_for_strict": "on"})
    assert response.status_code == 302
    assert "Removed 2 derived images" in [str(m) for m in client.get("/transformations/").context["messages"]][0]
    assert _counts(client) == {"other": 0 + 1, "small": 0}
    assert Transformation.objects.get(name="small").text == "c_scale,w_16"
    assert DerivedImage.objects.filter(named="|other|").count() == 1

    assert client.post("/transformations/other/strict/").status_code == 302
    assert Transformation.objects.get(name="other").allowed_for_strict
    client.post("/transformations/other/strict/")
    assert not Transformation.objects.get(name="other").allowed_for_strict

    confirm = client.get("/transformations/other/delete/")
    assert "Delete t_other" in confirm.content.decode() and "1 derived image" in confirm.content.decode()
    assert Transformation.objects.filter(name="other").exists()  # a GET never deletes
    client.post("/transformations/other/delete/")
    assert _counts(client) == {"small": 0}
    assert not DerivedImage.objects.filter(named="|other|").exists()


@pytest.mark.parametrize("data,field,message", [
    ({"new-name": "a.b", "new-definition": "e_sepia"}, "name", "it must not contain ."),
    ({"new-name": "", "new-definition": "e_sepia"}, "name", "This field is required."),
    ({"new-name": "ok", "new-definition": "e_nonsense"}, "definition", "Invalid effect: nonsense"),
    ({"new-name": "ok", "new-definition": "t_missing"}, "definition", "Unknown named transformation: missing"),
    ({"new-name": "ok", "new-definition": "t_ok"}, "definition", "Named transformation ok refers to itself"),
    ({"new-name": "taken", "new-definition": "e_sepia"}, "name", "Transformation taken already exists"),
])
def test_create_errors(login, data, field, message):
    named.create("taken", "e_grayscale")
    response = login("editor").post("/transformations/", data)
    assert response.status_code == 422
    assert any(message in e for e in response.context["form"].errors[field]), response.context["form"].errors
    assert message in unescape(response.content.decode())


def test_edit_errors_leave_the_definition_and_derived_images_alone(login):
    row = named.create("gray", "e_grayscale")
    response = login("editor").post("/transformations/gray/", {"definition": "t_gray"})
    assert response.status_code == 422
    assert "refers to itself" in unescape(response.content.decode())
    row.refresh_from_db()
    assert row.text == "e_grayscale"


def test_viewer_sees_but_cannot_change(login):
    named.create("gray", "e_grayscale")
    asset_row("shoes/red")
    client = login("viewer")
    listing = client.get("/transformations/").content.decode()
    assert "t_gray" in listing and "e_grayscale" in listing
    assert "Create</button>" not in listing and "/transformations/gray/delete/" not in listing
    detail = client.get("/transformations/gray/").content.decode()
    assert "<pre><code>e_grayscale</code></pre>" in detail and "Save</button>" not in detail


def test_preview_on_a_chosen_asset(login):
    first, second = asset_row("a/one"), asset_row("a/two")
    named.create("gray", "e_grayscale")
    client = login("viewer")
    html = client.get("/transformations/gray/", {"asset": first.asset_id}).content.decode()
    assert "/t_gray/" in html and "a/one.jpg" in html
    html = client.get("/transformations/gray/", {"asset": second.asset_id}).content.decode()
    assert "a/two.jpg" in html and f"/studio/{second.asset_id}/?t=e_grayscale" in html
    assert Asset.objects.count() == 2


def test_nav_links(login):
    html = login("viewer").get("/library/").content.decode()
    assert 'href="/studio/"' in html and 'href="/transformations/"' in html
