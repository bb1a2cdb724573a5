"""Delivery of originals: GET /<cloud>/image/<type>/[s--SIG--/][v<version>/]<public_id>.<ext>."""

from __future__ import annotations

import hashlib
import io
import os
import threading
from pathlib import Path
from urllib.parse import urlsplit

import cloudinary.utils
import numpy as np
import pytest
import pyvips
from django.core.files.storage import storages
from django.urls import resolve
from PIL import Image as PILImage

from assets import signing
from assets.models import Asset
from tests.conftest import CLOUD, make_image
from tests.images import mean_difference
from transforms import derived
from transforms.cloudinary import parser
from transforms.derived_api import delete_derived, derived_for_asset, derived_totals
from transforms.models import DerivedImage

pytestmark = pytest.mark.django_db


# --- helpers --------------------------------------------------------------------------


def body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def decode(data: bytes) -> tuple[str, np.ndarray]:
    """(format, HxWxC uint8 array) of an encoded image; BMP through Pillow."""
    if data[:2] == b"BM":
        return "bmp", np.asarray(PILImage.open(io.BytesIO(data)).convert("RGB"))
    image = pyvips.Image.new_from_buffer(data, "")
    loader = image.get("vips-loader").removesuffix("_buffer").removesuffix("_source")
    array = image.numpy()
    if array.ndim == 2:
        array = array[:, :, None]
    return loader, array


def uploaded(upload, data: bytes, public_id: str, name: str = "file.png", **params) -> dict:
    response = upload(data, name=name, public_id=public_id, **params)
    assert response.status_code == 200, response.content
    return response.json()


def path_of(url: str) -> str:
    return urlsplit(url).path


def derived_files() -> list[Path]:
    root = Path(storages["derived"].location)
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def sdk_url(public_id: str, secret: str, **options) -> str:
    url, _ = cloudinary.utils.cloudinary_url(public_id, cloud_name=CLOUD, sign_url=True, api_secret=secret,
                                             **options)
    # The SDK's host is res.cloudinary.com/<cloud>/...; ours is /<cloud>/...
    return path_of(url)


@pytest.fixture
def png(upload):
    data = make_image(64, 48, "png")
    return data, uploaded(upload, data, "folder/pic")


# --- the path parser: table-driven, and inverse of build_path -------------------------

PARSE_CASES = [
    ("upload/sample.jpg", ("upload", None, (), None, "sample", "jpg")),
    ("upload/v123/sample", ("upload", None, (), 123, "sample", None)),
    ("upload/v1/a/b/c.d.png", ("upload", None, (), 1, "a/b/c.d", "png")),
    ("private/s--abcdEFGH--/v9/x.JPEG", ("private", "abcdEFGH", (), 9, "x", "JPEG")),
    ("upload/w_100,h_50/c_fill/v2/x.jpg", ("upload", None, ("w_100,h_50", "c_fill"), 2, "x", "jpg")),
    ("upload/w_100/folder/x.jpg", ("upload", None, ("w_100",), None, "folder/x", "jpg")),
    ("upload/my_folder/x.jpg", ("upload", None, (), None, "my_folder/x", "jpg")),
    ("upload/folder/v12/x.jpg", ("upload", None, (), None, "folder/v12/x", "jpg")),
    ("upload/v12", ("upload", None, (), None, "v12", None)),
    ("authenticated/$w_100/x.png", ("authenticated", None, ("$w_100",), None, "x", "png")),
    ("upload/.hidden", ("upload", None, (), None, ".hidden", None)),
]


@pytest.mark.parametrize("rest,expected", PARSE_CASES)
def test_parse(rest, expected):
    p = parser.parse(rest)
    assert (p.type, p.signature, p.transformations, p.version, p.public_id, p.extension) == expected


@pytest.mark.parametrize("rest", ["fetch/x.jpg", "upload/", "upload//x.jpg", "upload/s--abcdefgh--", "list/x"])
def test_parse_rejects(rest):
    from core.errors import BadRequest

    with pytest.raises(BadRequest):
        parser.parse(rest)


