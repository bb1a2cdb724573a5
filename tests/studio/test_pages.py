"""The landing page and login work, and the bootstrap command prints usable credentials."""

import re

import pytest
from django.core.management import call_command

from assets.models import ApiKey

pytestmark = pytest.mark.django_db


def test_home_needs_login(client):
    response = client.get("/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")
    assert client.get("/login/").status_code == 200


def test_bootstrap_prints_working_credentials(client, capsys, settings):
    call_command("bootstrap", url="http://127.0.0.1:8000/")
    out = capsys.readouterr().out
    username = re.search(r"username:\s+(\S+)", out).group(1)
    password = re.search(r"password:\s+(\S+)", out).group(1)
    key = re.search(r"API key:\s+(\S+)", out).group(1)
    assert ApiKey.objects.get(key=key).secret in out
    assert client.login(username=username, password=password)
    home = client.get("/")
    assert home.status_code == 200 and b"Recent uploads" in home.content
    # a second run creates nothing new and prints no secret
    call_command("bootstrap", url="http://127.0.0.1:8000/")
    again = capsys.readouterr().out
    assert password not in again and ApiKey.objects.count() == 1


def test_recent_uploads_are_thumbnails_linking_to_their_asset_page(client, upload, django_user_model):
    import html

    import pyvips
    from django.urls import reverse

    from tests.conftest import make_image

    response = upload(make_image(900, 500, "jpg"), name="wide.jpg", public_id="home/wide")
    assert response.status_code == 200
    asset_id = response.json()["asset_id"]
    user = django_user_model.objects.create_superuser("boss", "boss@example.com", "pw-123456")
    client.force_login(user)
    page = client.get("/").content.decode()
    src = html.unescape(re.search(r'<img src="([^"]+)"', page).group(1))
    assert "c_fill,h_240,w_240" in src or "c_fill,w_240,h_240" in src, src
    assert f'href="{reverse("asset", args=[asset_id])}" class="thumb"' in page
    thumb = client.get(src)
    assert thumb.status_code == 200
    body = b"".join(thumb.streaming_content) if thumb.streaming else thumb.content
    image = pyvips.Image.new_from_buffer(body, "")
    assert (image.width, image.height) == (240, 240)
