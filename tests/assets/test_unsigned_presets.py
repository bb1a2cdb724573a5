"""Unsigned upload presets never overwrite, and honour ``disallow_public_id`` (issue 10, item 3).

An unsigned preset that says ``overwrite`` is refused by the Admin API (the real SDK
calls it) and by the Studio's preset screen; an unsigned upload never replaces an
existing asset whatever a stored preset says; ``disallow_public_id`` is stored,
returned in the preset's settings, and a ``public_id`` sent with such a preset is a
400 (a chunked upload, whose later chunks carry the public_id the server chose, works).
"""

from __future__ import annotations

import io

import cloudinary.api
import cloudinary.exceptions
import cloudinary.uploader
import pytest
from django.test import Client

from assets.models import Asset, UploadPreset
from tests.conftest import CLOUD, make_image
from tests.sdk_fixtures import sdk  # noqa: F401 (fixture)
from tests.studio_fixtures import login, users  # noqa: F401 (fixtures)


def _stream(data: bytes, name: str = "guest.jpg"):
    stream = io.BytesIO(data)
    stream.name = name
    return stream


def anonymous_upload(data: bytes, **params):
    payload = {"file": _stream(data), **params}
    return Client().post(f"/v1_1/{CLOUD}/image/upload", payload)


# --- the Admin API, through the real SDK -------------------------------------------------------


def test_sdk_cannot_create_an_unsigned_overwriting_preset(sdk):  # noqa: F811
    with pytest.raises(cloudinary.exceptions.BadRequest, match="unsigned upload preset cannot overwrite"):
        cloudinary.api.create_upload_preset(name="open_door", unsigned=True, overwrite=True)
    assert not UploadPreset.objects.filter(name="open_door").exists()
    # signed presets may overwrite; unsigned ones may say overwrite=false
    cloudinary.api.create_upload_preset(name="signed_replacer", unsigned=False, overwrite=True)
    cloudinary.api.create_upload_preset(name="guests", unsigned=True, overwrite=False)


def test_sdk_cannot_update_a_preset_into_unsigned_and_overwriting(sdk):  # noqa: F811
    cloudinary.api.create_upload_preset(name="replacer", unsigned=False, overwrite=True, folder="x")
    with pytest.raises(cloudinary.exceptions.BadRequest, match="unsigned upload preset cannot overwrite"):
        cloudinary.api.update_upload_preset("replacer", unsigned=True)
    cloudinary.api.create_upload_preset(name="guests", unsigned=True, folder="g")
    with pytest.raises(cloudinary.exceptions.BadRequest, match="unsigned upload preset cannot overwrite"):
        cloudinary.api.update_upload_preset("guests", overwrite=True)
    # nothing half-written: both presets are as they were
    replacer, guests = UploadPreset.objects.get(name="replacer"), UploadPreset.objects.get(name="guests")
    assert not replacer.unsigned and replacer.settings["overwrite"] is True
    assert guests.unsigned and "overwrite" not in guests.settings
    # turning overwrite off and unsigned on in one call is fine
    cloudinary.api.update_upload_preset("replacer", unsigned=True, overwrite=False)
    assert UploadPreset.objects.get(name="replacer").unsigned


def test_disallow_public_id_is_stored_and_returned(sdk):  # noqa: F811
    cloudinary.api.create_upload_preset(name="no_ids", unsigned=True, disallow_public_id=True, folder="anon")
    preset = cloudinary.api.upload_preset("no_ids")
    assert preset["unsigned"] is True
    assert preset["settings"] == {"folder": "anon", "disallow_public_id": True}
    cloudinary.api.update_upload_preset("no_ids", disallow_public_id=False)
    assert cloudinary.api.upload_preset("no_ids")["settings"]["disallow_public_id"] is False


