"""Notifications: the upload signature covers notification_url, and the POST goes through
the remote-upload guard (checked address connected to, each redirect hop checked, one
total deadline).

send_notification runs in this process here (Task.apply); tests/assets/test_notifications.py
runs it in a real worker.  No packet leaves the loopback (tests.net_fixtures).
"""

from __future__ import annotations

import io
import time

import cloudinary.utils
import pytest
from django.test import Client

from assets import outbound, signing, tasks
from assets.models import Asset
from tests.conftest import CLOUD, make_image, signed

from tests.net_fixtures import loopback_only, redirect_to, resolver, serve, server, trickle  # noqa: F401 (fixtures)

pytestmark = [pytest.mark.usefixtures("loopback_only"), pytest.mark.django_db]

BODY = '{"notification_type":"upload","public_id":"n/one"}'


def notify(url: str, **options):
    return tasks.send_notification.apply(args=(url, BODY, None), **options)


def post_upload(params: dict):
    payload = {**params, "file": io.BytesIO(make_image(20, 10))}
    payload["file"].name = "n.jpg"
    return Client().post(f"/v1_1/{CLOUD}/image/upload", payload)


# --- the signature covers notification_url ----------------------------------------------------


@pytest.mark.parametrize("added", [{"notification_url": "http://hooks.example/steal"}, {"batch_id": "b1"}])
def test_a_notification_url_added_after_signing_is_refused(api_key, added):
    params = signed({"public_id": "n/one"}, api_key)
    response = post_upload({**params, **added})
    assert response.status_code == 401, response.content
    assert "Invalid Signature" in response.json()["error"]["message"]
    assert not Asset.objects.exists()


def test_an_upload_signed_with_its_notification_url_passes(api_key):
    ours = post_upload(signed({"public_id": "n/one", "notification_url": "http://hooks.example/n"}, api_key))
    assert ours.status_code == 200, ours.content
    # as the real SDK signs it (cloudinary.utils.sign_request, the uploader's own signing)
    sdk = cloudinary.utils.sign_request(
        {"public_id": "n/two", "notification_url": "http://hooks.example/n?a=1&b=2",
         "timestamp": str(int(time.time()))},
        {"api_key": api_key.key, "api_secret": api_key.secret})
    response = post_upload(sdk)
    assert response.status_code == 200, response.content
    assert sorted(Asset.objects.values_list("public_id", flat=True)) == ["n/one", "n/two"]


# --- the POST: refused, pinned, redirects, deadline ------------------------------------------


@pytest.mark.parametrize("url", [
    "http://127.0.0.1:9/hook", "http://100.64.0.1/hook", "http://[2002:a9fe:a9fe::]/hook",
    "http://[::ffff:10.0.0.1]/hook", "http://169.254.169.254/latest/meta-data/", "ftp://127.0.0.1/hook",
])
def test_a_refused_notification_is_dropped_without_connecting(url, loopback_only):
    result = notify(url)
    assert result.successful() and result.get() == 0
    assert loopback_only == []


def test_the_notification_goes_to_the_checked_address(settings, resolver, server, api_key):
    settings.DAM_ALLOW_PRIVATE_REMOTE_URLS = True
    resolver.names["hooks.example"] = ["127.0.0.1"]
    resolver.later["hooks.example"] = ["169.254.169.254"]  # a rebinding answer nobody may ask for
    server.routes["/hook"] = serve(b"")
    assert notify(f"http://hooks.example:{server.port}/hook").get() == 200
    assert resolver.calls["hooks.example"] == 1
    [hit] = server.posts
    assert (hit["host"], hit["body"].decode()) == (f"hooks.example:{server.port}", BODY)
    timestamp = hit["headers"]["X-Cld-Timestamp"]
    assert hit["headers"]["X-Cld-Signature"] == signing.notification_signature(BODY, timestamp, api_key.secret)


def test_notification_redirects(settings, server, loopback_only):
    settings.DAM_ALLOW_PRIVATE_REMOTE_URLS = True
    server.routes["/moved"] = serve(b"")
    server.routes["/hook"] = redirect_to("/moved", 307)  # repeats the POST, checked again
    server.routes["/found"] = redirect_to("/moved", 302)  # would turn it into a GET: not followed
    server.routes["/evil"] = redirect_to("http://169.254.169.254/latest/meta-data/", 307)
    assert notify(f"{server.url}/hook").get() == 200
    assert [(p["path"], p["body"].decode()) for p in server.posts] == [("/hook", BODY), ("/moved", BODY)]
    server.posts.clear()
    assert notify(f"{server.url}/found").get() == 302
    assert notify(f"{server.url}/evil").get() == 0
    assert [p["path"] for p in server.posts] == ["/found", "/evil"] and server.seen == []
    assert set(loopback_only) == {("127.0.0.1", server.port)}


def test_a_trickling_receiver_is_cut_at_the_notification_deadline(settings, server):
    settings.DAM_ALLOW_PRIVATE_REMOTE_URLS = True
    settings.DAM_NOTIFICATION_TIMEOUT = 2
    server.routes["/slow"] = trickle(b"HTTP/1.1 200 OK\r\nX-Slow: ")
    started = time.monotonic()
    with pytest.raises(outbound.OutboundError, match="timed out after 2 s"):  # the last retry: raised
        notify(f"{server.url}/slow", retries=tasks.NOTIFICATION_RETRIES, throw=True)
    assert time.monotonic() - started < 6  # 40 header bytes at 4 per second would take 10 s
    assert len(server.posts) == 1
