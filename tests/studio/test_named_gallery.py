"""The named transformations as a gallery (issue 14, item 8): each card shows the
transformation applied to a sample image (the newest, or ``?on=<asset_id>``); a definition
that cannot be read shows its reason without JavaScript, a transformation that fails when it
renders shows the delivery's reason (X-Cld-Error) instead of a broken image (Chromium); an
empty library says to upload an image."""

from __future__ import annotations

import io
import re
from html import unescape

import pytest
from django.test import Client

from assets.models import ApiKey, Asset
from studio import links
from tests.browser import browser, page, screenshot  # noqa: F401
from tests.conftest import make_image, signed
from tests.studio_fixtures import log_in, login, make_user, users  # noqa: F401
from transforms.cloudinary import named
from transforms.models_named import Transformation


def put(public_id: str, width: int = 400, height: int = 300, seed: int = 0) -> Asset:
    key = ApiKey.objects.first() or ApiKey.objects.create(name="tests")
    data = signed({"public_id": public_id}, key)
    data["file"] = io.BytesIO(make_image(width, height, seed=seed))
    data["file"].name = "sample.jpg"
    response = Client().post("/v1_1/demo/image/upload", data)
    assert response.status_code == 200, response.content
    return Asset.objects.get(public_id=public_id)


def cards(html: str) -> dict[str, str]:
    """{name: the card's html}"""
    found = re.findall(r'<li class="named-card[^"]*" id="t-[^"]*">(.*?)</li>\s*(?=<li class="named-card|</ul>)',
                       html, re.S)
    return {unescape(re.search(r"<code>t_([^<]+)</code>", c).group(1)): c for c in found}


def broken_nested():
    """``outer`` refers to ``inner``, then ``inner`` is deleted: outer's definition no longer reads."""
    named.create("inner", "e_grayscale")
    named.create("outer", "t_inner/e_sepia")
    named.delete(Transformation.objects.get(named=True, name="inner"))


@pytest.mark.django_db
def test_cards_show_a_thumbnail_on_the_newest_image_or_the_chosen_one(login):
    first, newest = put("samples/first", seed=1), put("samples/newest", seed=2)
    named.create("small", "c_scale,w_100", allowed_for_strict=False)
    named.create("sepia", "e_sepia")
    broken_nested()
    client = login("viewer")
    html = client.get("/transformations/").content.decode()
    found = cards(html)
    assert sorted(found) == ["outer", "sepia", "small"]
    src = unescape(re.search(r'<img src="([^"]+)"[^>]*loading="lazy"', found["small"]).group(1))
    assert src.startswith(links.gallery_path(newest, "small")) and "/t_small/c_limit,w_320,h_240/" in src
    for fact in ("c_scale,w_100", "Not allowed", 'class="derived-count">0<'):
        assert fact in found["small"]
    assert "Allowed" in found["sepia"] and "Edit t_sepia" not in found["sepia"]  # a viewer: no edit buttons
    assert "<img" not in found["outer"] and "cannot render: Unknown named transformation: inner" in found["outer"]
    assert 'value="samples/newest"' not in html and f'value="{newest.asset_id}" selected' in html

    chosen = client.get(f"/transformations/?on={first.asset_id}").content.decode()
    assert links.gallery_path(first, "small") in unescape(chosen)
    assert f'value="{first.asset_id}" selected' in chosen
    # an unknown asset id falls back to the newest, not an error
    assert links.gallery_path(newest, "small") in unescape(client.get("/transformations/?on=nope").content.decode())

    delivered = client.get(src)
    assert delivered.status_code == 200  # signed: rendered even with strict mode on and the name not allowed
    assert "Edit t_sepia" in login("editor").get("/transformations/").content.decode()


@pytest.mark.django_db
def test_the_gallerys_thumbnails_do_not_count_as_derived_images(login):
    sample = put("samples/count")
    named.create("small", "c_scale,w_100")
    client = login("editor")
    src = unescape(re.search(r'<img src="([^"]+)"', cards(client.get("/transformations/").content.decode())["small"])
                   .group(1))
    assert client.get(src).status_code == 200  # the card's thumbnail, stored as a derived image
    assert 'class="derived-count">0<' in cards(client.get("/transformations/").content.decode())["small"]
    assert '<span id="derived-count">0</span>' in client.get("/transformations/small/").content.decode()

    assert client.get(links.path(sample, "t_small")).status_code == 200  # the user's own
    assert client.get(links.path(sample, "t_small/e_sepia")).status_code == 200
    assert 'class="derived-count">2<' in cards(client.get("/transformations/").content.decode())["small"]


@pytest.mark.django_db
def test_an_empty_library_says_to_upload_an_image(login):
    named.create("sepia", "e_sepia")
    html = login("viewer").get("/transformations/").content.decode()
    assert "Upload an image to see previews" in html and "<img" not in cards(html)["sepia"]


# --- in Chromium ---------------------------------------------------------------------------


@pytest.fixture
def editor(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    return make_user("eddie", "editor")


@pytest.mark.live
@pytest.mark.django_db(transaction=True)
def test_gallery_thumbnails_load_and_failures_say_why(page, editor):
    put("samples/landscape", 640, 400)
    named.create("sepia_small", "c_fill,w_300,h_200/e_sepia")
    named.create("round", "r_max")
    named.create("missing_layer", "l_no_such_overlay")  # reads fine; fails when it renders
    broken_nested()
    log_in(page, "/transformations/")

    for name in ("sepia_small", "round"):
        image = page.locator(f"#t-{name} img")
        page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=image.element_handle())
    failing = page.locator("#t-missing_layer .thumb-problem")
    failing.wait_for(state="visible")
    page.wait_for_function("el => el.textContent.includes('Overlay not found')", arg=failing.element_handle())
    assert page.locator("#t-missing_layer img").evaluate("i => !i.checkVisibility()")
    assert "Unknown named transformation: inner" in page.locator("#t-outer .thumb-problem").inner_text()
    # three cards side by side at 1280 px, one column at 390 px without horizontal scrolling
    tops = page.locator(".named-card").evaluate_all("cards => cards.map(c => c.getBoundingClientRect().top)")
    assert len(set(round(t) for t in tops[:3])) == 1
    screenshot(page, "named-gallery")
    page.set_viewport_size({"width": 390, "height": 844})
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.set_viewport_size({"width": 1280, "height": 800})

    page.get_by_role("link", name="Edit t_round").click()
    page.wait_for_url("**/transformations/round/")
