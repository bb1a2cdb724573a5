"""Who may do what: every Studio view by role and method, and API keys' roles in the APIs."""

from __future__ import annotations

import pytest

from assets.models import ApiKey, UploadPreset
from tests.admin_client import Admin, basic
from tests.conftest import CLOUD, make_image, signed
from tests.studio_fixtures import asset_row, users, login  # noqa: F401

pytestmark = pytest.mark.django_db

ROLES = ("anon", "none", "viewer", "editor", "admin_group", "admin")
R, F, OK, LOGIN = "read", "forbidden", 200, 302
# (method, url template, data, expected status per role in ROLES order)
TABLE = [
    ("get", "/", {}, (302, 200, 200, 200, 200, 200)),
    ("get", "/library/", {}, (302, 200, 200, 200, 200, 200)),
    ("get", "/library/shoes/", {}, (302, 200, 200, 200, 200, 200)),
    ("get", "/assets/{asset_id}/", {}, (302, 200, 200, 200, 200, 200)),
    ("get", "/library/-/trash/", {}, (302, 200, 200, 200, 200, 200)),
    ("post", "/library/", {}, (302, 405, 405, 405, 405, 405)),
    ("post", "/library/-/bulk/", {"action": "tag", "tags": "x", "ids": "{asset_id}"}, (302, 403, 403, 302, 302, 302)),
    ("post", "/library/-/upload/", {}, (302, 403, 403, 302, 302, 302)),
    ("post", "/assets/{asset_id}/tags/", {"tags": "a, b"}, (302, 403, 403, 302, 302, 302)),
    ("post", "/assets/{asset_id}/context/", {"context": "k=v"}, (302, 403, 403, 302, 302, 302)),
    ("post", "/assets/{asset_id}/restore/", {"version_id": "nope"}, (302, 403, 403, 302, 302, 302)),
    ("post", "/assets/{asset_id}/derived/delete/", {"derived_id": "nope"}, (302, 403, 403, 302, 302, 302)),
    ("post", "/library/-/trash/restore/", {"version_id": "nope"}, (302, 403, 403, 404, 404, 404)),
    ("get", "/admin/users/", {}, (302, 403, 403, 403, 200, 200)),
    ("post", "/admin/users/", {"username": ""}, (302, 403, 403, 403, 422, 422)),
    ("get", "/admin/users/{user_id}/", {}, (302, 403, 403, 403, 200, 200)),
    ("post", "/admin/users/{user_id}/", {"role": "editor", "active": "on"}, (302, 403, 403, 403, 302, 302)),
    ("get", "/admin/keys/", {}, (302, 403, 403, 403, 200, 200)),
    ("post", "/admin/keys/", {"name": "ci", "role": "viewer"}, (302, 403, 403, 403, 200, 200)),
    ("post", "/admin/keys/{key_id}/rotate/", {}, (302, 403, 403, 403, 200, 200)),
    ("post", "/admin/keys/{key_id}/revoke/", {}, (302, 403, 403, 403, 200, 200)),  # asks for confirmation
    ("post", "/admin/keys/{key_id}/revoke/", {"confirm": "1"}, (302, 403, 403, 403, 302, 302)),
    ("get", "/admin/keys/{key_id}/revoke/", {}, (302, 403, 403, 403, 405, 405)),
    ("get", "/admin/keys/{key_id}/rotate/", {}, (302, 403, 403, 403, 405, 405)),
    ("get", "/admin/presets/", {}, (302, 403, 403, 403, 200, 200)),
    ("post", "/admin/presets/", {"name": "p1"}, (302, 403, 403, 403, 302, 302)),
    ("get", "/admin/presets/{preset_id}/", {}, (302, 403, 403, 403, 200, 200)),
    ("post", "/admin/presets/{preset_id}/", {"name": "renamed"}, (302, 403, 403, 403, 302, 302)),
    ("post", "/admin/presets/{preset_id}/delete/", {}, (302, 403, 403, 403, 302, 302)),
    ("get", "/admin/settings/", {}, (302, 403, 403, 403, 200, 200)),
    ("post", "/admin/settings/", {"strict_transformations": "off"}, (302, 403, 403, 403, 302, 302)),
]
CASES = [(method, url, data, role, statuses[i]) for method, url, data, statuses in TABLE
         for i, role in enumerate(ROLES)]


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.mark.parametrize("method,url,data,role,status", CASES,
                         ids=[f"{m}-{u}-{r}" for m, u, d, r, s in CASES])
