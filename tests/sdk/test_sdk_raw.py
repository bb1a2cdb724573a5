"""Raw and video files through the official SDKs, unchanged (issue 15, item 4): pycloudinary's
``upload``/``upload_large`` with ``resource_type="raw"``/``"auto"``, its URLs for them, and the
npm SDK's ``upload_large`` of a raw file."""

from __future__ import annotations

import io

import cloudinary
import cloudinary.uploader
import cloudinary.utils
import pytest
import requests

from tests.media_files import make_mp4
from tests.sdk.live_node import wsgi_server  # noqa: F401 (fixture)
from tests.sdk.test_sdk_node import node_sdk  # noqa: F401 (fixture)
from tests.sdk_fixtures import HTTP_TIMEOUT, sdk  # noqa: F401  (fixture)

pytestmark = pytest.mark.live


def _stream(data: bytes, name: str):
    stream = io.BytesIO(data)
    stream.name = name
    return stream


def _get(url: str) -> requests.Response:
    response = requests.get(url, timeout=HTTP_TIMEOUT)
    assert response.status_code == 200, response.text
    return response


def test_upload_raw_from_a_path_and_fetch_it_by_sdk_urls(sdk, tmp_path):  # noqa: F811
    path = tmp_path / "report.csv"
    data = b"name,size\nalpha,1\nbeta,2\n"
    path.write_bytes(data)
    result = cloudinary.uploader.upload(str(path), resource_type="raw", use_filename=True, unique_filename=False)
    assert (result["public_id"], result["resource_type"], result["bytes"]) == ("report.csv", "raw", len(data))
    assert _get(result["secure_url"]).content == data
    url, _ = cloudinary.utils.cloudinary_url("report.csv", resource_type="raw")
    assert "/raw/upload/" in url and _get(url).content == data
    resource = cloudinary.CloudinaryResource("report.csv", resource_type="raw", version=result["version"])
    assert _get(resource.build_url()).content == data


def test_upload_large_raw_in_chunks(sdk):  # noqa: F811
    data = bytes(range(256)) * 300  # 76 800 bytes, 4 chunks
    result = cloudinary.uploader.upload_large(_stream(data, "dump.bin"), resource_type="raw", chunk_size=20_000,
                                              public_id="large/dump.bin", tags="raw")
    assert (result["public_id"], result["resource_type"], result["bytes"]) == ("large/dump.bin", "raw", len(data))
    assert result["tags"] == ["raw"]
    response = _get(cloudinary.utils.cloudinary_url("large/dump.bin", resource_type="raw")[0])
    assert response.content == data and response.headers["Content-Type"] == "application/octet-stream"


def test_upload_large_of_a_video(sdk):  # noqa: F811
    data = make_mp4(160, 90, 1500)
    result = cloudinary.uploader.upload_large(_stream(data, "clip.mp4"), resource_type="video", chunk_size=5_242_880,
                                              public_id="films/clip")
    assert (result["resource_type"], result["format"], result["width"], result["height"]) == ("video", "mp4", 160, 90)
    url, _ = cloudinary.utils.cloudinary_url("films/clip", resource_type="video", format="mp4")
    assert _get(url).content == data
    transformed, _ = cloudinary.utils.cloudinary_url("films/clip", resource_type="video", format="mp4", width=100,
                                                     crop="scale")
    refused = requests.get(transformed, timeout=HTTP_TIMEOUT)
    assert refused.status_code == 400
    assert refused.headers["X-Cld-Error"] == "Video transformations are not supported yet"


def test_auto_upload_picks_the_type(sdk):  # noqa: F811
    image = sdk.upload(resource_type="auto", public_id="auto/photo")
    assert (image["resource_type"], image["format"]) == ("image", "jpg")
    raw = sdk.upload(b"%PDF-1.4\n%%EOF\n", resource_type="auto", filename="doc.pdf")
    assert raw["resource_type"] == "raw" and raw["public_id"].endswith(".pdf")
    assert _get(raw["secure_url"]).content == b"%PDF-1.4\n%%EOF\n"
    video = sdk.upload(make_mp4(), resource_type="auto", filename="v.mp4", public_id="auto/video")
    assert (video["resource_type"], video["format"]) == ("video", "mp4")


def test_npm_sdk_upload_large_of_a_raw_file(node_sdk):  # noqa: F811
    data = bytes(range(256)) * 100
    path = node_sdk.file("archive.dat", data)
    whole, large, streamed = node_sdk([
        ("uploader.upload", [path, {"resource_type": "raw", "public_id": "node/whole.dat"}]),
        ("uploader.upload_large", [path, {"resource_type": "raw", "chunk_size": 6000, "public_id": "node/large.dat"},
                                   "@callback"]),
        ("uploader.upload_chunked_stream", [{"resource_type": "raw", "chunk_size": 7000,
                                             "public_id": "node/streamed.dat"}, "@callback", {"@pipe": path}]),
    ])
    for result, public_id in ((whole, "node/whole.dat"), (large, "node/large.dat"), (streamed, "node/streamed.dat")):
        assert (result.get("public_id"), result.get("resource_type"), result.get("bytes")) == (
            public_id, "raw", len(data)), result
        assert _get(result["url"]).content == data


def test_private_raw_file_by_a_signed_sdk_url(sdk):  # noqa: F811
    data = b"only for signed eyes"
    result = sdk.upload(data, resource_type="raw", type="private", public_id="secret/note.txt", filename="n.txt")
    assert result["type"] == "private"
    unsigned, _ = cloudinary.utils.cloudinary_url("secret/note.txt", resource_type="raw", type="private")
    assert requests.get(unsigned, timeout=HTTP_TIMEOUT).status_code == 401
    signed, _ = cloudinary.utils.cloudinary_url("secret/note.txt", resource_type="raw", type="private",
                                                sign_url=True, version=result["version"])
    response = _get(signed)
    assert response.content == data and response.headers["Cache-Control"].startswith("private")
