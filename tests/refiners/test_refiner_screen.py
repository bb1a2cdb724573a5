"""The Background Removal Refiner screen and the Studio's background-removal step, through
Django's test client: the palette step (always first), the "Background Removal" button,
permissions, the pending "Removing background…" state polled by htmx, the cut-out layers
the canvas paints on, saving strokes (a new mask revision the delivery then uses), and the
clear answers to bad JSON, bad strokes and a stale base revision.

The cut-out comes from the real ISNet model (bgremoval.compute, as the worker runs it) on a
small generated image.
"""

from __future__ import annotations

import json
import re
from html import unescape
from urllib.parse import parse_qs, urlsplit

import numpy as np
import pytest
import pyvips
from django.core.files.storage import storages
from django.http import QueryDict

from assets.models import Asset
from refiners import background
from studio import palette
from tests.studio_fixtures import login, users  # noqa: F401
from tests.cutouts import scene
from transforms.ai import bgremoval
from transforms.models import Cutout

pytestmark = pytest.mark.django_db
CHAIN = "e_background_removal/e_grayscale"


def screen_url(asset, chain: str = CHAIN) -> str:
    return f"/studio/{asset.asset_id}/refine/background/?t={chain}"


@pytest.fixture
def disc(upload):
    """A red disc on a light background, 160 x 120, stored through the Upload API."""
    png = pyvips.Image.new_from_array(scene(160, 120)).write_to_buffer(".png")
    assert upload(png, name="disc.png", public_id="refine/disc").status_code == 200
    return Asset.objects.get(public_id="refine/disc")


def compute(asset, options: str = "") -> Cutout:
    """The cut-out as the worker makes it (the real model, in this process)."""
    row = bgremoval.request(asset, bgremoval.parse((options,) if options else (), {}))
    assert bgremoval.compute(row.pk) == "done"
    row.refresh_from_db()
    return row


def alerts(response) -> list[str]:
    return [unescape(m).strip() for m in re.findall(r'role="alert"[^>]*>([^<]+)<', response.content.decode())]


def studio_chain(response) -> str:
    assert response.status_code == 302, response.content[:300]
    return parse_qs(urlsplit(response["Location"]).query).get("t", [""])[0]


def delivered_alpha(client, asset, chain: str = "e_background_removal") -> np.ndarray:
    response = client.get(f"/demo/image/upload/{chain}/{asset.public_id}.png")
    assert response.status_code == 200, response.get("X-Cld-Error")
    body = b"".join(response.streaming_content) if response.streaming else response.content
    return pyvips.Image.new_from_buffer(body, "").numpy()[..., 3]


# --- the palette step ------------------------------------------------------------------------


@pytest.mark.parametrize("values,expected", [
    ({}, "e_background_removal"),
    ({"fine_edges": "on"}, "e_background_removal:fineedges_y"),
    ({"hints": "dog;cat"}, "e_background_removal:hints_(cat;dog)"),
    ({"hints": "person", "fine_edges": "y"}, "e_background_removal:hints_(person);fineedges_y"),
])
def test_palette_background_removal_form(values, expected):
    step, errors = palette.from_form("bgremoval", values)
    assert errors == {} and step.text == expected
    reparsed = palette.parse(step.text)
    assert [s.kind for s in reparsed] == ["bgremoval"] and reparsed[0].values == step.values
    assert palette.is_bg_removal(reparsed[0])


def test_palette_background_removal_checkboxes_and_unknown_hints():
    form = QueryDict("kind=bgremoval&hints=sofa&hints=cat&fine_edges=y")
    step, errors = palette.from_form("bgremoval", form)
    assert step.text == "e_background_removal:hints_(cat;sofa);fineedges_y"
    step, errors = palette.from_form("bgremoval", QueryDict("hints=unicorn"))
    assert step is None and "Unknown choice 'unicorn'" in errors["hints"]
    assert set(palette.KINDS["bgremoval"].fields[0].choices) == bgremoval.HINTS  # the 20 documented classes
    assert [s.kind for s in palette.parse("e_background_removal,w_100/e_sepia")] == ["raw", "effect"]
    assert palette.is_bg_removal(palette.parse("e_background_removal,w_100")[0])
    assert not palette.is_bg_removal(palette.parse("e_sepia")[0])