# --- the Upload API ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_an_unsigned_upload_never_overwrites_even_if_a_stored_preset_says_so(upload):
    original = upload(make_image(40, 30, seed=1), public_id="victim").json()
    # a preset stored before the rule (or written straight to the database) says overwrite
    UploadPreset.objects.create(name="legacy", unsigned=True, settings={"overwrite": True, "unique_filename": False})
    response = anonymous_upload(make_image(90, 60, seed=2), upload_preset="legacy", public_id="victim")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["existing"] is True and (body["width"], body["height"]) == (40, 30)
    asset = Asset.objects.get(public_id="victim")
    assert (asset.version, asset.width, asset.height) == (original["version"], 40, 30)
    # and the client cannot ask for it either
    refused = anonymous_upload(make_image(90, 60), upload_preset="legacy", public_id="victim", overwrite="true")
    assert refused.status_code == 400 and "overwrite" in refused.json()["error"]["message"]


@pytest.mark.django_db
def test_disallow_public_id_refuses_a_public_id(upload):
    upload(make_image(40, 30), public_id="taken")
    UploadPreset.objects.create(name="no_ids", unsigned=True, settings={"folder": "anon", "disallow_public_id": True})
    response = anonymous_upload(make_image(), upload_preset="no_ids", public_id="taken")
    assert response.status_code == 400
    assert "disallow_public_id" in response.json()["error"]["message"]
    assert Asset.objects.count() == 1
    fine = anonymous_upload(make_image(), upload_preset="no_ids")
    assert fine.status_code == 200, fine.content
    assert fine.json()["public_id"].startswith("anon/") and Asset.objects.count() == 2


@pytest.mark.django_db
def test_disallow_public_id_applies_to_signed_uploads_naming_the_preset(upload):
    UploadPreset.objects.create(name="no_ids_signed", unsigned=False, settings={"disallow_public_id": True})
    response = upload(make_image(), upload_preset="no_ids_signed", public_id="chosen")
    assert response.status_code == 400 and not Asset.objects.exists()
    assert upload(make_image(), upload_preset="no_ids_signed").status_code == 200


def test_chunked_unsigned_upload_with_disallow_public_id(sdk):  # noqa: F811
    UploadPreset.objects.create(name="no_ids", unsigned=True, settings={"folder": "big", "disallow_public_id": True})
    data = make_image(240, 160, fmt="png", seed=4)
    options = {"upload_preset": "no_ids", "unsigned": True, "resource_type": "image", "chunk_size": 15_000}
    result = cloudinary.uploader.upload_large(_stream(data, "big.png"), **options)
    assert result["public_id"].startswith("big/") and (result["width"], result["height"]) == (240, 160)
    with pytest.raises(cloudinary.exceptions.BadRequest, match="disallow_public_id"):
        cloudinary.uploader.upload_large(_stream(data, "big.png"), public_id="mine", **options)
    assert Asset.objects.count() == 1


# --- the Studio's preset screen --------------------------------------------------------------------


@pytest.mark.django_db
def test_preset_screen_refuses_unsigned_with_overwrite(login):
    admin = login("admin")
    response = admin.post("/admin/presets/", {"name": "web", "unsigned": "on", "overwrite": "on"})
    assert response.status_code == 422
    assert "unsigned upload preset cannot overwrite" in response.content.decode()
    assert not UploadPreset.objects.exists()
    assert admin.post("/admin/presets/", {"name": "web", "overwrite": "on"}).status_code == 302
    preset = UploadPreset.objects.get(name="web")
    edit = admin.post(f"/admin/presets/{preset.pk}/", {"name": "web", "unsigned": "on", "overwrite": "on"})
    assert edit.status_code == 422 and "cannot overwrite" in edit.content.decode()
    preset.refresh_from_db()
    assert not preset.unsigned and preset.settings == {"overwrite": True}


@pytest.mark.django_db
def test_preset_screen_sets_disallow_public_id(login):
    admin = login("admin")
    assert admin.post("/admin/presets/", {"name": "web", "unsigned": "on", "disallow_public_id": "on"}).status_code \
        == 302
    preset = UploadPreset.objects.get(name="web")
    assert preset.settings == {"disallow_public_id": True}
    page = admin.get(f"/admin/presets/{preset.pk}/").content.decode()
    assert 'name="disallow_public_id" id="id_disallow_public_id" checked' in page
    admin.post(f"/admin/presets/{preset.pk}/", {"name": "web", "unsigned": "on"})
    preset.refresh_from_db()
    assert preset.settings == {}
