"""The Generative AI Refiner's Studio screen (studio.views_generative, static/dam/generative.js).

Without a browser: the Studio shows the "Generative Fill" button only for a chain with a
generative step; the screen's prompt field is disabled with the reason when no back-end
understands prompts; its JSON calls need the editor role and answer errors as JSON.
In a real headless Chromium, with the session's Celery worker making the variations: open the
refiner from the Studio, generate three (visible progress), compare one with the current
result, dismiss one, choose one and Update Transformation; back in the Studio the preview, and
a longer chain starting with the same text, deliver the chosen variation's pixels."""

from __future__ import annotations

import urllib.request
from io import BytesIO

import numpy as np
import pytest
import pyvips
from django.test import Client

from assets.models import ApiKey, Asset
from refiners.models import ChosenVariation
from tests.browser import browser, page, screenshot  # noqa: F401
from tests.conftest import CLOUD, signed
from tests.refiners.test_refiner_generative_delivery import differ, photo
from tests.studio_fixtures import PREVIEW_READY, log_in, make_user
from transforms.cloudinary.variation import with_variation

T = "ar_16:9,b_gen_fill,c_pad,w_160"


def put_photo(public_id: str = "gen/studio") -> Asset:
    key = ApiKey.objects.create(name="tests")
    body = signed({"public_id": public_id}, key)
    body["file"] = BytesIO(photo())
    body["file"].name = "pic.png"
    assert Client().post(f"/v1_1/{CLOUD}/image/upload", body).status_code == 200
    return Asset.objects.get(public_id=public_id)