def test_adding_background_removal_puts_it_first(login, disc):
    client = login("editor")
    url = f"/studio/{disc.asset_id}/"
    response = client.post(url, {"t": "c_fill,w_100,h_80/e_grayscale", "action": "add", "kind": "bgremoval",
                                 "fine_edges": "y"})
    assert studio_chain(response) == "e_background_removal:fineedges_y/c_fill,h_80,w_100/e_grayscale"
    # added again (other options): it replaces the first one rather than landing second
    response = client.post(url, {"t": "e_background_removal:fineedges_y/c_fill,h_80,w_100/e_grayscale",
                                 "action": "add", "kind": "bgremoval", "hints": ["dog", "cat"]})
    assert studio_chain(response) == "e_background_removal:hints_(cat;dog)/c_fill,h_80,w_100/e_grayscale"
    page = client.get(url, {"t": "e_background_removal:hints_(cat;dog)"}).content.decode()
    assert 'value="cat" id="edit-hints-cat" checked' not in page  # not editing: the palette's form is empty
    edit = client.get(url, {"t": "e_background_removal:hints_(cat;dog)", "edit": "0"}).content.decode()
    assert re.search(r'value="cat" id="edit-hints-cat" checked', edit)
    assert not re.search(r'value="car" id="edit-hints-car" checked', edit)
    # moved away from the top: the engine's rule shows at the step
    page = client.get(url, {"t": "e_grayscale/e_background_removal"})
    assert "must be the first component" in page.content.decode()


def test_studio_shows_the_background_removal_button(login, disc):
    client = login("editor")
    page = client.get(f"/studio/{disc.asset_id}/", {"t": CHAIN}).content.decode()
    assert 'id="refine-background"' in page and ">Background Removal</a>" in page
    assert f'href="{screen_url(disc)}"' in page
    assert re.search(r'<img id="preview" src="[^"]+/e_background_removal/e_grayscale/v\d+/refine/disc\.png\?r=0"',
                     page)
    plain = client.get(f"/studio/{disc.asset_id}/", {"t": "e_grayscale"}).content.decode()
    assert 'id="refine-background"' not in plain and "?r=" not in plain
    viewer = login("viewer").get(f"/studio/{disc.asset_id}/", {"t": CHAIN}).content.decode()
    assert 'id="refine-background"' not in viewer and "needs the editor role" in viewer


# --- the screen ------------------------------------------------------------------------------


def test_permissions(client, users, disc):
    url = screen_url(disc)
    response = client.get(url)
    assert response.status_code == 302 and response["Location"].startswith("/login/")
    client.force_login(users["viewer"])
    assert client.get(url).status_code == 403
    assert client.post(url, {"t": CHAIN, "strokes": "[]", "base_revision": "0"}).status_code == 403
    assert background.current(disc) is None
    client.force_login(users["editor"])
    assert client.get(url).status_code == 200
    assert client.get(f"/studio/{disc.asset_id}/refine/background/matte/?t={CHAIN}").status_code == 404  # not yet
    client.force_login(users["viewer"])
    assert client.get(f"/studio/{disc.asset_id}/refine/background/matte/?t={CHAIN}").status_code == 403


def test_a_chain_without_background_removal_goes_back_with_a_message(login, disc):
    client = login("editor")
    response = client.get(screen_url(disc, "e_grayscale/e_background_removal"))
    assert response.status_code == 302
    assert studio_chain(response) == "e_grayscale/e_background_removal"
    page = client.get(response["Location"]).content.decode()
    assert "starts with e_background_removal" in unescape(page)
    response = client.post(screen_url(disc, "c_scale,w_10"), {"t": "c_scale,w_10", "strokes": "[]"})
    assert response.status_code == 302 and background.current(disc) is None


