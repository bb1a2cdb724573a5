"""The Library's side of the focus areas: the "has faces" filter (Asset.face_count) and the
asset page's SVG overlay of faces, custom boxes and regions; the Focus Area Refiner's
screen view (session auth, CSRF, editor role, 400/409 as JSON, source "refiner")."""

from __future__ import annotations

import json
import re

import pytest
from django.test import Client

from assets import focus
from assets.models import FocusAreas
from tests.studio_fixtures import asset_row, users  # noqa: F401


def names(response) -> list[str]:
    return re.findall(r'class="name"[^>]*>([^<]+)<', response.content.decode())


@pytest.fixture
def faces(db):
    one = asset_row("people/one", width=200, height=100)
    two = asset_row("people/two", width=200, height=100)
    none = asset_row("things/cup", width=200, height=100)
    focus.save(one, faces=[[10, 10, 30, 30]], source="api")
    focus.save(two, faces=[[1, 1, 20, 20], [100, 10, 30, 30]], regions={"logo": [[0, 0], [50, 50], [0, 50]]},
               source="api")
    focus.save(none, custom=[[5, 5, 50, 50]], source="api")  # a custom box is not a face
    return one, two, none


def test_has_faces_filter(client, users, faces):
    client.force_login(users["viewer"])
    assert set(names(client.get("/library/"))) == {"people/one", "people/two", "things/cup"}
    filtered = client.get("/library/", {"faces": "1"})
    assert names(filtered) == ["people/two", "people/one"]
    assert 'id="faces" name="faces" value="1" checked' in filtered.content.decode()
    assert names(client.get("/library/people/", {"faces": "1", "q": "two"})) == ["people/two"]
    focus.save(faces[0], faces=[], source="api")  # cleared: out of the filter
    assert names(client.get("/library/", {"faces": "1"})) == ["people/two"]


def test_asset_page_overlay(client, users, faces):
    one, two, cup = faces
    client.force_login(users["viewer"])
    html = client.get(f"/assets/{two.asset_id}/").content.decode()
    svg = re.search(r'<svg class="focus-overlay".*?</svg>', html, re.S).group(0)
    assert 'viewBox="0 0 200 100"' in svg and 'aria-label="Focus areas: 2 faces, 0 custom, 1 region"' in svg
    assert svg.count('class="shape faces"') == 2 and '<rect x="100" y="10" width="30" height="30"' in svg
    assert '<polygon points="0,0 50,50 0,50"' in svg
    assert 'id="show-focus" checked' in html
    cup_html = client.get(f"/assets/{cup.asset_id}/").content.decode()
    assert '<g class="shape custom"><rect x="5" y="5" width="50" height="50"' in cup_html
    plain = asset_row("plain")
    assert "focus-overlay" not in client.get(f"/assets/{plain.asset_id}/").content.decode()


def test_screen_view_roles_errors_and_source(client, users, faces):
    one = faces[0]
    url = f"/studio/{one.asset_id}/refine/focus/"
    client.force_login(users["viewer"])
    assert client.get(url).status_code in (302, 403)
    client.force_login(users["editor"])
    page = client.get(url + "?t=c_crop,g_custom")
    assert page.status_code == 200
    state = json.loads(re.search(r'id="focus-state" type="application/json">(.*?)</script>', page.content.decode(),
                                 re.S).group(1))
    assert state["revision"] == 1 and state["faces"] == [[10, 10, 30, 30]]
    assert [p["chain"] for p in state["previews"]] == ["c_crop,g_custom", "c_thumb,g_face,w_200,h_200"]
    assert f'href="/studio/{one.asset_id}/?t=c_crop,g_custom"' in page.content.decode()

    def post(body, c=client):
        return c.post(url, json.dumps(body), content_type="application/json")

    saved = post({"custom": [[20, 20, 60, 40]], "base_revision": 1})
    assert saved.status_code == 200 and saved.json()["revision"] == 2 and saved.json()["source"] == "refiner"
    assert FocusAreas.objects.get(asset=one, revision=2).created_by == users["editor"]
    assert "?f=2" in saved.json()["previews"][0]["src"]
    stale = post({"custom": [[0, 0, 10, 10]], "base_revision": 1})
    assert stale.status_code == 409 and "current revision is 2" in stale.json()["error"]["message"]
    bad = post({"regions": {"x": [[1, 1]]}, "base_revision": 2})
    assert bad.status_code == 400 and "regions" in bad.json()["error"]["message"]
    assert post({"base_revision": 2}).status_code == 400
    assert client.post(url, "{not json", content_type="application/json").status_code == 400
    # CSRF: a session post without the token is refused
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(users["editor"])
    assert post({"custom": [[0, 0, 10, 10]]}, strict).status_code == 403
    assert focus.revision(one) == 2