@pytest.mark.parametrize("public_id,kwargs", [
    ("sample", {"fmt": "jpg"}),
    ("a/b/café au lait", {"fmt": "png", "version": 17}),
    ("x.y", {"fmt": "webp", "version": 3, "signature": "abcdefgh", "type": "private"}),
    ("folder/w_100", {"version": 1}),
    ("n", {"transformation": "c_fill,w_10/e_grayscale", "fmt": "gif", "version": 2}),
])
def test_build_then_parse_round_trip(public_id, kwargs):
    from urllib.parse import unquote

    path = parser.build_path(CLOUD, public_id, **kwargs)
    cloud, resource_type, rest = unquote(path).lstrip("/").split("/", 2)
    parsed = parser.parse(rest)
    assert (cloud, resource_type) == (CLOUD, "image")
    assert parsed.public_id == public_id
    assert parsed.extension == kwargs.get("fmt")
    assert parsed.version == kwargs.get("version")
    assert parsed.signature == kwargs.get("signature")
    assert parsed.transformation == kwargs.get("transformation", "")


# --- same format: the original bytes --------------------------------------------------


def test_same_format_streams_the_original_with_headers(client, png):
    data, info = png
    response = client.get(path_of(info["url"]))
    assert response.status_code == 200
    assert response.streaming  # a FileResponse, never the whole file read into memory
    content = body(response)
    assert hashlib.sha256(content).hexdigest() == hashlib.sha256(data).hexdigest()
    assert response["Content-Type"] == "image/png"
    assert int(response["Content-Length"]) == len(data)
    assert response["ETag"] == f'"{info["etag"]}"'
    assert response["Last-Modified"]
    assert response["Cache-Control"] == "public, max-age=31536000, immutable"
    assert response["Content-Disposition"] == 'inline; filename="pic.png"'
    assert DerivedImage.objects.count() == 0


@pytest.mark.parametrize("suffix", ["", ".png", ".PNG"])
@pytest.mark.parametrize("version", [None, 1, "current"])
def test_original_format_with_or_without_extension_and_version(client, png, suffix, version):
    data, info = png
    prefix = "" if version is None else f"v{info['version'] if version == 'current' else version}/"
    response = client.get(f"/{CLOUD}/image/upload/{prefix}folder/pic{suffix}")
    assert response.status_code == 200
    assert body(response) == data
    # Only a URL naming the current version is cached for long; any other number still works.
    long_cache = version == "current"
    assert ("immutable" in response["Cache-Control"]) is long_cache
    assert response["Cache-Control"].startswith("public, max-age=")


# --- conversion -------------------------------------------------------------------------

FORMATS = [
    # extension, loader (or bmp), MIME type, colour tolerance
    ("jpg", "jpegload", "image/jpeg", 6),
    ("jpeg", "jpegload", "image/jpeg", 6),
    ("png", "pngload", "image/png", 0),
    ("webp", "webpload", "image/webp", 6),
    ("avif", "heifload", "image/avif", 8),
    ("gif", "gifload", "image/gif", 8),
    ("tiff", "tiffload", "image/tiff", 0),
    ("tif", "tiffload", "image/tiff", 0),
    ("bmp", "bmp", "image/bmp", 0),
]


@pytest.mark.parametrize("ext,loader,mime,tolerance", FORMATS)
def test_convert_to_each_format(client, upload, ext, loader, mime, tolerance):
    data = make_image(80, 50, "png")
    source = decode(data)[1]
    info = uploaded(upload, make_image(80, 50, "tiff"), "conv/src", name="src.tif")
    response = client.get(f"/{CLOUD}/image/upload/v{info['version']}/conv/src.{ext}")
    assert response.status_code == 200, response.headers.get("X-Cld-Error")
    assert response["Content-Type"] == mime
    fmt, pixels = decode(body(response))
    assert fmt == loader
    assert pixels.shape[:2] == (50, 80)
    assert mean_difference(pixels, source, block=4) <= tolerance
    canonical = {"jpeg": "jpg", "tif": "tiff"}.get(ext, ext)
    assert response["Content-Disposition"] == f'inline; filename="src.{canonical}"'


