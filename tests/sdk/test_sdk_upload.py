"""The official cloudinary Python SDK, unchanged, against the Upload API of a live server."""

from __future__ import annotations

import base64
import hashlib
import io
import re
from datetime import datetime, timezone

import cloudinary
import cloudinary.exceptions
import cloudinary.uploader
import cloudinary.utils
import pytest

from assets.models import Asset, UploadPreset

from tests.conftest import make_image
from tests.sdk_fixtures import configure, remote_files, sdk  # noqa: F401 (fixtures)

pytestmark = pytest.mark.live

RANDOM_ID = re.compile(r"^[a-z0-9]{20}$")
HEX32 = re.compile(r"^[0-9a-f]{32}$")


def stored(public_id: str, type_: str = "upload") -> Asset:
    return Asset.objects.get(public_id=public_id, type=type_)


def check_upload_response(result: dict, data: bytes, *, width: int, height: int, fmt: str, sdk) -> None:
    """The fields SDK users read from an upload response."""
    public_id, version = result["public_id"], result["version"]
    assert isinstance(version, int) and version > 0
    assert HEX32.match(result["version_id"])
    assert cloudinary.utils.verify_api_response_signature(public_id, version, result["signature"])
    assert (result["width"], result["height"], result["format"]) == (width, height, fmt)
    assert result["resource_type"] == "image" and result["type"] == "upload"
    created = datetime.strptime(result["created_at"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    assert abs((datetime.now(timezone.utc) - created).total_seconds()) < 300
    assert result["bytes"] == len(data)
    assert result["etag"] == hashlib.md5(data).hexdigest()
    assert result["placeholder"] is False
    assert isinstance(result.get("tags", []), list)  # left out when empty
    path = f"/demo/image/upload/v{version}/{public_id}.{fmt}"
    assert result["url"].startswith("http://") and result["url"].endswith(path)
    assert result["secure_url"].endswith(path)
    assert result["api_key"] == sdk.key.key


# --- sources -------------------------------------------------------------------------


def test_upload_from_file_path(sdk, tmp_path):
    data = make_image(80, 60)
    path = tmp_path / "sunset.jpg"
    path.write_bytes(data)
    result = cloudinary.uploader.upload(str(path))
    check_upload_response(result, data, width=80, height=60, fmt="jpg", sdk=sdk)
    assert RANDOM_ID.match(result["public_id"])
    assert result["original_filename"] == "sunset"
    assert "tags" not in result and "context" not in result  # empty ones are left out, as Cloudinary does
    assert stored(result["public_id"]).width == 80


def test_upload_from_pathlib_path(sdk, tmp_path):
    data = make_image(30, 20, fmt="png")
    path = tmp_path / "icon.png"
    path.write_bytes(data)
    result = cloudinary.uploader.upload(path)
    check_upload_response(result, data, width=30, height=20, fmt="png", sdk=sdk)
    assert result["original_filename"] == "icon"


def test_upload_bytes_and_stream(sdk):
    png = make_image(40, 30, fmt="png")
    from_bytes = cloudinary.uploader.upload(png)
    check_upload_response(from_bytes, png, width=40, height=30, fmt="png", sdk=sdk)

    webp = make_image(50, 20, fmt="webp")
    stream = io.BytesIO(webp)
    stream.name = "banner.webp"
    from_stream = cloudinary.uploader.upload(stream)
    check_upload_response(from_stream, webp, width=50, height=20, fmt="webp", sdk=sdk)
    assert from_stream["original_filename"] == "banner"
    assert from_bytes["public_id"] != from_stream["public_id"]


def test_upload_data_uri(sdk):
    data = make_image(24, 16, fmt="png")
    uri = "data:image/png;base64," + base64.b64encode(data).decode("ascii")
    result = cloudinary.uploader.upload(uri, public_id="from_data_uri")
    check_upload_response(result, data, width=24, height=16, fmt="png", sdk=sdk)
    assert result["public_id"] == "from_data_uri"


def test_upload_remote_url(sdk, remote_files, settings):
    data = make_image(72, 40)
    url = remote_files("/images/remote-photo.jpg", data)

    settings.DAM_ALLOW_PRIVATE_REMOTE_URLS = False
    with pytest.raises(cloudinary.exceptions.BadRequest, match="non-public address"):
        cloudinary.uploader.upload(url)
    assert not Asset.objects.exists()

    settings.DAM_ALLOW_PRIVATE_REMOTE_URLS = True
    result = cloudinary.uploader.upload(url, tags="remote")
    check_upload_response(result, data, width=72, height=40, fmt="jpg", sdk=sdk)
    assert result["original_filename"] == "remote-photo"
    assert result["tags"] == ["remote"]

    with pytest.raises(cloudinary.exceptions.BadRequest, match="404"):
        cloudinary.uploader.upload(url.replace("remote-photo", "missing"))


# --- signatures and presets ------------------------------------------------------------


@pytest.mark.parametrize("algorithm", ["sha1", "sha256"])
def test_signed_upload_with_each_algorithm(sdk, algorithm):
    configure(signature_algorithm=algorithm)
    data = make_image(32, 32, seed=3)
    result = sdk.upload(data, public_id=f"signed_{algorithm}", tags=["a", "b&c"], context={"alt": "x"})
    check_upload_response(result, data, width=32, height=32, fmt="jpg", sdk=sdk)
    # verify_api_response_signature uses the configured algorithm by default
    assert cloudinary.utils.verify_api_response_signature(result["public_id"], result["version"],
                                                          result["signature"])
    assert result["tags"] == ["a", "b&c"]
    assert result["context"] == {"custom": {"alt": "x"}}


def test_wrong_secret_is_authorization_required(sdk):
    with pytest.raises(cloudinary.exceptions.AuthorizationRequired, match="Invalid Signature"):
        sdk.upload(api_secret="not-the-secret")
    with pytest.raises(cloudinary.exceptions.AuthorizationRequired, match="Unknown API key"):
        sdk.upload(api_key="123456789012345")
    assert not Asset.objects.exists()


def test_unsigned_upload_through_preset(sdk):
    UploadPreset.objects.create(name="guest_uploads", unsigned=True,
                                settings={"folder": "guests", "tags": "from_preset"})
    UploadPreset.objects.create(name="signed_only", unsigned=False, settings={})
    data = make_image(20, 10)
    stream = io.BytesIO(data)
    stream.name = "selfie.jpg"
    result = cloudinary.uploader.unsigned_upload(stream, "guest_uploads", tags="mine", context={"by": "guest"})
    assert result["public_id"].startswith("guests/")
    assert result["folder"] == "guests"
    assert sorted(result["tags"]) == ["from_preset", "mine"]
    assert result["context"] == {"custom": {"by": "guest"}}
    assert (result["width"], result["height"]) == (20, 10)

    with pytest.raises(cloudinary.exceptions.BadRequest, match="whitelisted for unsigned"):
        cloudinary.uploader.unsigned_upload(io.BytesIO(data), "signed_only")
    with pytest.raises(cloudinary.exceptions.BadRequest, match="not found"):
        cloudinary.uploader.unsigned_upload(io.BytesIO(data), "no_such_preset")
    with pytest.raises(cloudinary.exceptions.BadRequest, match="not allowed for unsigned upload: overwrite"):
        cloudinary.uploader.unsigned_upload(io.BytesIO(data), "guest_uploads", overwrite=True)


# --- naming ------------------------------------------------------------------------------


def test_use_filename_unique_filename_and_folder(sdk):
    exact = sdk.upload(filename="Summer Trip.jpg", use_filename=True, unique_filename=False, folder="albums/2024")
    assert exact["public_id"] == "albums/2024/Summer_Trip"
    assert exact["folder"] == "albums/2024"
    assert exact["original_filename"] == "Summer Trip"

    unique = sdk.upload(filename="Summer Trip.jpg", use_filename=True, folder="albums/2024")
    assert re.match(r"^albums/2024/Summer_Trip_[a-z0-9]{6}$", unique["public_id"])

    random_in_folder = sdk.upload(folder="albums")
    assert re.match(r"^albums/[a-z0-9]{20}$", random_in_folder["public_id"])


def test_overwrite_false_returns_existing(sdk):
    first = sdk.upload(make_image(40, 40), public_id="keep_me")
    again = sdk.upload(make_image(90, 10, seed=5), public_id="keep_me", overwrite=False)
    assert again["existing"] is True
    assert (again["version"], again["version_id"]) == (first["version"], first["version_id"])
    assert (again["width"], again["height"]) == (40, 40)
    assert cloudinary.utils.verify_api_response_signature(again["public_id"], again["version"], again["signature"])

    replaced = sdk.upload(make_image(90, 10, seed=5), public_id="keep_me")  # signed default: overwrite
    assert not replaced.get("existing")
    assert replaced["version"] > first["version"] and replaced["version_id"] != first["version_id"]
    assert (replaced["width"], replaced["height"]) == (90, 10)
    assert stored("keep_me").width == 90


# --- rename, destroy, tags, context, explicit ----------------------------------------------


def test_rename_and_destroy(sdk):
    a = sdk.upload(public_id="old/name")
    sdk.upload(public_id="taken")
    renamed = cloudinary.uploader.rename("old/name", "new/name")
    assert renamed["public_id"] == "new/name" and renamed["folder"] == "new"
    assert renamed["version"] == a["version"]
    assert not Asset.objects.filter(public_id="old/name").exists()

    with pytest.raises(cloudinary.exceptions.AlreadyExists, match="already exists"):
        cloudinary.uploader.rename("new/name", "taken")
    overwritten = cloudinary.uploader.rename("new/name", "taken", overwrite=True)
    assert overwritten["public_id"] == "taken" and overwritten["asset_id"] == a["asset_id"]

    with pytest.raises(cloudinary.exceptions.NotFound, match="Resource not found - new/name"):
        cloudinary.uploader.rename("new/name", "other")

    assert cloudinary.uploader.destroy("taken")["result"] == "ok"
    assert cloudinary.uploader.destroy("taken")["result"] == "not found"
    assert not Asset.objects.exists()


def test_tags(sdk):
    a = sdk.upload(public_id="tag_a", tags="start")
    b = sdk.upload(public_id="tag_b")
    ids = [a["public_id"], b["public_id"]]

    assert cloudinary.uploader.add_tag("red", ids)["public_ids"] == ids
    assert cloudinary.uploader.add_tag("blue", ids + ["missing"])["public_ids"] == ids
    assert stored("tag_a").tag_names == ["blue", "red", "start"]
    assert stored("tag_b").tag_names == ["blue", "red"]

    cloudinary.uploader.remove_tag("red", ids)
    assert stored("tag_a").tag_names == ["blue", "start"]

    cloudinary.uploader.replace_tag("only", ["tag_a"])
    assert stored("tag_a").tag_names == ["only"]
    assert stored("tag_b").tag_names == ["blue"]

    cloudinary.uploader.remove_all_tags(ids)
    assert stored("tag_a").tag_names == [] and stored("tag_b").tag_names == []


def test_context(sdk):
    sdk.upload(public_id="ctx", context={"alt": "before"})
    result = cloudinary.uploader.add_context({"caption": "a|b=c", "alt": "after"}, ["ctx"])
    assert result["public_ids"] == ["ctx"]
    assert stored("ctx").context == {"alt": "after", "caption": "a|b=c"}

    cloudinary.uploader.remove_all_context(["ctx"])
    assert stored("ctx").context == {}


def test_explicit_updates_tags_context_and_records_eager(sdk):
    first = sdk.upload(public_id="explicit_me", tags="old")
    result = cloudinary.uploader.explicit("explicit_me", type="upload", tags=["x", "y"], context={"k": "v"},
                                          eager=[{"width": 32, "crop": "scale"}, {"width": 16, "height": 16,
                                                                                  "crop": "fill"}])
    assert result["public_id"] == "explicit_me" and result["version"] == first["version"]
    assert result["tags"] == ["x", "y"]
    assert result["context"] == {"custom": {"k": "v"}}
    assert [e["transformation"] for e in result["eager"]] == ["c_scale,w_32", "c_fill,h_16,w_16"]
    assert cloudinary.utils.verify_api_response_signature(result["public_id"], result["version"],
                                                          result["signature"])
    asset = stored("explicit_me")
    assert asset.tag_names == ["x", "y"] and asset.context == {"k": "v"}
    assert [e["transformation"] for e in asset.info["eager"]] == ["c_scale,w_32", "c_fill,h_16,w_16"]


def test_upload_private_type(sdk):
    result = sdk.upload(public_id="secret_doc", type="private")
    assert result["type"] == "private"
    assert f"/demo/image/private/v{result['version']}/secret_doc.jpg" in result["url"]
    assert stored("secret_doc", "private").type == "private"


# --- errors --------------------------------------------------------------------------------


def test_bad_file_is_bad_request_with_our_message(sdk):
    with pytest.raises(cloudinary.exceptions.BadRequest, match="Invalid image file"):
        sdk.upload(b"this is not an image at all")
    truncated = make_image(200, 200)[:600]
    with pytest.raises(cloudinary.exceptions.BadRequest, match="Invalid image file"):
        sdk.upload(truncated)
    with pytest.raises(cloudinary.exceptions.BadRequest, match="Invalid public_id"):
        sdk.upload(public_id="../escape")
    with pytest.raises(cloudinary.exceptions.Error, match="Invalid file parameter"):
        cloudinary.uploader.upload("ftp://example.invalid/x.jpg")
    assert not Asset.objects.exists()


def test_missing_resource_is_not_found(sdk):
    with pytest.raises(cloudinary.exceptions.NotFound, match="Resource not found - nowhere"):
        cloudinary.uploader.explicit("nowhere", type="upload", tags="x")
    with pytest.raises(cloudinary.exceptions.NotFound, match="Invalid cloud_name"):
        sdk.upload(cloud_name="someone-else")
