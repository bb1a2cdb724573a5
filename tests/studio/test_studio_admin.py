"""Administration pages: users and roles, API keys, upload presets, strict transformations."""

from __future__ import annotations

import io

import pytest
from django.contrib.auth import get_user_model

from assets.models import ApiKey, Asset, UploadPreset
from studio.roles import role_of
from tests.admin_client import Admin
from tests.conftest import CLOUD, make_image
from tests.studio_fixtures import login, users  # noqa: F401

pytestmark = pytest.mark.django_db
User = get_user_model()


def test_create_user_with_a_role(login, client):
    admin = login("admin_group")
    response = admin.post("/admin/users/", {"username": "newbie", "role": "editor", "email": "",
                                            "password": "a long enough pass phrase"})
    assert response.status_code == 302
    user = User.objects.get(username="newbie")
    assert role_of(user) == "editor" and user.check_password("a long enough pass phrase")


@pytest.mark.parametrize("data,message", [
    ({"username": "eddie", "role": "viewer", "password": "a long enough pass phrase"}, "exists already"),
    ({"username": "bad name!", "role": "viewer", "password": "a long enough pass phrase"}, "letters, digits"),
    ({"username": "x", "role": "viewer", "password": "short"}, "too short"),
    ({"username": "x", "role": "owner", "password": "a long enough pass phrase"}, "Select a valid choice"),
    ({"username": "", "role": "viewer", "password": ""}, "This field is required"),
])
def test_create_user_validation(login, data, message):
    response = login("admin").post("/admin/users/", data)
    assert response.status_code == 422 and message in response.content.decode()


def test_change_role_and_deactivate(login, users):
    admin = login("admin")
    viewer = users["viewer"]
    assert admin.post(f"/admin/users/{viewer.pk}/", {"role": "editor", "active": "on"}).status_code == 302
    viewer = User.objects.get(pk=viewer.pk)
    assert role_of(viewer) == "editor"
    admin.post(f"/admin/users/{viewer.pk}/", {"role": "editor"})
    assert not User.objects.get(pk=viewer.pk).is_active


def test_admins_cannot_lock_themselves_out(login, users):
    admin = login("admin_group")
    response = admin.post(f"/admin/users/{users['admin_group'].pk}/", {"role": "viewer", "active": "on"})
    assert response.status_code == 422 and "cannot remove your own admin role" in response.content.decode()
    response = admin.post(f"/admin/users/{users['admin'].pk}/", {"role": "viewer", "active": "on"})
    assert response.status_code == 422 and "always an admin" in response.content.decode()


def test_api_key_secret_shown_once_rotate_revoke(login, client):
    admin = login("admin")
    created = admin.post("/admin/keys/", {"name": "ci", "role": "viewer"})
    key = ApiKey.objects.get(name="ci")
    assert key.role == "viewer" and key.secret in created.content.decode()
    listing = admin.get("/admin/keys/").content.decode()
    assert key.key in listing and key.secret not in listing
    assert Admin(client, key).get("ping").status_code == 200
    old = key.secret
    rotated = admin.post(f"/admin/keys/{key.pk}/rotate/")
    key.refresh_from_db()
    assert key.secret != old and key.secret in rotated.content.decode() and old not in rotated.content.decode()
    stale = ApiKey(key=key.key, secret=old)
    assert Admin(client, stale).get("ping").status_code == 401
    assert Admin(client, key).get("ping").status_code == 200
    asked = admin.post(f"/admin/keys/{key.pk}/revoke/")  # the first POST only asks for confirmation
    assert asked.status_code == 200 and "confirm-revoke" in asked.content.decode()
    assert Admin(client, key).get("ping").status_code == 200
    admin.post(f"/admin/keys/{key.pk}/revoke/", {"confirm": "1"})
    assert Admin(client, key).get("ping").status_code == 401
    assert admin.post(f"/admin/keys/{key.pk}/rotate/").status_code == 404  # a revoked key stays revoked


def test_api_key_role_is_validated(login):
    response = login("admin").post("/admin/keys/", {"name": "x", "role": "root"})
    assert response.status_code == 422 and not ApiKey.objects.filter(name="x").exists()


def test_presets_crud_and_unsigned_upload(login, client):
    admin = login("admin")
    response = admin.post("/admin/presets/", {"name": "web", "unsigned": "on", "folder": "inbox", "tags": "web, new"})
    assert response.status_code == 302
    preset = UploadPreset.objects.get(name="web")
    assert preset.unsigned and preset.settings == {"folder": "inbox", "tags": "web,new"}
    # an unsigned upload with it lands where the preset says
    from django.test import Client

    anonymous = Client()
    data = io.BytesIO(make_image())
    data.name = "a.jpg"
    uploaded = anonymous.post(f"/v1_1/{CLOUD}/image/upload", {"file": data, "upload_preset": "web"})
    assert uploaded.status_code == 200, uploaded.content
    asset = Asset.objects.get()
    assert asset.folder == "inbox" and asset.tag_names == ["new", "web"]
    # edit keeps other settings, then delete
    preset.settings = {**preset.settings, "eager": "w_100"}
    preset.save()
    page = admin.get(f"/admin/presets/{preset.pk}/").content.decode()
    assert 'value="inbox"' in page and 'value="web, new"' in page
    admin.post(f"/admin/presets/{preset.pk}/", {"name": "web2", "folder": "", "tags": ""})
    preset.refresh_from_db()
    assert preset.name == "web2" and not preset.unsigned and preset.settings == {"eager": "w_100"}
    admin.post(f"/admin/presets/{preset.pk}/delete/")
    assert not UploadPreset.objects.exists()


@pytest.mark.parametrize("data,message", [
    ({"name": "-bad"}, "starting with a letter or digit"),
    ({"name": "dup"}, "exists already"),
    ({"name": "ok", "folder": "a//b"}, "Invalid folder"),
    ({"name": ""}, "This field is required"),
])
def test_preset_validation(login, data, message):
    UploadPreset.objects.create(name="dup")
    response = login("admin").post("/admin/presets/", data)
    assert response.status_code == 422 and message in response.content.decode()


def test_strict_transformations_toggle(login):
    from transforms.cloudinary import named

    admin = login("admin")
    assert "Now: <strong id=\"strict-state\">off</strong>" in admin.get("/admin/settings/").content.decode()
    admin.post("/admin/settings/", {"strict_transformations": "on"})
    assert named.strict_enabled()
    admin.post("/admin/settings/", {"strict_transformations": "default"})
    assert not named.strict_enabled()
    response = admin.post("/admin/settings/", {"strict_transformations": "maybe"}, follow=True)
    assert "Choose on, off" in response.content.decode()


def test_thumbnails_survive_strict_mode(login, upload):
    from studio import links
    from transforms.cloudinary import named

    upload(make_image(300, 200), public_id="strict/one")
    asset = Asset.objects.get(public_id="strict/one")
    named.set_strict(True)
    client = login("viewer")
    assert client.get(links.thumbnail(asset)["src"]).status_code == 200
    # Strict mode refuses to render an unsigned dynamic transformation; one already stored
    # (here the signed thumbnail just rendered) is served, as Cloudinary serves eager ones.
    unsigned = f"/demo/image/upload/c_fill,w_241,h_241/v{asset.version}/strict/one.jpg"
    if links.ENGINE_RENDERS_FILL:
        assert client.get(unsigned).status_code == 401
        stored = f"/demo/image/upload/{links.THUMB}/v{asset.version}/strict/one.jpg"
        assert client.get(stored).status_code == 200
