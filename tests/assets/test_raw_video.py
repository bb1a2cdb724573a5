"""Raw and video files as stored files (issue 15, item 4): stored as they are, delivered
byte for byte, ``auto`` choosing the type, a raw HTML file never running in our origin."""

from __future__ import annotations

import io
import uuid
import zipfile

import pytest

from assets.models import Asset
from tests.admin_client import Admin
from tests.conftest import CLOUD, make_image, signed
from tests.media_files import make_mp4

pytestmark = pytest.mark.django_db


@pytest.fixture
def post(client, api_key):
    def _post(resource_type: str, data: bytes, name: str, action: str = "upload", **params):
        payload = signed({k: v for k, v in params.items() if v is not None}, api_key)
        if data is not None:
            payload["file"] = io.BytesIO(data)
            payload["file"].name = name
        return client.post(f"/v1_1/{CLOUD}/{resource_type}/{action}", payload)
    return _post


def fetch(client, url: str):
    path = url.split("://", 1)[1].split("/", 1)[1]
    response = client.get("/" + path)
    return response, b"".join(response.streaming_content) if response.streaming else response.content


def zip_bytes() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        # a fixed timestamp: the bytes (and the test id) are the same in every xdist worker
        archive.writestr(zipfile.ZipInfo("a.txt", date_time=(2026, 1, 1, 0, 0, 0)), "hello " * 100)
    return out.getvalue()


PDF_LIKE = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.mark.parametrize("name,data,content_type", [
    ("notes.txt", "héllo, raw world\n".encode(), "text/plain; charset=utf-8"),
    ("bundle.zip", zip_bytes(), "application/zip"),
    ("paper.pdf", PDF_LIKE, "application/pdf"),
    ("blob.bin", bytes(range(256)) * 4, "application/octet-stream"),
], ids=["txt", "zip", "pdf", "bin"])
def test_raw_upload_keeps_the_extension_and_delivers_the_same_bytes(client, post, name, data, content_type):
    response = post("raw", data, name, use_filename="true", unique_filename="false")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["public_id"] == name and body["resource_type"] == "raw" and body["bytes"] == len(data)
    assert "width" not in body and "height" not in body and "format" not in body
    assert body["secure_url"].endswith(f"/raw/upload/v{body['version']}/{name}")
    delivered, content = fetch(client, body["secure_url"])
    assert delivered.status_code == 200 and content == data
    assert delivered["Content-Type"] == content_type and delivered["X-Content-Type-Options"] == "nosniff"
    assert delivered["Content-Length"] == str(len(data))


def test_random_raw_public_id_keeps_the_extension(post):
    body = post("raw", b"a,b\n1,2\n", "table.csv").json()
    assert body["public_id"].endswith(".csv") and len(body["public_id"]) == 24


def test_an_html_raw_file_is_a_download_that_cannot_run(client, post):
    page = b"<html><script>alert(document.cookie)</script></html>"
    body = post("raw", page, "x.html", public_id="evil.html").json()
    for suffix in ("", "?x=1"):
        delivered, content = fetch(client, body["secure_url"] + suffix)
        assert content == page
        assert delivered["Content-Type"] == "application/octet-stream"
        assert delivered["Content-Disposition"].startswith("attachment")
        assert delivered["X-Content-Type-Options"] == "nosniff"
        assert "sandbox" in delivered["Content-Security-Policy"]
    svg = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
    body = post("raw", svg, "y.svg", public_id="evil.svg").json()
    delivered, _ = fetch(client, body["secure_url"])
    assert delivered["Content-Type"] == "application/octet-stream"
    assert delivered["Content-Disposition"].startswith("attachment")


def test_auto_picks_image_video_or_raw(post):
    image = post("auto", make_image(40, 30, fmt="png"), "a.png", public_id="auto/pic").json()
    assert (image["resource_type"], image["format"], image["width"]) == ("image", "png", 40)
    video = post("auto", make_mp4(), "clip.mp4", public_id="auto/clip").json()
    assert (video["resource_type"], video["format"], video["width"], video["height"]) == ("video", "mp4", 320, 240)
    assert video["duration"] == 2.0
    raw = post("auto", b"just text", "readme.txt").json()
    assert raw["resource_type"] == "raw" and raw["public_id"].endswith(".txt")
    given = post("auto", b"just text", "readme.txt", public_id="auto/named").json()
    assert given["public_id"] == "auto/named"  # a given public_id is kept as it is


