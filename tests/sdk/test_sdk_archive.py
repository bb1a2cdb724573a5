"""Responsive breakpoints and archives through the official SDKs, unchanged (issue 15,
item 5): pycloudinary's ``responsive_breakpoints`` on upload and explicit (and its
breakpoints cache), ``CloudinaryImage.image(srcset=...)``'s ``w_auto:breakpoints...:json``
fetch, ``create_zip``/``create_archive``, ``download_zip_url``/``download_archive_url``;
the npm SDK's ``uploader.create_zip`` and ``utils.download_zip_url``."""

from __future__ import annotations

import io
import tarfile
import zipfile

import cloudinary
import cloudinary.uploader
import cloudinary.utils
import pytest
import pyvips
import requests
from cloudinary.cache import responsive_breakpoints_cache
from cloudinary.cache.adapter.key_value_cache_adapter import KeyValueCacheAdapter
from cloudinary.cache.storage.key_value_storage import KeyValueStorage

from assets.models import Asset
from tests.conftest import make_image
from tests.sdk.live_node import wsgi_server  # noqa: F401 (fixture)
from tests.sdk.test_sdk_node import node_sdk  # noqa: F401 (fixture)
from tests.sdk_fixtures import HTTP_TIMEOUT, sdk  # noqa: F401  (fixture)

pytestmark = pytest.mark.live


class _Memory(KeyValueStorage):
    """A key-value storage for the SDK's breakpoints cache (its own tests use such a dummy)."""

    def __init__(self):
        self.values = {}

    def get(self, key):
        return self.values.get(key)

    def set(self, key, value):
        self.values[key] = value
        return True

    def delete(self, key):
        self.values.pop(key, None)
        return True

    def clear(self):
        self.values.clear()
        return True


def _get(url: str) -> requests.Response:
    response = requests.get(url, timeout=HTTP_TIMEOUT)
    assert response.status_code == 200, response.text
    return response


def _decoded(url: str) -> pyvips.Image:
    return pyvips.Image.new_from_buffer(_get(url).content, "")


def test_upload_and_explicit_responsive_breakpoints(sdk):  # noqa: F811
    cache = responsive_breakpoints_cache.instance
    cache.set_cache_adapter(KeyValueCacheAdapter(_Memory()))
    settings = [{"create_derived": False, "min_width": 100, "max_width": 800, "bytes_step": 15000,
                 "max_images": 5, "transformation": {"angle": 90}, "format": "png"},
                {"create_derived": True, "min_width": 50, "max_width": 5000, "bytes_step": 10000}]
    result = sdk.upload(make_image(1200, 800), public_id="rbp/photo", responsive_breakpoints=settings, use_cache=True)
    first, second = result["responsive_breakpoints"]
    assert first["transformation"] == "a_90" and second["transformation"] == ""
    widths = [b["width"] for b in first["breakpoints"]]
    assert widths[0] == 800 and widths[-1] == 100 and len(widths) <= 5 and widths == sorted(widths, reverse=True)
    steps = [a["bytes"] - b["bytes"] for a, b in zip(first["breakpoints"], first["breakpoints"][1:-1])]
    assert all(step >= 15000 for step in steps)
    for point in first["breakpoints"]:  # each URL delivers what it reports (a_90: rotated, png)
        image = _decoded(point["url"])
        assert (image.width, image.height) == (point["width"], point["height"])
        assert point["height"] == round(point["width"] * 1200 / 800)
        assert point["url"].endswith(".png") and "a_90/c_scale,w_" in point["url"]
    # never wider than the image itself; create_derived stored them as derived images
    assert second["breakpoints"][0]["width"] == 1200 and second["breakpoints"][-1]["width"] == 50
    derived = Asset.objects.get(public_id="rbp/photo").derived.filter(transformation__startswith="c_scale")
    assert {d.width for d in derived} == {b["width"] for b in second["breakpoints"]}
    assert {d.bytes for d in derived} == {b["bytes"] for b in second["breakpoints"]}
    # the SDK stored the widths in its cache, by transformation and format (uploader._save_...)
    assert cache.get("rbp/photo", raw_transformation="a_90", format="png") == widths

    again = cloudinary.uploader.explicit("rbp/photo", type="upload", responsive_breakpoints=[
        {"create_derived": False, "transformation": {"angle": 45}, "max_width": 300, "min_width": 300}])
    assert again["responsive_breakpoints"][0]["transformation"] == "a_45"
    assert len(again["responsive_breakpoints"][0]["breakpoints"]) == 1