@pytest.mark.parametrize("ext", ["jpg", "bmp"])
def test_alpha_is_flattened_onto_white(client, upload, ext):
    rgba = np.zeros((40, 60, 4), dtype=np.uint8)
    rgba[..., 0] = 200  # red where opaque
    rgba[:, 30:, 3] = 255  # left half fully transparent
    data = pyvips.Image.new_from_array(rgba, interpretation="srgb").write_to_buffer(".png")
    info = uploaded(upload, data, "alpha")
    response = client.get(f"/{CLOUD}/image/upload/v{info['version']}/alpha.{ext}")
    assert response.status_code == 200
    _, pixels = decode(body(response))
    assert pixels.shape[2] == 3
    assert pixels[:, :25].min() >= 240  # transparent -> white, not black
    assert abs(float(pixels[:, 35:, 0].mean()) - 200) < 8 and pixels[:, 35:, 1].max() < 20


def test_png_keeps_alpha_as_webp(client, upload):
    rgba = np.full((20, 30, 4), 128, dtype=np.uint8)
    rgba[..., 3] = 0
    info = uploaded(upload, pyvips.Image.new_from_array(rgba, interpretation="srgb").write_to_buffer(".png"), "a2")
    image = pyvips.Image.new_from_buffer(body(client.get(f"/{CLOUD}/image/upload/a2.webp")), "")
    assert image.hasalpha() and image.width == 30
    assert info["format"] == "png"


def test_bmp_original_converts_to_png(client, upload):
    data = make_image(33, 21, "bmp")
    info = uploaded(upload, data, "bitmap", name="b.bmp")
    assert info["format"] == "bmp"
    same = client.get(f"/{CLOUD}/image/upload/bitmap.bmp")
    assert body(same) == data and same["Content-Type"] == "image/bmp"
    fmt, pixels = decode(body(client.get(f"/{CLOUD}/image/upload/bitmap.png")))
    assert fmt == "pngload" and pixels.shape[:2] == (21, 33)
    assert mean_difference(pixels, decode(data)[1], block=4) <= 0


# --- EXIF orientation -----------------------------------------------------------------


def oriented_jpeg(width=64, height=40, orientation=6) -> tuple[bytes, np.ndarray]:
    """A JPEG stored `width`x`height` with an EXIF orientation, and its stored pixels."""
    array = decode(make_image(width, height, "png"))[1]
    image = pyvips.Image.new_from_array(array, interpretation="srgb").copy()
    image.set_type(pyvips.GValue.gint_type, "orientation", orientation)
    data = image.write_to_buffer(".jpg", Q=95)
    stored = pyvips.Image.new_from_buffer(data, "").numpy()
    return data, stored


@pytest.mark.parametrize("ext", ["jpg", "png", "webp"])
def test_exif_orientation_is_applied(client, upload, ext):
    data, stored = oriented_jpeg()
    info = uploaded(upload, data, "rotated", name="r.jpg")
    assert (info["width"], info["height"]) == (40, 64)  # as displayed
    response = client.get(f"/{CLOUD}/image/upload/v{info['version']}/rotated.{ext}")
    assert response.status_code == 200
    content = body(response)
    if ext == "jpg":
        assert content != data  # same format, but not the original bytes: they would show sideways
    _, pixels = decode(content)
    assert pixels.shape[:2] == (64, 40)
    assert mean_difference(pixels, np.rot90(stored, k=-1), block=4) <= 12  # orientation 6: turn 90 degrees clockwise
    image = pyvips.Image.new_from_buffer(content, "")
    assert not image.get_typeof("orientation") or image.get("orientation") == 1


def test_orientation_one_keeps_the_original_bytes(client, upload):
    data, _ = oriented_jpeg(orientation=1)
    info = uploaded(upload, data, "upright", name="u.jpg")
    assert body(client.get(path_of(info["url"]))) == data
    assert DerivedImage.objects.count() == 0


# --- conditional requests, HEAD -------------------------------------------------------


def test_conditional_get_and_head(client, png):
    data, info = png
    url = f"/{CLOUD}/image/upload/folder/pic.webp"
    first = client.get(url)
    etag, last_modified = first["ETag"], first["Last-Modified"]
    assert etag.startswith('"') and not etag.startswith('W/')
    not_modified = client.get(url, HTTP_IF_NONE_MATCH=etag)
    assert not_modified.status_code == 304 and not_modified.content == b""
    assert not_modified["ETag"] == etag and not_modified["Cache-Control"]
    assert client.get(url, HTTP_IF_MODIFIED_SINCE=last_modified).status_code == 304
    assert client.get(url, HTTP_IF_NONE_MATCH='"other"', HTTP_IF_MODIFIED_SINCE=last_modified).status_code == 200
    assert client.get(path_of(info["url"]), HTTP_IF_NONE_MATCH=etag).status_code == 200  # other content
    head = client.head(url)
    assert head.status_code == 200 and head.content == b""
    assert head["Content-Length"] == first["Content-Length"] and head["ETag"] == etag
    assert head["Content-Type"] == "image/webp"


