"""Log-in throttling per account and per client address (issue 10, item 10; studio.login)."""

from __future__ import annotations

import re
from html import unescape

import pytest
from django.db.models import F

from assets.models import Counter
from tests.studio_fixtures import PASSWORD, users  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def limits(settings):
    settings.DAM_LOGIN_FAILURES_PER_ACCOUNT = 3
    settings.DAM_LOGIN_FAILURES_PER_ADDRESS = 5
    settings.DAM_LOGIN_WINDOW = 900


def attempt(client, username: str, password: str = "wrong password", address: str = "10.0.0.1", **extra):
    return client.post("/login/", {"username": username, "password": password, "next": "/"},
                       REMOTE_ADDR=address, **extra)


def message(response) -> str:
    found = re.search(r'<p class="error" role="alert">([^<]*)</p>', response.content.decode())
    return unescape(found.group(1)) if found else ""


def logged_in(client) -> bool:
    return "_auth_user_id" in client.session


def test_an_account_is_paused_after_its_failures(client, users):
    for _ in range(3):
        response = attempt(client, "vera")
        assert response.status_code == 200 and "correct username and password" in message(response)
    response = attempt(client, "vera", PASSWORD)  # the right password, too late
    assert response.status_code == 429
    assert "Too many failed log-in attempts" in message(response) and "15 minutes" in message(response)
    assert not logged_in(client)
    # from another address too: the count is the account's
    assert attempt(client, "vera", PASSWORD, address="10.9.9.9").status_code == 429
    # other accounts are not affected
    assert attempt(client, "eddie", PASSWORD).status_code == 302 and logged_in(client)


def test_the_page_does_not_tell_whether_an_account_exists(client, users):
    for name in ("vera", "ghost"):
        for _ in range(3):
            attempt(client, name, address="10.0.0.2" if name == "ghost" else "10.0.0.3")
    real = attempt(client, "vera", address="10.0.0.4")
    ghost = attempt(client, "ghost", address="10.0.0.5")
    assert real.status_code == ghost.status_code == 429
    assert message(real) == message(ghost)


def test_an_address_is_paused_after_its_failures(client, users):
    for number in range(5):
        attempt(client, f"guess{number}")
    response = attempt(client, "vera", PASSWORD)  # a real account, right password, same address
    assert response.status_code == 429 and not logged_in(client)
    assert attempt(client, "vera", PASSWORD, address="10.0.0.99").status_code == 302


def test_the_pause_ends_with_its_window(client, users):
    for _ in range(3):
        attempt(client, "vera")
    assert attempt(client, "vera", PASSWORD).status_code == 429
    Counter.objects.update(started=F("started") - 900, expires=F("expires") - 900)  # the window has passed
    assert attempt(client, "vera", PASSWORD).status_code == 302 and logged_in(client)


def test_a_successful_log_in_clears_its_accounts_failures(client, users):
    attempt(client, "vera")
    attempt(client, "vera")
    assert attempt(client, "vera", PASSWORD).status_code == 302
    assert not Counter.objects.filter(name="login:account:vera").exists()
    assert Counter.objects.get(name="login:address:10.0.0.1").count == 2  # the address keeps its count


def test_behind_the_proxy_the_forwarded_address_counts(client, users, settings):
    settings.DAM_BEHIND_PROXY = True
    for number in range(5):
        attempt(client, f"guess{number}", address="192.0.2.1", HTTP_X_FORWARDED_FOR="198.51.100.9, 203.0.113.7")
    assert Counter.objects.get(name="login:address:203.0.113.7").count == 5
    # the proxy's own address is not what counts: another client behind it logs in
    assert attempt(client, "vera", PASSWORD, address="192.0.2.1",
                   HTTP_X_FORWARDED_FOR="203.0.113.8").status_code == 302


def test_ipv6_addresses_count_by_their_64_network(client, users):
    for number in range(5):
        attempt(client, f"guess{number}", address=f"2001:db8:1:2::{number + 1}")
    assert Counter.objects.get(name="login:address:2001:db8:1:2::/64").count == 5
    assert attempt(client, "vera", PASSWORD, address="2001:db8:1:2::ff").status_code == 429


def test_djangos_admin_log_in_is_throttled_too(client, users):
    for _ in range(3):
        client.post("/django-admin/login/", {"username": "root", "password": "nope"}, REMOTE_ADDR="10.0.0.7")
    response = client.post("/django-admin/login/", {"username": "root", "password": PASSWORD}, REMOTE_ADDR="10.0.0.8")
    assert response.status_code == 200 and "Too many failed log-in attempts" in response.content.decode()
    assert not logged_in(client)
