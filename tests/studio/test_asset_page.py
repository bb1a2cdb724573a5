"""The asset page's additions (issue 14, item 6) through Django's test client: the Metadata
card (EXIF, ICC profile, alpha, palette; read once per version), the alt-text field, the
Derived images list without the Studio's own thumbnails, https URLs behind a TLS proxy,
and the Download button."""

from __future__ import annotations

import io
import re
from html import unescape

import pytest
from PIL import Image

from assets import imagemeta
from assets.models import Asset, AssetVersion
from assets.tasks import compute_image_metadata
from studio import links
from tests.images import BLUE, RED, jpeg_with_exif, png_with_alpha, two_colours
from tests.studio_fixtures import login, users  # noqa: F401

pytestmark = pytest.mark.django_db


def put(upload, data: bytes, public_id: str, name: str = "photo.jpg", read=True, **params) -> Asset:
    """Upload; ``read``: then run what the worker runs for a stored version (the test's
    transaction never commits, so asset_stored is not sent)."""
    response = upload(data, name=name, public_id=public_id, **params)
    assert response.status_code == 200, response.content
    asset = Asset.objects.get(public_id=public_id)
    if read:
        compute_image_metadata(asset.pk, asset.version_id)
    return asset


def text_of(html: str) -> str:
    return unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)))


def card(html: str, card_id: str) -> str:
    start = html.index(f'id="{card_id}"')
    return html[start:html.index("</section>", start)]


def test_metadata_card_shows_exif_icc_and_palette_and_reads_the_file_once(login, upload, monkeypatch):
    asset = put(upload, jpeg_with_exif(), "trip/camera")
    client = login("viewer")
    metadata = text_of(card(client.get(f"/assets/{asset.asset_id}/").content.decode(), "metadata-card"))
    for fact in ("Camera Canon EOS 5D", "Lens EF 50mm f/1.8", "Exposure 1/250 s, f/2.8", "Focal length 50 mm",
                 "ISO 200", "Date taken 2024-05-01 10:20:30", "GPS 52.50000, -1.25000", "holds the location",
                 "Orientation Normal", "Colour space SRGB", "ICC profile sRGB", "Bit depth 8 bits per channel",
                 "No alpha channel", "Predominant colours"):
        assert fact in metadata, (fact, metadata)
    stored = AssetVersion.objects.get(version_id=asset.version_id).image_metadata
    assert stored["exif"]["Make"] == "Canon" and stored["exif"]["GPSLatitude"] == 52.5

    def fail(*args):
        raise AssertionError("the file was read again")

    monkeypatch.setattr(imagemeta, "_describe", fail)
    assert "Canon EOS 5D" in client.get(f"/assets/{asset.asset_id}/").content.decode()
    compute_image_metadata(asset.pk, asset.version_id)  # a repeated task reads the row, not the file


def test_a_stored_version_queues_its_metadata_and_the_page_waits_for_it(login, upload, monkeypatch, settings,
                                                                        django_capture_on_commit_callbacks):
    from assets import tasks

    settings.DAM_FACE_DETECTION = False
    queued = []
    monkeypatch.setattr(tasks.compute_image_metadata, "apply_async",
                        lambda args, queue: queued.append(args) if queue == settings.DAM_FACES_QUEUE else None)
    with django_capture_on_commit_callbacks(execute=True):
        asset = put(upload, jpeg_with_exif(), "trip/queued", read=False)
    assert queued == [(asset.pk, asset.version_id)]  # on asset_stored, after commit

    client = login("viewer")

    def page() -> str:
        with django_capture_on_commit_callbacks(execute=True):
            return text_of(card(client.get(f"/assets/{asset.asset_id}/").content.decode(), "metadata-card"))

    monkeypatch.setattr(imagemeta, "_describe", lambda *a: pytest.fail("a page view read the file"))
    assert "Reading the file's metadata… Reload the page" in page()
    assert "Reading the file's metadata" in page()
    # no metadata yet (the worker was down when it was stored): the page queues it, once
    assert queued == [(asset.pk, asset.version_id)] * 2
    monkeypatch.undo()
    compute_image_metadata(*queued[-1])
    assert "Camera Canon EOS 5D" in page()
    assert AssetVersion.objects.get(version_id=asset.version_id).image_metadata["exif"]["Model"] == "EOS 5D"
    compute_image_metadata(asset.pk, "not-the-current-version")  # stale task: nothing to do