def test_pending_then_done(login, disc):
    client = login("editor")
    response = client.get(screen_url(disc))
    assert response.status_code == 200
    page = response.content.decode()
    assert "Removing background…" in page and 'hx-trigger="every 2s"' in page
    assert 'id="refiner-canvas"' not in page
    row = Cutout.objects.get(asset=disc)
    assert (row.status, row.options) == ("pending", "")  # asked for it: one row, one task
    status_url = f"/studio/{disc.asset_id}/refine/background/status/?t={CHAIN}"
    polled = client.get(status_url, HTTP_HX_REQUEST="true")
    assert polled.status_code == 200 and "Removing background…" in polled.content.decode()
    assert "HX-Refresh" not in polled

    compute(disc)
    done = client.get(status_url, HTTP_HX_REQUEST="true")
    assert done.status_code == 200 and done["HX-Refresh"] == "true"
    page = client.get(screen_url(disc)).content.decode()
    assert 'id="refiner-canvas" width="160" height="120"' in page
    assert "Update Transformation" in page and 'name="base_revision" value="0"' in page
    assert json.loads(re.search(r'<script id="refiner-strokes" type="application/json">(.*?)</script>', page,
                                re.S).group(1)) == []


def test_failed_cutout_shows_the_error(login, disc):
    client = login("editor")
    Cutout.objects.create(asset=disc, version_id=disc.version_id, options="", status=Cutout.FAILED,
                          error="the model could not read it")
    page = client.get(screen_url(disc)).content.decode()
    assert "Background removal failed: the model could not read it" in page
    assert 'hx-trigger' not in page


def test_layers_are_the_stored_cutout(login, disc):
    client = login("editor")
    row = compute(disc)
    with storages["derived"].open(row.storage_name) as fh:
        cut = pyvips.Image.new_from_buffer(fh.read(), "").numpy()
    matte = client.get(f"/studio/{disc.asset_id}/refine/background/matte/?t={CHAIN}&e={row.etag}")
    assert matte["Content-Type"] == "image/png" and "max-age" in matte["Cache-Control"]
    alpha = pyvips.Image.new_from_buffer(matte.content, "")
    assert (alpha.width, alpha.height, alpha.bands) == (160, 120, 1)
    assert np.array_equal(alpha.numpy(), cut[..., 3])
    original = client.get(f"/studio/{disc.asset_id}/refine/background/original/?t={CHAIN}")
    rgb = pyvips.Image.new_from_buffer(original.content, "")
    assert original["Content-Type"] == "image/jpeg" and (rgb.width, rgb.height, rgb.bands) == (160, 120, 3)
    source = scene(160, 120).astype(int)
    assert np.abs(rgb.numpy().astype(int) - source).mean() < 4  # the original's pixels, background included
    assert client.get(f"/studio/{disc.asset_id}/refine/background/nope/?t={CHAIN}").status_code == 404


# --- saving -----------------------------------------------------------------------------------

ACROSS = {"tool": "remove", "size": 0.08, "points": [[0.3, 0.5], [0.7, 0.5]]}