def test_other_methods_are_refused(client, png):
    assert client.post(f"/{CLOUD}/image/upload/folder/pic.png").status_code == 405


# --- the derived cache ----------------------------------------------------------------


def test_derived_is_rendered_once_then_streamed(client, png):
    _, info = png
    url = f"/{CLOUD}/image/upload/v{info['version']}/folder/pic.webp"
    first = client.get(url)
    assert DerivedImage.objects.count() == 1
    row = DerivedImage.objects.get()
    stored = Path(storages["derived"].path(row.storage_name))
    mtime = stored.stat().st_mtime_ns
    second = client.get(url)
    assert body(second) == body(first) and second["ETag"] == first["ETag"] == f'"{row.etag}"'
    assert DerivedImage.objects.count() == 1 and stored.stat().st_mtime_ns == mtime
    assert (row.format, row.width, row.height, row.bytes) == ("webp", 64, 48, stored.stat().st_size)
    client.get(f"/{CLOUD}/image/upload/folder/pic.jpg")
    assert DerivedImage.objects.count() == 2 and len(derived_files()) == 2


def test_missing_derived_file_is_rendered_again(client, png):
    url = f"/{CLOUD}/image/upload/folder/pic.gif"
    client.get(url)
    row = DerivedImage.objects.get()
    os.remove(storages["derived"].path(row.storage_name))
    response = client.get(url)
    assert response.status_code == 200 and decode(body(response))[0] == "gifload"
    assert DerivedImage.objects.count() == 1


def test_overwrite_drops_stale_derived(client, upload, png, django_capture_on_commit_callbacks):
    client.get(f"/{CLOUD}/image/upload/folder/pic.jpg")
    old_file = derived_files()[0]
    with django_capture_on_commit_callbacks(execute=True):
        info = uploaded(upload, make_image(30, 20, "png", seed=3), "folder/pic", overwrite="true")
    assert DerivedImage.objects.count() == 0 and not old_file.exists()
    _, pixels = decode(body(client.get(f"/{CLOUD}/image/upload/v{info['version']}/folder/pic.jpg")))
    assert pixels.shape[:2] == (20, 30)


def test_delete_removes_derived_files(client, upload, png, django_capture_on_commit_callbacks):
    client.get(f"/{CLOUD}/image/upload/folder/pic.jpg")
    client.get(f"/{CLOUD}/image/upload/folder/pic.webp")
    assert len(derived_files()) == 2
    with django_capture_on_commit_callbacks(execute=True):
        assert upload(None, action="destroy", public_id="folder/pic").json() == {"result": "ok"}
    assert DerivedImage.objects.count() == 0 and derived_files() == []
    response = client.get(f"/{CLOUD}/image/upload/folder/pic.jpg")
    assert response.status_code == 404


def test_rename_drops_derived(client, upload, png, django_capture_on_commit_callbacks):
    client.get(f"/{CLOUD}/image/upload/folder/pic.jpg")
    with django_capture_on_commit_callbacks(execute=True):
        response = upload(None, action="rename", from_public_id="folder/pic", to_public_id="moved/pic")
    assert response.status_code == 200
    assert DerivedImage.objects.count() == 0 and derived_files() == []
    assert client.get(f"/{CLOUD}/image/upload/moved/pic.jpg").status_code == 200
    assert client.get(f"/{CLOUD}/image/upload/folder/pic.jpg").status_code == 404


def test_derived_api_shape_and_delete(client, png, django_capture_on_commit_callbacks):
    _, info = png
    client.get(f"/{CLOUD}/image/upload/folder/pic.avif")
    asset = Asset.objects.get(public_id="folder/pic")
    (entry,) = derived_for_asset(asset)
    assert set(entry) == {"transformation", "format", "bytes", "id", "url", "secure_url"}
    assert derived_totals() == {"count": 1, "bytes": entry["bytes"]}
    assert entry["format"] == "avif" and entry["transformation"] == "" and entry["bytes"] > 0
    again = client.get(path_of(entry["url"]))
    assert again.status_code == 200 and again["Content-Type"] == "image/avif"
    with django_capture_on_commit_callbacks(execute=True):
        assert delete_derived([entry["id"]]) == 1
    assert derived_for_asset(asset) == [] and derived_files() == []