def test_raw_files_have_no_metadata_card(login, upload):
    # the upload API stores images only; a raw row comes from elsewhere (an import, a migration)
    asset = put(upload, jpeg_with_exif(), "docs/readme", read=False)
    Asset.objects.filter(pk=asset.pk).update(resource_type="raw", format="txt")
    asset.refresh_from_db()
    html = login("viewer").get(f"/assets/{asset.asset_id}/").content.decode()
    assert 'id="metadata-card"' not in html and "cannot be read" not in html and "Reading the file" not in html
    assert imagemeta.for_asset(asset) is None and imagemeta.cached(asset) is None


def test_a_new_version_gets_its_own_metadata(login, upload):
    asset = put(upload, jpeg_with_exif(), "trip/again")
    client = login("viewer")
    client.get(f"/assets/{asset.asset_id}/")
    asset = put(upload, png_with_alpha(), "trip/again", name="again.png")
    metadata = text_of(card(client.get(f"/assets/{asset.asset_id}/").content.decode(), "metadata-card"))
    assert "No EXIF data" in metadata and "Has an alpha channel" in metadata and "Canon" not in metadata


def test_png_with_alpha_has_no_exif_and_transparent_pixels_leave_the_palette(upload, login):
    asset = put(upload, png_with_alpha(), "icons/half", name="half.png")
    html = login("viewer").get(f"/assets/{asset.asset_id}/").content.decode()
    metadata = text_of(card(html, "metadata-card"))
    assert "No EXIF data" in metadata and "Has an alpha channel" in metadata and "None embedded" in metadata
    colors = AssetVersion.objects.get(version_id=asset.version_id).image_metadata["colors"]
    assert len(colors) == 1 and colors[0][0] == "#00A000" and colors[0][1] == 100.0


def _rgb(hex_: str) -> tuple[int, ...]:
    return tuple(int(hex_[i:i + 2], 16) for i in (1, 3, 5))


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP"])
def test_palette_of_two_known_colours(tmp_path, fmt):
    path = tmp_path / f"two.{fmt.lower()}"
    two_colours(640, 480).save(path, fmt, quality=90) if fmt != "PNG" else two_colours(640, 480).save(path, fmt)
    colors = imagemeta.describe(str(path))["colors"]
    assert len(colors) == 2, colors
    found = sorted(_rgb(h) for h, _ in colors)
    for expected, got in zip(sorted([RED, BLUE]), found):
        assert max(abs(a - b) for a, b in zip(expected, got)) <= 6, (expected, got)
    assert all(abs(p - 50) <= 2 for _, p in colors)


def test_unreadable_exif_is_no_exif():
    assert imagemeta.exif_fields(b"Exif\x00\x00garbage") == {}
    assert imagemeta.exposure_text(0.004) == "1/250 s" and imagemeta.exposure_text(2) == "2 s"


# --- alt text ----------------------------------------------------------------------------------