def test_image_endpoint_still_refuses_non_images(post):
    response = post("image", b"just text", "readme.txt")
    assert response.status_code == 400 and "Invalid image file" in response.json()["error"]["message"]
    response = post("video", b"just text", "readme.txt")
    assert response.status_code == 400 and "Invalid video file" in response.json()["error"]["message"]
    assert not Asset.objects.exists()


def test_raw_size_limit(post, settings):
    settings.DAM_MAX_RAW_BYTES = 10
    response = post("raw", b"x" * 11, "big.txt")
    assert response.status_code == 400 and "File size too large" in response.json()["error"]["message"]
    assert not Asset.objects.exists()


def test_video_is_delivered_as_stored_and_transformations_are_refused(client, post):
    data = make_mp4(64, 48)
    body = post("video", data, "clip.mp4", public_id="films/clip").json()
    assert body["secure_url"].endswith(f"/video/upload/v{body['version']}/films/clip.mp4")
    delivered, content = fetch(client, body["secure_url"])
    assert delivered.status_code == 200 and content == data and delivered["Content-Type"] == "video/mp4"
    refused = client.get(f"/{CLOUD}/video/upload/w_100,c_scale/v{body['version']}/films/clip.mp4")
    assert refused.status_code == 400
    assert refused["X-Cld-Error"] == "Video transformations are not supported yet"
    assert client.get(f"/{CLOUD}/video/upload/v1/films/clip.webm").status_code == 400
    assert client.get(f"/{CLOUD}/video/upload/films/missing.mp4").status_code == 404
    assert client.get(f"/{CLOUD}/image/upload/films/clip.jpg").status_code == 404  # not an image


def test_private_raw_needs_a_signature(client, post):
    body = post("raw", b"secret", "s.txt", public_id="s.txt", type="private").json()
    assert body["type"] == "private"
    assert client.get(f"/{CLOUD}/raw/private/s.txt").status_code == 401


def test_chunked_raw_upload(client, api_key):
    data = bytes(range(256)) * 40
    upload_id = uuid.uuid4().hex
    pieces = [(0, data[:4000]), (4000, data[4000:8000]), (8000, data[8000:])]
    answer = None
    for start, piece in pieces:
        payload = signed({"public_id": "big/archive.bin"}, api_key)
        payload["file"] = io.BytesIO(piece)
        payload["file"].name = "blob"
        answer = client.post(f"/v1_1/{CLOUD}/raw/upload", payload, HTTP_X_UNIQUE_UPLOAD_ID=upload_id,
                             HTTP_CONTENT_RANGE=f"bytes {start}-{start + len(piece) - 1}/{len(data)}")
        assert answer.status_code == 200, answer.content
    body = answer.json()
    assert (body["public_id"], body["resource_type"], body["bytes"]) == ("big/archive.bin", "raw", len(data))
    _, content = fetch(client, body["secure_url"])
    assert content == data


def test_an_image_and_a_raw_file_share_a_public_id(client, post):
    image = post("image", make_image(20, 10), "a.jpg", public_id="same").json()
    raw = post("raw", b"text", "a.txt", public_id="same").json()
    assert image["asset_id"] != raw["asset_id"]
    assert set(Asset.objects.values_list("resource_type", flat=True)) == {"image", "raw"}
    assert fetch(client, raw["secure_url"])[1] == b"text"
    assert fetch(client, image["secure_url"])[0]["Content-Type"] == "image/jpeg"
    gone = post("raw", None, "", action="destroy", public_id="same").json()
    assert gone == {"result": "ok"} and list(Asset.objects.values_list("resource_type", flat=True)) == ["image"]


def test_admin_lists_renames_and_deletes_raw_files(client, api_key, post):
    admin = Admin(client, api_key)
    post("raw", b"one", "1.txt", public_id="docs/one.txt")
    post("video", make_mp4(), "v.mp4", public_id="docs/film")
    post("image", make_image(8, 8), "i.jpg", public_id="docs/pic")
    listed = admin.get("resources/raw").json()["resources"]
    assert [r["public_id"] for r in listed] == ["docs/one.txt"] and "width" not in listed[0]
    assert [r["public_id"] for r in admin.get("resources/video/upload").json()["resources"]] == ["docs/film"]
    detail = admin.get("resources/raw/upload/docs/one.txt").json()
    assert detail["resource_type"] == "raw" and detail["bytes"] == 3
    renamed = post("raw", None, "", action="rename", from_public_id="docs/one.txt", to_public_id="docs/uno.txt")
    assert renamed.status_code == 200 and renamed.json()["public_id"] == "docs/uno.txt"
    assert fetch(client, renamed.json()["secure_url"])[1] == b"one"
    deleted = admin.delete("resources/raw/upload", {"public_ids": ["docs/uno.txt"]}).json()
    assert deleted["deleted"] == {"docs/uno.txt": "deleted"}
    assert sorted(Asset.objects.values_list("resource_type", flat=True)) == ["image", "video"]