def test_role_view_method(client, users, method, url, data, role, status):
    asset = asset_row("shoes/red")
    key = ApiKey.objects.create(name="k")
    preset = UploadPreset.objects.create(name="preset")
    values = {"asset_id": asset.asset_id, "user_id": users["none"].pk, "key_id": key.pk, "preset_id": preset.pk}
    if role != "anon":
        client.force_login(users[role])
    filled = {k: v.format(**values) for k, v in data.items()}
    response = getattr(client, method)(url.format(**values), filled)
    assert response.status_code == status, response.content[:500]
    if status == 302 and role == "anon":
        assert response["Location"].startswith("/login/")


def test_roles_of_users(users):
    from studio.roles import role_of

    assert [role_of(users[r]) for r in ("admin", "admin_group", "editor", "viewer", "none")] == [
        "admin", "admin", "editor", "viewer", "viewer"]
    users["editor"].is_active = False
    assert role_of(users["editor"]) is None


def test_deactivated_user_cannot_log_in(client, users, login):
    from tests.studio_fixtures import PASSWORD

    admin = login("admin")
    assert admin.post(f"/admin/users/{users['viewer'].pk}/", {"role": "viewer"}).status_code == 302  # active off
    admin.logout()
    assert not client.login(username="vera", password=PASSWORD)


# --- API key roles in the Upload and Admin APIs -------------------------------------------


def _key(role: str) -> ApiKey:
    return ApiKey.objects.create(name=role, role=role)


@pytest.mark.parametrize("role,status", [("viewer", 403), ("editor", 200), ("admin", 200)])
def test_upload_api_by_key_role(client, role, status):
    key = _key(role)
    payload = signed({"public_id": f"k/{role}"}, key)
    payload["file"] = _file()
    response = client.post(f"/v1_1/{CLOUD}/image/upload", payload)
    assert response.status_code == status, response.content
    if status == 403:
        assert "viewer role" in response.json()["error"]["message"]


def test_viewer_key_cannot_use_basic_auth_on_upload_api_either(client):
    key = _key("viewer")
    asset_row("x/y")
    response = client.post(f"/v1_1/{CLOUD}/image/destroy", {"public_id": "x/y"},
                           HTTP_AUTHORIZATION=basic(key.key, key.secret))
    assert response.status_code == 403 and "error" in response.json()


# (method, path, body, expected for viewer, editor, admin)
ADMIN_TABLE = [
    ("get", "ping", None, (200, 200, 200)),
    ("get", "resources/image", None, (200, 200, 200)),
    ("get", "upload_presets", None, (200, 200, 200)),
    ("get", "folders", None, (200, 200, 200)),
    ("post", "folders/made", {}, (403, 200, 200)),
    ("delete", "resources/image/upload", {"public_ids": ["gone"]}, (403, 200, 200)),
    ("post", "resources/image/upload/x/y", {"tags": "a"}, (403, 200, 200)),
    ("post", "upload_presets", {"name": "p2"}, (403, 403, 200)),
    ("put", "upload_presets/preset", {"unsigned": True}, (403, 403, 200)),
    ("delete", "upload_presets/preset", None, (403, 403, 200)),
]


@pytest.mark.parametrize("method,path,body,statuses", ADMIN_TABLE, ids=[f"{m}-{p}" for m, p, b, s in ADMIN_TABLE])
def test_admin_api_by_key_role(client, method, path, body, statuses):
    asset_row("x/y")
    for role, status in zip(("viewer", "editor", "admin"), statuses):
        UploadPreset.objects.get_or_create(name="preset")
        admin = Admin(client, _key(role))
        response = admin.get(path) if method == "get" else getattr(admin, method)(path, body)
        assert response.status_code == status, (role, response.content)
        if status == 403:
            assert response.json()["error"]["message"]
            assert response["X-FeatureRateLimit-Limit"]


def test_existing_and_bootstrap_keys_are_admin(capsys):
    from django.core.management import call_command

    assert ApiKey.objects.create().role == "admin"
    ApiKey.objects.all().delete()
    call_command("bootstrap", url="http://127.0.0.1:8000/")
    assert ApiKey.objects.get().role == "admin"


def _file():
    import io

    data = io.BytesIO(make_image())
    data.name = "a.jpg"
    return data