def test_breakpoints_json_delivery_used_by_srcset(sdk):  # noqa: F811
    sdk.upload(make_image(1000, 500), public_id="rbp/wide")
    url = cloudinary.utils.cloudinary_url("rbp/wide", format="jpg", transformation=[
        {"crop": "scale", "width": "auto:breakpoints_100_900_10_6:json"}])[0]
    assert "c_scale,w_auto:breakpoints_100_900_10_6:json" in url
    answer = _get(url).json()["breakpoints"]
    assert answer[0] == 900 and answer[-1] == 100 and len(answer) <= 6
    # the SDK's own use: srcset with use_cache fetches them (CloudinaryImage._fetch_breakpoints)
    responsive_breakpoints_cache.instance.set_cache_adapter(KeyValueCacheAdapter(_Memory()))
    tag = cloudinary.CloudinaryImage("rbp/wide").image(format="jpg", srcset={
        "use_cache": True, "min_width": 100, "max_width": 900, "bytes_step": 10240, "max_images": 6})
    for width in answer:
        assert f"c_scale,w_{width}/v1/rbp/wide.jpg {width}w" in tag
    signed_url = cloudinary.utils.cloudinary_url("rbp/wide", format="jpg", sign_url=True, transformation=[
        {"effect": "grayscale"}, {"crop": "scale", "width": "auto:breakpoints_100_900_10_6:json"}])[0]
    assert "/s--" in signed_url and len(_get(signed_url).json()["breakpoints"]) <= 6
    forged = requests.get(signed_url.replace("e_grayscale", "e_sepia"), timeout=HTTP_TIMEOUT)
    assert forged.status_code == 401
    bad = requests.get(url.replace("100_900", "900_100"), timeout=HTTP_TIMEOUT)
    assert bad.status_code == 400 and "min_width" in bad.json()["error"]["message"]


def _zip(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {info.filename: archive.read(info) for info in archive.infolist()}


def test_create_zip_and_download_urls(sdk):  # noqa: F811
    originals = {}
    for name, size in (("arch/a", (80, 60)), ("arch/sub/b", (40, 30))):
        data = make_image(*size)
        originals[name] = data
        sdk.upload(data, public_id=name, tags=["archive-me"])
    sdk.upload(make_image(10, 10), public_id="other/c")

    created = cloudinary.uploader.create_zip(tags=["archive-me"], target_tags=["made"],
                                             target_public_id="arch/bundle")
    assert created["file_count"] == 2 and created["resource_type"] == "raw"
    assert created["public_id"] == "arch/bundle.zip" and created["tags"] == ["made"]
    assert _zip(_get(created["secure_url"]).content) == {f"{k}.jpg": v for k, v in originals.items()}

    # transformations: each asset rendered by each (4 files), folders flattened
    both = cloudinary.uploader.create_archive(public_ids=["arch/a", "arch/sub/b"], flatten_folders=True,
                                              transformations=[{"width": 0.5}, {"width": 20, "crop": "scale"}])
    assert both["file_count"] == 4 and both["resource_count"] == 2
    files = _zip(_get(both["secure_url"]).content)
    sizes = {n: (lambda im: (im.width, im.height))(pyvips.Image.new_from_buffer(d, "")) for n, d in files.items()}
    assert sizes == {"a_w_0.5.jpg": (40, 30), "a_c_scale,w_20.jpg": (20, 15),
                     "b_w_0.5.jpg": (20, 15), "b_c_scale,w_20.jpg": (20, 15)}

    url = cloudinary.utils.download_zip_url(prefixes="arch/sub/")
    response = _get(url)
    assert response.headers["Content-Type"] == "application/zip"
    assert _zip(response.content) == {"arch/sub/b.jpg": originals["arch/sub/b"]}
    tgz = _get(cloudinary.utils.download_archive_url(tags="archive-me", target_format="tgz",
                                                     flatten_folders=True))
    with tarfile.open(fileobj=io.BytesIO(tgz.content), mode="r:gz") as archive:
        assert {m.name: archive.extractfile(m).read() for m in archive} == {"a.jpg": originals["arch/a"],
                                                                             "b.jpg": originals["arch/sub/b"]}
    tampered = requests.get(url.replace("arch%2Fsub", "other"), timeout=HTTP_TIMEOUT)
    assert tampered.status_code == 401
    with pytest.raises(cloudinary.exceptions.Error, match="No resources found"):
        cloudinary.uploader.create_zip(tags=["nothing-has-this"])
    with pytest.raises(cloudinary.exceptions.Error, match="target_format"):
        cloudinary.uploader.create_archive(tags=["archive-me"], target_format="rar")


def test_node_create_zip_and_download_zip_url(node_sdk):  # noqa: F811
    photo = node_sdk.file("p.jpg", make_image(64, 48))
    uploaded, created = node_sdk([
        ("uploader.upload", [photo, {"public_id": "node/arch", "tags": ["n-arch"]}]),
        ("uploader.create_zip", [{"tags": ["n-arch"], "transformations": [{"width": 32, "crop": "scale"}]}]),
    ])
    assert created["file_count"] == 1, created
    files = _zip(_get(created["secure_url"].replace("https://", "http://")).content)
    assert list(files) == ["node/arch_c_scale,w_32.jpg"]
    assert pyvips.Image.new_from_buffer(files["node/arch_c_scale,w_32.jpg"], "").width == 32


def test_node_responsive_breakpoints_and_download_zip_url(node_sdk):  # noqa: F811
    photo = node_sdk.file("w.jpg", make_image(600, 300))
    uploaded, url = node_sdk([
        ("uploader.upload", [photo, {"public_id": "node/rbp", "tags": ["n-zip"], "responsive_breakpoints": [
            {"create_derived": False, "min_width": 100, "max_width": 500, "max_images": 3,
             "transformation": {"effect": "grayscale"}}]}]),
        ("utils.download_zip_url", [{"tags": ["n-zip"]}]),
    ])
    [entry] = uploaded["responsive_breakpoints"]
    widths = [b["width"] for b in entry["breakpoints"]]
    assert entry["transformation"] == "e_grayscale" and widths[0] == 500 and widths[-1] == 100, uploaded
    assert _zip(_get(url).content) == {"node/rbp.jpg": make_image(600, 300)}