@pytest.mark.django_db(transaction=True)
def test_concurrent_requests_render_once(upload, settings):
    from django.test import Client

    settings.DAM_MAX_CONCURRENT_RENDERS = 1
    info = uploaded(upload, make_image(400, 300, "png"), "busy")
    url = f"/{CLOUD}/image/upload/v{info['version']}/busy.avif"
    results: list[int] = []

    def fetch():
        from django.db import connection

        try:
            results.append(Client().get(url).status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=fetch) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [200] * 4
    assert DerivedImage.objects.count() == 1 and len(derived_files()) == 1


def test_render_slots_are_bounded_by_the_setting(settings):
    from core.errors import ApiError

    settings.DAM_MAX_CONCURRENT_RENDERS = 1
    settings.DAM_RENDER_QUEUE_TIMEOUT = 0.1
    with derived.render_slot():
        outcome = []

        def other():
            try:
                with derived.render_slot():
                    outcome.append("ran")
            except ApiError as exc:
                outcome.append(exc.status)

        thread = threading.Thread(target=other)
        thread.start()
        thread.join()
    assert outcome == [429]  # a 4xx: the client may retry after Retry-After
    settings.DAM_MAX_CONCURRENT_RENDERS = 2  # read at call time: two slots now
    with derived.render_slot(), derived.render_slot():
        pass


# --- signed URLs ----------------------------------------------------------------------


@pytest.fixture
def private(upload):
    data = make_image(50, 40, "jpg")
    return data, uploaded(upload, data, "secret/café au lait", name="s.jpg", type="private")


def test_private_needs_a_signature(client, private):
    _, info = private
    response = client.get(path_of(info["url"]))
    assert response.status_code == 401
    assert response["X-Cld-Error"].startswith("Signature is required")
    assert response.json()["error"]["message"]


@pytest.mark.parametrize("options", [
    {"format": "jpg"},
    {"format": "png"},
    {"format": "jpg", "long_url_signature": True},
    {"format": "webp", "signature_algorithm": "sha256"},
    {"format": "jpg", "version": "current"},
])
def test_private_with_sdk_signed_url(client, api_key, private, options):
    data, info = private
    options = dict(options)
    if options.get("version") == "current":
        options["version"] = info["version"]
    path = sdk_url(info["public_id"], api_key.secret, type="private", **options)
    assert "%C3%A9%20au%20lait" in path  # the SDK's escaping of the unicode public_id
    response = client.get(path)
    assert response.status_code == 200, response.headers.get("X-Cld-Error")
    assert response["Cache-Control"].startswith("private")
    assert "Access-Control-Allow-Origin" not in response
    content = body(response)
    if options["format"] == "jpg":
        assert content == data
    else:
        assert decode(content)[1].shape[:2] == (40, 50)


def test_authenticated_type_needs_a_signature_too(client, upload, api_key):
    info = uploaded(upload, make_image(20, 10, "png"), "auth/x", type="authenticated")
    assert client.get(path_of(info["url"])).status_code == 401
    assert client.get(sdk_url("auth/x", api_key.secret, type="authenticated", format="png")).status_code == 200


@pytest.mark.parametrize("mutate", [
    lambda p: p.replace("s--", "s--x", 1),  # nine characters
    lambda p: _swap_signature(p, "AAAAAAAA"),
    lambda p: _swap_signature(p, "A" * 32),
    lambda p: p.replace("lait.jpg", "lait.png"),  # signed for another format
])
def test_bad_signature_is_401(client, api_key, private, mutate):
    _, info = private
    path = mutate(sdk_url(info["public_id"], api_key.secret, type="private", format="jpg"))
    response = client.get(path)
    assert response.status_code == 401
    assert response["X-Cld-Error"] == "Invalid signature"


def _swap_signature(path: str, signature: str) -> str:
    head, _, tail = path.partition("/s--")
    return f"{head}/s--{signature}--/{tail.split('--/', 1)[1]}"


def test_signature_by_another_secret_is_401(client, private):
    _, info = private
    assert client.get(sdk_url(info["public_id"], "not-the-secret", type="private", format="jpg")).status_code == 401


