"""Signing is for editors and above (issue 10, item 8).

Delivery URL signatures verify only with the cloud's own secret and the secrets of
active editor and admin keys; a viewer key's secret signs nothing the server honours,
for public and private assets alike.  The Studio signs a chain only for editors and
above: a viewer's Studio hands out unsigned URLs, which strict mode refuses.
"""

from __future__ import annotations

import re
from html import unescape
from urllib.parse import urlsplit

import cloudinary.utils
import pytest

from assets import keys
from assets.models import ApiKey
from tests.conftest import CLOUD, make_image
from tests.studio_fixtures import login, users  # noqa: F401 (fixtures)
from transforms.cloudinary import named

pytestmark = pytest.mark.django_db


def sdk_path(public_id: str, secret: str, **options) -> str:
    """A delivery path signed by the real SDK with `secret` (its host is Cloudinary's; ours is /<cloud>/...)."""
    url, _ = cloudinary.utils.cloudinary_url(public_id, cloud_name=CLOUD, sign_url=True, api_secret=secret,
                                             format="jpg", **options)
    return urlsplit(url).path


@pytest.fixture
def stored(upload):
    """A public and a private image, uploaded with the tests' admin key."""
    for public_id, type_ in (("roles/public", "upload"), ("roles/private", "private")):
        response = upload(make_image(40, 30), public_id=public_id, type=type_)
        assert response.status_code == 200, response.content


@pytest.fixture
def role_keys(db):
    return {role: ApiKey.objects.create(name=role, role=role) for role in ("viewer", "editor", "admin")}


@pytest.mark.parametrize("type_", ["upload", "private"])
@pytest.mark.parametrize("chain", [{}, {"transformation": [{"width": 20, "crop": "scale"}]}])
def test_a_viewer_keys_signature_is_refused(client, stored, role_keys, type_, chain):
    public_id = "roles/public" if type_ == "upload" else "roles/private"
    response = client.get(sdk_path(public_id, role_keys["viewer"].secret, type=type_, **chain))
    assert response.status_code == 401
    assert response.json() == {"error": {"message": "Invalid signature"}}
    assert response["X-Cld-Error"] == "Invalid signature"


@pytest.mark.parametrize("role", ["editor", "admin"])
@pytest.mark.parametrize("type_", ["upload", "private"])
def test_editor_and_admin_keys_sign(client, stored, role_keys, role, type_):
    public_id = "roles/public" if type_ == "upload" else "roles/private"
    path = sdk_path(public_id, role_keys[role].secret, type=type_, transformation=[{"width": 20, "crop": "scale"}])
    response = client.get(path)
    assert response.status_code == 200, response.get("X-Cld-Error")


def test_the_clouds_own_secret_signs(client, stored, settings):
    settings.DAM_ENV_API_KEY, settings.DAM_ENV_API_SECRET = "111111111111111", "the-clouds-own-secret"
    assert client.get(sdk_path("roles/private", "the-clouds-own-secret", type="private")).status_code == 200


def test_a_revoked_or_demoted_key_stops_signing(client, stored, role_keys):
    editor = role_keys["editor"]
    path = sdk_path("roles/private", editor.secret, type="private")
    assert client.get(path).status_code == 200
    ApiKey.objects.filter(pk=editor.pk).update(role="viewer")
    assert client.get(path).status_code == 401
    ApiKey.objects.filter(pk=editor.pk).update(role="editor", active=False)
    assert client.get(path).status_code == 401


def test_signing_secrets_leave_viewer_keys_out(role_keys, settings):
    settings.DAM_ENV_API_SECRET = None
    secrets = keys.signing_secrets()
    assert role_keys["viewer"].secret not in secrets
    assert {role_keys["editor"].secret, role_keys["admin"].secret} <= set(secrets)


# --- the Studio ----------------------------------------------------------------------------


def _studio_urls(page) -> tuple[str, str]:
    html = page.content.decode()
    preview = unescape(re.search(r'<img id="preview" src="([^"]+)"', html).group(1))
    python = unescape(re.search(r'id="code-python"[^>]*>([^<]*)</textarea>', html).group(1))
    return preview, python


@pytest.fixture
def strict_photo(stored, db):
    from assets.models import Asset

    named.set_strict(True)
    return Asset.objects.get(public_id="roles/public")


ARBITRARY = "c_fill,w_33,h_21/e_grayscale"


def test_a_viewers_studio_signs_no_chain_under_strict_mode(client, login, strict_photo):
    page = login("viewer").get(f"/studio/{strict_photo.asset_id}/", {"t": ARBITRARY})
    assert page.status_code == 200
    preview, python = _studio_urls(page)
    assert "/s--" not in preview and "sign_url" not in python
    assert 'id="unsigned-note"' in page.content.decode()
    response = client.get(preview)  # what anyone holding that URL gets: strict mode's refusal
    assert response.status_code == 401 and response.json()["error"]["message"]


def test_an_editors_studio_signs_the_chain(client, login, strict_photo):
    page = login("editor").get(f"/studio/{strict_photo.asset_id}/", {"t": ARBITRARY})
    preview, python = _studio_urls(page)
    assert "/s--" in preview and "sign_url=True" in python
    assert 'id="unsigned-note"' not in page.content.decode()
    response = client.get(preview)
    assert response.status_code == 200, response.get("X-Cld-Error")


def test_a_viewer_still_sees_a_private_original(client, login, stored):
    from assets.models import Asset

    photo = Asset.objects.get(public_id="roles/private")
    preview, _ = _studio_urls(login("viewer").get(f"/studio/{photo.asset_id}/"))
    assert "/s--" in preview  # the untransformed original, as the asset page shows it
    assert client.get(preview).status_code == 200
    chained, _ = _studio_urls(login("viewer").get(f"/studio/{photo.asset_id}/", {"t": ARBITRARY}))
    assert "/s--" not in chained and client.get(chained).status_code == 401
