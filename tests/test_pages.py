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