def test_update_transformation_saves_a_revision_and_the_delivery_uses_it(login, disc, users):
    client = login("editor")
    compute(disc)
    before = delivered_alpha(client, disc)
    assert before[60, 70:90].min() > 200  # the disc is kept

    response = client.post(screen_url(disc), {"t": CHAIN, "strokes": json.dumps([ACROSS]), "base_revision": "0"})
    assert studio_chain(response) == CHAIN
    mask = background.current(disc)
    assert mask.revision == 1 and mask.strokes == [ACROSS] and mask.created_by == users["editor"]
    studio = client.get(response["Location"]).content.decode()
    assert "Background removal refined (revision 1, 1 stroke)" in unescape(studio)
    assert "/refine/disc.png?r=1" in studio  # the preview is fetched again
    assert "Refined: revision 1, 1 stroke." in studio

    # the same list again: no new revision (nothing re-rendered for nothing)
    response = client.post(screen_url(disc), {"t": CHAIN, "strokes": json.dumps([ACROSS]), "base_revision": "1"})
    assert studio_chain(response) == CHAIN and background.current(disc).revision == 1
    assert "No changes: the mask stays at revision 1." in unescape(client.get(response["Location"]).content.decode())

    after = delivered_alpha(client, disc)
    assert after[60, 60:100].max() < 5  # painted out along the stroke
    assert after[30, 80] == before[30, 80] and after[90, 80] == before[90, 80]  # the rest as the model left it

    # the next save starts from revision 1; undo across sessions = the list without the stroke
    page = client.get(screen_url(disc)).content.decode()
    assert 'name="base_revision" value="1"' in page
    assert f'"points": [[0.3, 0.5], [0.7, 0.5]]' in page
    response = client.post(screen_url(disc), {"t": CHAIN, "strokes": "[]", "base_revision": "1"})
    assert response.status_code == 302 and background.current(disc).revision == 2
    assert "Background mask cleared (revision 2)" in unescape(client.get(response["Location"]).content.decode())
    assert np.array_equal(delivered_alpha(client, disc), before)


def test_bad_json_and_bad_strokes_are_400_with_a_message(login, disc):
    client = login("editor")
    compute(disc)
    response = client.post(screen_url(disc), {"t": CHAIN, "strokes": "[{", "base_revision": "0"})
    assert response.status_code == 400
    assert alerts(response)[0].startswith("Not saved: Invalid strokes: not valid JSON")
    response = client.post(screen_url(disc), {"t": CHAIN, "strokes": json.dumps([{**ACROSS, "tool": "erase"}]),
                                              "base_revision": "0"})
    assert response.status_code == 400
    assert "tool must be 'remove' or 'restore'" in alerts(response)[0]
    response = client.post(screen_url(disc), {"t": CHAIN, "base_revision": "0"})
    assert response.status_code == 400 and "the strokes are missing" in alerts(response)[0]
    response = client.post(screen_url(disc), {"t": CHAIN, "strokes": "[]", "base_revision": "first"})
    assert response.status_code == 400 and "Invalid base_revision" in alerts(response)[0]
    assert background.current(disc) is None  # nothing half-written

    api = client.post(screen_url(disc), data="{nope", content_type="application/json")
    assert api.status_code == 400 and api.json()["error"]["message"] == "Invalid request: the body is not valid JSON"
    api = client.post(screen_url(disc), data={"strokes": [ACROSS], "base_revision": 0},
                      content_type="application/json")
    assert api.status_code == 200 and api.json()["revision"] == 1 and api.json()["strokes"] == [ACROSS]


def test_stale_base_revision_is_409_and_loads_the_newest_strokes(login, disc, users):
    client = login("editor")
    compute(disc)
    background.save(disc, [ACROSS], user=users["admin"])  # someone else saved meanwhile
    mine = {"tool": "restore", "size": 0.05, "points": [[0.1, 0.1]]}
    response = client.post(screen_url(disc), {"t": CHAIN, "strokes": json.dumps([mine]), "base_revision": "0"})
    assert response.status_code == 409
    assert "changed meanwhile" in alerts(response)[0] and "newest strokes are loaded" in alerts(response)[0]
    page = response.content.decode()
    assert 'name="base_revision" value="1"' in page and "revision 1 by root" in page
    loaded = json.loads(re.search(r'<script id="refiner-strokes" type="application/json">(.*?)</script>', page,
                                  re.S).group(1))
    assert loaded == [ACROSS]
    assert background.current(disc).revision == 1