@pytest.fixture
def editor(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    return make_user("eddie", "editor")


@pytest.mark.django_db
def test_the_button_and_the_screen_without_a_browser(client, editor, settings):
    settings.DAM_INPAINT_URL = settings.DAM_IMAGE_EDIT_URL = ""
    settings.DAM_INPAINT_PROMPTS = False
    asset = put_photo()
    client.force_login(editor)
    with_step = client.get(f"/studio/{asset.asset_id}/", {"t": T}).content.decode()
    assert 'id="refine-generative"' in with_step and ">Generative Fill</a>" in with_step
    without = client.get(f"/studio/{asset.asset_id}/", {"t": "c_fill,w_50"}).content.decode()
    assert 'id="refine-generative"' not in without
    removal = client.get(f"/studio/{asset.asset_id}/", {"t": "e_gen_remove:prompt_person"}).content.decode()
    assert ">Generative Remove</a>" in removal  # the button is named after the step
    restore = client.get(f"/studio/{asset.asset_id}/", {"t": "e_gen_restore"}).content.decode()
    assert 'id="refine-generative"' not in restore  # no seed in its syntax: no variations to choose from
    screen = client.get(f"/studio/{asset.asset_id}/refine/generative/", {"t": T})
    assert screen.status_code == 200
    html = screen.content.decode()
    assert "Generative Fill Refiner" in html and 'id="gen-prompt-reason"' in html and "DAM_IMAGE_EDIT_URL" in html
    settings.DAM_IMAGE_EDIT_URL = "http://127.0.0.1:9/v1/images/edits"  # configured (not called here)
    assert 'id="gen-prompt-reason"' not in client.get(f"/studio/{asset.asset_id}/refine/generative/",
                                                      {"t": T}).content.decode()
    none = client.get(f"/studio/{asset.asset_id}/refine/generative/", {"t": "c_fill,w_50"})
    assert none.status_code == 400 and "no generative step" in none.content.decode()
    bad = client.post(f"/studio/{asset.asset_id}/refine/generative/generate/?t={T}", '{"count": 12}',
                      content_type="application/json")
    assert bad.status_code == 400 and "count" in bad.json()["error"]["message"]
    viewer = Client()
    viewer.force_login(make_user("vic", "viewer"))
    assert viewer.get(f"/studio/{asset.asset_id}/refine/generative/", {"t": T}).status_code == 403


def delivered(live_server, asset, text: str) -> np.ndarray:
    with urllib.request.urlopen(f"{live_server.url}/{CLOUD}/image/upload/{text}/{asset.public_id}.png") as r:
        return pyvips.Image.new_from_buffer(r.read(), "").numpy().astype(np.float32)


@pytest.mark.live
@pytest.mark.django_db(transaction=True)
def test_generate_three_dismiss_one_choose_one_update(page, editor, celery_worker, live_server, settings):
    settings.DAM_INPAINT_URL = settings.DAM_IMAGE_EDIT_URL = ""
    settings.DAM_INPAINT_PROMPTS = False
    asset = put_photo()
    log_in(page, f"/studio/{asset.asset_id}/?t={T}")
    page.locator("#refiners").get_by_role("link", name="Generative Fill").click()
    page.wait_for_url(f"**/studio/{asset.asset_id}/refine/generative/*")
    page.wait_for_selector("#gen[data-ready='1']")
    assert page.get_by_label("Prompt").is_disabled()
    assert "understands prompts" in page.locator("#gen-prompt-reason").inner_text()
    page.get_by_label("How many variations").fill("3")
    page.get_by_role("button", name="Transform", exact=True).click()
    page.wait_for_selector("#gen[data-busy='1']")
    assert "Generating variations" in page.locator("#gen-status").inner_text()
    page.wait_for_function("() => document.querySelectorAll('.gen-card[data-ready=\"1\"] img.gen-image').length === 3"
                           " && [...document.querySelectorAll('img.gen-image')].every(i => i.naturalWidth > 0)",
                           timeout=240_000)
    assert page.locator("#gen").get_attribute("data-busy") == "0"
    assert page.locator("#gen-status").inner_text() == "3 variations ready."
    page.wait_for_function("() => document.querySelector('#gen-current').naturalWidth > 0", timeout=240_000)
    screenshot(page, "generative-refiner-three")

    cards = page.locator(".gen-card")
    # compare: the current result in the variation's place, toggled by the button
    first = cards.nth(0)
    shown = first.locator("img.gen-image")
    own = shown.evaluate("i => i.src")
    first.get_by_role("button", name="Compare").click()
    assert shown.evaluate("i => i.src") == page.locator("#gen-current").evaluate("i => i.src") != own
    first.get_by_role("button", name="Compare").click()
    assert shown.evaluate("i => i.src") == own
    # thumbs-down dismisses one
    first.get_by_role("button", name="Dismiss", exact=False).click()
    assert cards.count() == 2
    pick = cards.nth(1)
    seed = int(pick.get_attribute("data-seed"))
    pick.click()
    assert pick.get_attribute("aria-checked") == "true"
    assert f"seed {seed}" in page.locator("#gen-selected").inner_text()
    screenshot(page, "generative-refiner-chosen")
    page.get_by_role("button", name="Update Transformation").click()
    page.wait_for_url(f"**/studio/{asset.asset_id}/?t=*")
    chosen = ChosenVariation.objects.get(asset=asset)
    assert (chosen.transformation, chosen.seed) == (T, seed)

    page.wait_for_function(PREVIEW_READY, arg=T.split(",")[0], timeout=60_000)
    assert page.locator("#generative-chosen").is_visible()
    src = page.locator("#preview").get_attribute("src")
    assert "g=" in src
    screenshot(page, "generative-refiner-studio-after")
    variation = with_variation(T, seed)
    with urllib.request.urlopen(live_server.url + src) as r:
        preview = pyvips.Image.new_from_buffer(r.read(), "").numpy().astype(np.float32)
    # the preview is the asset's format (PNG) at the chain's size: the chosen pixels
    assert differ(preview, delivered(live_server, asset, variation)) < 0.5
    assert differ(delivered(live_server, asset, T + "/e_grayscale"),
                  delivered(live_server, asset, variation + "/e_grayscale")) < 0.5