def test_chunks_with_an_unknown_total_until_the_last(client, api_key):
    """The npm SDK streams: ``bytes 0-5999/-1`` until the last chunk names the total."""
    data = bytes(range(200)) * 50
    upload_id = uuid.uuid4().hex

    def send(start, piece, total):
        payload = signed({"public_id": "stream/data.bin"}, api_key)
        payload["file"] = io.BytesIO(piece)
        payload["file"].name = "blob"
        return client.post(f"/v1_1/{CLOUD}/raw/upload", payload, HTTP_X_UNIQUE_UPLOAD_ID=upload_id,
                           HTTP_CONTENT_RANGE=f"bytes {start}-{start + len(piece) - 1}/{total}")

    first = send(0, data[:6000], -1)
    assert first.status_code == 200 and first.json()["done"] is False and first.json()["total_bytes"] is None
    assert send(6000, data[6000:], 5000).status_code == 400  # a total below what was sent
    last = send(6000, data[6000:], len(data))
    assert last.status_code == 200, last.content
    assert fetch(client, last.json()["secure_url"])[1] == data


def test_a_backed_up_raw_version_is_restored_as_raw(client, api_key, post):
    first = post("raw", b"first", "a.txt", public_id="notes.txt", backup="true").json()
    post("raw", b"second", "a.txt", public_id="notes.txt", backup="true", overwrite="true")
    admin = Admin(client, api_key)
    restored = admin.post("resources/raw/upload/restore", {"public_ids": ["notes.txt"],
                                                           "versions": [first["version_id"]]})
    assert restored.status_code == 200, restored.content
    asset = Asset.objects.get(public_id="notes.txt")
    assert asset.resource_type == "raw" and asset.bytes == 5
    assert fetch(client, f"http://x/{CLOUD}/raw/upload/notes.txt")[1] == b"first"


def test_fl_attachment_is_the_one_flag_raw_and_video_take(client, post):
    post("raw", b"a,b\n", "t.csv", public_id="sheet.csv")
    post("video", make_mp4(), "v.mp4", public_id="film")
    inline, _ = fetch(client, f"http://x/{CLOUD}/raw/upload/v1/sheet.csv")
    assert inline["Content-Disposition"].startswith("inline") and inline["Content-Type"].startswith("text/csv")
    download, content = fetch(client, f"http://x/{CLOUD}/raw/upload/fl_attachment/v1/sheet.csv")
    assert download["Content-Disposition"] == 'attachment; filename="sheet.csv"' and content == b"a,b\n"
    named, _ = fetch(client, f"http://x/{CLOUD}/video/upload/fl_attachment:holiday/v1/film.mp4")
    assert named["Content-Disposition"] == 'attachment; filename="holiday.mp4"'
    assert client.get(f"/{CLOUD}/raw/upload/fl_attachment,w_10/v1/sheet.csv").status_code == 400
    pdf = post("raw", PDF_LIKE, "p.pdf", public_id="paper.pdf").json()
    shown, _ = fetch(client, pdf["secure_url"])
    assert shown["Content-Type"] == "application/pdf" and "Content-Security-Policy" not in shown


@pytest.mark.parametrize("head,container", [
    (b"\0\0\0\x14ftypqt  \0\0\0\0qt  ", "mov"),
    (b"\0\0\0\x08wide\0\0\0\x10mdat", "mov"),
    (b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\x82\x88matroska", "mkv"),
    (b"OggS\0\x02" + b"\0" * 22 + b"\x80theora", "ogv"),
    (b"RIFF\0\0\0\0AVI LIST", "avi"),
    (b"OggS\0\x02" + b"\0" * 22 + b"\x01vorbis", None),
    (b"PK\x03\x04", None),
], ids=["mov-ftyp", "mov-wide", "mkv", "ogv", "avi", "ogg-audio", "zip"])
def test_video_containers_are_told_by_their_signature(head, container):
    from assets.fileinfo import sniff_video

    assert sniff_video(head) == container