def test_alt_text_is_stored_in_context_and_used_as_the_images_alt(login, upload, settings):
    asset = put(upload, jpeg_with_exif(), "shoes/red", context="sku=R-1")
    client = login("editor")
    html = client.get(f"/assets/{asset.asset_id}/").content.decode()
    assert "Describe the image for people who can&#x27;t see it" in html and 'alt="shoes/red"' in html

    response = client.post(f"/assets/{asset.asset_id}/context/", {"alt": "  A red\nshoe  "}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and "Saved." in response.content.decode()
    asset.refresh_from_db()
    assert asset.context == {"sku": "R-1", "alt": "A red shoe"}
    assert 'alt="A red shoe"' in client.get(f"/assets/{asset.asset_id}/").content.decode()
    assert 'alt="A red shoe"' in login("viewer").get("/library/").content.decode()  # the tile
    viewer = text_of(card(login("viewer").get(f"/assets/{asset.asset_id}/").content.decode(), "context-card"))
    assert "Alt text A red shoe" in viewer and "Save alt text" not in viewer

    settings.DAM_MAX_CONTEXT_VALUE_LENGTH = 20
    client = login("editor")
    response = client.post(f"/assets/{asset.asset_id}/context/", {"alt": "x" * 21}, HTTP_HX_REQUEST="true")
    assert response.status_code == 422 and "longer than 20 characters" in response.content.decode()
    asset.refresh_from_db()
    assert asset.context["alt"] == "A red shoe"

    response = client.post(f"/assets/{asset.asset_id}/context/", {"alt": ""})  # plain form: redirect
    assert response.status_code == 302
    asset.refresh_from_db()
    assert asset.context == {"sku": "R-1"}


def test_a_viewer_cannot_set_alt_text(login, upload):
    asset = put(upload, jpeg_with_exif(), "shoes/blue")
    assert login("viewer").post(f"/assets/{asset.asset_id}/context/", {"alt": "x"}).status_code == 403
    asset.refresh_from_db()
    assert "alt" not in asset.context


# --- derived images ---------------------------------------------------------------------------


def test_derived_list_hides_the_studios_thumbnails_but_shows_the_users_renders(login, upload):
    asset = put(upload, jpeg_with_exif(), "trip/derived")
    client = login("editor")
    for url in (links.path(asset, links.THUMB), links.path(asset, links.THUMB_2X), links.preview(asset),
                links.path(asset, "e_sepia"), links.path(asset, "c_scale,w_50")):
        assert client.get(url).status_code == 200, url
    from transforms.cloudinary import named
    named.create("tiny", "c_scale,w_30")
    assert client.get(links.gallery_path(asset, "tiny")).status_code == 200
    assert client.get(links.path(asset, "t_tiny")).status_code == 200

    # the Focus Area Refiner's previews are stored as derived images too: the Studio's own
    Asset.objects.filter(pk=asset.pk).update(custom_coordinates=[[10, 10, 80, 60]])
    asset.refresh_from_db()
    assert client.get(links.path(asset, links.FOCUS_CUSTOM)).status_code == 200
    from transforms.models import DerivedImage
    stored = set(DerivedImage.objects.filter(asset=asset).values_list("transformation", flat=True))
    assert "c_crop,g_custom" in stored and len(stored) == 8, stored
    assert links.is_ui_transformation("c_thumb,g_face,h_200,w_200")

    derived = card(client.get(f"/assets/{asset.asset_id}/").content.decode(), "derived-card")
    shown = re.findall(r"<code>([^<]+)</code>", derived)
    assert sorted(shown) == ["c_scale,w_50", "e_sepia", "t_tiny"], shown


# --- secure_url behind a TLS proxy --------------------------------------------------------------


def _urls(html: str) -> tuple[str, str]:
    found = dict(re.findall(r'id="copy-(url|secure-url)" value="([^"]+)"', html))
    return unescape(found["url"]), unescape(found["secure-url"])


def test_urls_are_https_behind_a_trusted_tls_proxy(login, upload, settings):
    asset = put(upload, jpeg_with_exif(), "tls/one")
    # what DAM_BEHIND_PROXY sets (config/settings.py); the proxy passes the public host on
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    settings.USE_X_FORWARDED_HOST = True
    settings.ALLOWED_HOSTS = ["dam.example.com", "127.0.0.1"]
    html = login("viewer").get(f"/assets/{asset.asset_id}/", HTTP_HOST="127.0.0.1:8000",
                               HTTP_X_FORWARDED_HOST="dam.example.com", HTTP_X_FORWARDED_PROTO="https").content.decode()
    url, secure = _urls(html)
    assert url.startswith("https://dam.example.com/demo/image/upload/") and secure == url


def test_the_forwarded_header_is_ignored_when_not_trusted(login, upload, settings):
    asset = put(upload, jpeg_with_exif(), "tls/two")
    settings.SECURE_PROXY_SSL_HEADER = None  # DAM_BEHIND_PROXY off: anyone could send the header
    html = login("viewer").get(f"/assets/{asset.asset_id}/", HTTP_X_FORWARDED_PROTO="https").content.decode()
    url, secure = _urls(html)
    assert url.startswith("http://testserver/") and secure.startswith("http://testserver/")


@pytest.mark.parametrize("base", ["https://media.example.com", "http://media.example.com/"])
def test_public_base_url_gives_an_https_secure_url(login, upload, settings, base):
    asset = put(upload, jpeg_with_exif(), "tls/three")
    settings.DAM_PUBLIC_BASE_URL = base
    url, secure = _urls(login("viewer").get(f"/assets/{asset.asset_id}/").content.decode())
    assert url.startswith(base.rstrip("/") + "/demo/image/upload/")
    assert secure.startswith("https://media.example.com/demo/image/upload/") and secure.endswith("/tls/three.jpg")


# --- download ---------------------------------------------------------------------------------


def test_download_button_downloads_the_original(login, upload):
    asset = put(upload, jpeg_with_exif(), "dl/original")
    client = login("viewer")
    html = client.get(f"/assets/{asset.asset_id}/").content.decode()
    head = html[html.index('class="studio-head"'):html.index('class="asset"')]
    assert f'href="/assets/{asset.asset_id}/download/"' in head and "Download original" in head
    response = client.get(f"/assets/{asset.asset_id}/download/")
    assert response.status_code == 302 and "/fl_attachment/" in response["Location"]
    delivered = client.get(response["Location"])
    assert delivered["Content-Disposition"].startswith("attachment")
    assert Image.open(io.BytesIO(b"".join(delivered.streaming_content))).size == (200, 100)