def test_signed_upload_url_must_verify(client, api_key, png):
    good = sdk_url("folder/pic", api_key.secret, format="png")
    assert "/s--" in good
    assert client.get(good).status_code == 200
    assert client.get(_swap_signature(good, "AAAAAAAA")).status_code == 401


def test_signature_over_the_raw_request_target(client, api_key, upload):
    # A client that sent "(" unescaped signed that; the server's RAW_URI shows it as sent.
    uploaded(upload, make_image(20, 10, "png"), "paren(1)", type="private")
    raw_signed = "paren(1).png"
    sig = signing.url_signature(raw_signed, api_key.secret)
    path = f"/{CLOUD}/image/private/s--{sig}--/v1/paren(1).png"
    assert client.get(path).status_code == 401  # re-encoded, it reads paren%281%29: not what was signed
    assert client.get(path, RAW_URI=path).status_code == 200
    assert client.get(path, REQUEST_URI=path + "?x=1").status_code == 200


def test_public_id_with_spaces_and_unicode(client, upload):
    data = make_image(24, 16, "png")
    info = uploaded(upload, data, "dossier/été à Paris")
    assert "%C3%A9t%C3%A9%20%C3%A0%20Paris" in info["url"]
    response = client.get(path_of(info["url"]))
    assert response.status_code == 200 and body(response) == data
    assert "filename*=utf-8''%C3%A9t%C3%A9%20%C3%A0%20Paris.png" in response["Content-Disposition"]
    assert client.get(path_of(info["url"]).replace(".png", ".jpg")).status_code == 200


def test_dotted_public_id(client, upload):
    data = make_image(24, 16, "png")
    uploaded(upload, data, "report.v2")
    assert body(client.get(f"/{CLOUD}/image/upload/report.v2.png")) == data
    assert body(client.get(f"/{CLOUD}/image/upload/report.v2")) == data  # the whole name is the public_id
    assert client.get(f"/{CLOUD}/image/upload/report.v2.jpg")["Content-Type"] == "image/jpeg"


# --- errors ---------------------------------------------------------------------------

ERRORS = [
    # path, status, X-Cld-Error
    (f"/{CLOUD}/image/upload/nothing-here.jpg", 404, "Resource not found - nothing-here"),
    (f"/{CLOUD}/image/upload/v1/a/b/nothing.png", 404, "Resource not found - a/b/nothing"),
    ("/other-cloud/image/upload/folder/pic.jpg", 404, "Invalid cloud_name other-cloud"),
    (f"/{CLOUD}/image/upload/folder/pic.xyz", 400, "Unsupported format: xyz"),
    (f"/{CLOUD}/image/upload/nothing.xyz", 400, "Unsupported format: xyz"),
    (f"/{CLOUD}/image/upload/folder/pic.heic", 400, "Unsupported format: heic"),
    (f"/{CLOUD}/image/upload/w_abc/v1/folder/pic.jpg", 400, "Invalid value for w: 'abc'"),
    (f"/{CLOUD}/image/upload/c_fill,h_10,e_nosuch/folder/pic.jpg", 400, "Invalid effect: nosuch"),
    (f"/{CLOUD}/image/fetch/folder/pic.jpg", 400, "Invalid delivery type: fetch"),
    (f"/{CLOUD}/image/upload//pic.jpg", 400, "Invalid URL: empty path segment"),
    (f"/{CLOUD}/image/private/folder/pic.jpg", 401, "Signature is required for private resources"),
    (f"/{CLOUD}/image/upload/s--AAAAAAAA--/folder/pic.jpg", 401, "Invalid signature"),
    (f"/{CLOUD}/image/upload/s--short--/folder/pic.jpg", 401, "Invalid signature"),
]


@pytest.mark.parametrize("path,status,message", ERRORS)
def test_errors(client, png, path, status, message):
    response = client.get(path)
    assert response.status_code == status
    assert response["X-Cld-Error"] == message
    assert response.json() == {"error": {"message": message}}
    assert response["Cache-Control"] == "no-store"


def test_error_header_is_safe_for_any_public_id(client, png):
    response = client.get(f"/{CLOUD}/image/upload/caf%C3%A9%0Aline.jpg")
    assert response.status_code == 404
    assert "\n" not in response["X-Cld-Error"] and response.json()["error"]["message"].endswith("café\nline")


def test_corrupt_original_is_a_clear_error(client, png, caplog):
    asset = Asset.objects.get(public_id="folder/pic")
    with open(storages["default"].path(asset.storage_name), "wb") as fh:
        fh.write(b"\x89PNG\r\n\x1a\n not really")
    response = client.get(f"/{CLOUD}/image/upload/folder/pic.jpg")
    assert response.status_code == 422
    assert response["X-Cld-Error"].startswith("Error in loading folder/pic")
    assert any(r.levelname == "ERROR" for r in caplog.records)


def test_missing_original_is_404_and_logged(client, png, caplog):
    asset = Asset.objects.get(public_id="folder/pic")
    os.remove(storages["default"].path(asset.storage_name))
    for ext in ("png", "jpg"):
        response = client.get(f"/{CLOUD}/image/upload/folder/pic.{ext}")
        assert response.status_code == 404 and response["X-Cld-Error"] == "Resource not found - folder/pic"
    assert any(r.levelname == "ERROR" for r in caplog.records)


# --- routing --------------------------------------------------------------------------


@pytest.mark.parametrize("path,delivery", [
    (f"/{CLOUD}/image/upload/x.jpg", True),
    ("/anycloud/image/private/s--abcdefgh--/x", True),
    (f"/v1_1/{CLOUD}/image/upload", False),
    ("/static/image/x.png", False),
    ("/django-admin/image/x", False),
    ("/login/image/x", False),
    ("/library/image/x", False),
    ("/studio/image/x", False),
    ("/assets/image/x", False),
    (f"/{CLOUD}/video/upload/x.mp4", False),
    (f"/{CLOUD}/images/upload/x.jpg", False),
])
def test_route_only_claims_delivery_paths(path, delivery):
    from django.urls import Resolver404

    try:
        name = resolve(path).url_name
    except Resolver404:
        name = None
    assert (name == "delivery") is delivery


# --- originals libvips or Pillow only read ---------------------------------------------

SVG = (b'<svg xmlns="http://www.w3.org/2000/svg" width="40" height="20">'
       b'<rect width="40" height="20" fill="red"/></svg>')


def test_svg_original_is_sandboxed_and_converts(client, upload):
    info = uploaded(upload, SVG, "logo", name="logo.svg")
    assert info["format"] == "svg"
    same = client.get(f"/{CLOUD}/image/upload/logo.svg")
    assert body(same) == SVG and same["Content-Type"] == "image/svg+xml"
    assert "sandbox" in same["Content-Security-Policy"]
    fmt, pixels = decode(body(client.get(f"/{CLOUD}/image/upload/logo.jpg")))
    assert fmt == "jpegload" and pixels.shape[:2] == (20, 40) and pixels[..., 0].mean() > 240


def test_ico_original_converts_through_pillow(client, upload):
    out = io.BytesIO()
    PILImage.new("RGBA", (16, 16), (0, 0, 255, 255)).save(out, "ICO")
    info = uploaded(upload, out.getvalue(), "favicon", name="favicon.ico")
    assert info["format"] == "ico"
    assert body(client.get(f"/{CLOUD}/image/upload/favicon"))[:4] == out.getvalue()[:4]
    fmt, pixels = decode(body(client.get(f"/{CLOUD}/image/upload/favicon.png")))
    assert fmt == "pngload" and pixels.shape[:2] == (16, 16) and pixels[..., 2].min() == 255


def test_storage_without_local_paths_streams_into_libvips(client, upload, settings):
    """Object storage (S3) has no path(): the original is streamed into a libvips source."""
    from django.core.files.storage import storages as registry

    memory = {"BACKEND": "django.core.files.storage.InMemoryStorage"}
    settings.STORAGES = {**settings.STORAGES, "default": memory, "derived": memory}
    registry._storages = {}
    data, _ = oriented_jpeg()
    info = uploaded(upload, data, "remote/rotated", name="r.jpg")
    for ext in ("jpg", "webp"):
        response = client.get(f"/{CLOUD}/image/upload/v{info['version']}/remote/rotated.{ext}")
        assert response.status_code == 200, response.headers.get("X-Cld-Error")
        assert decode(body(response))[1].shape[:2] == (64, 40)
