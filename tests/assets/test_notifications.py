"""Upload notifications go out from a real Celery worker, signed, and are retried."""

import io
import json
import time

import pytest
from django.test import Client

from assets import signing
from tests.conftest import CLOUD, make_image, signed
from tests.sdk_fixtures import sdk  # noqa: F401 (fixture)

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def _upload(api_key, **params):
    payload = signed(params, api_key)
    payload["file"] = io.BytesIO(make_image(40, 30))
    payload["file"].name = "note.jpg"
    return Client().post(f"/v1_1/{CLOUD}/image/upload", payload)


def test_upload_notification_is_signed_and_carries_the_upload(celery_worker, http_recorder, api_key):
    response = _upload(api_key, public_id="notify/one", notification_url=http_recorder.url + "/hook")
    assert response.status_code == 200, response.content
    received = http_recorder.wait_for(1)
    assert received, celery_worker.log_path.read_text()[-3000:]
    hit = received[0]
    body = hit["body"].decode()
    payload = json.loads(body)
    assert hit["path"] == "/hook"
    assert payload["notification_type"] == "upload"
    assert payload["public_id"] == "notify/one"
    assert payload["version"] == response.json()["version"]
    assert payload["secure_url"] == response.json()["secure_url"]
    timestamp = hit["headers"]["X-Cld-Timestamp"]
    assert abs(int(timestamp) - time.time()) < 120
    assert hit["headers"]["X-Cld-Signature"] == signing.notification_signature(body, timestamp, api_key.secret)


def test_failed_notification_is_retried(celery_worker, http_recorder, api_key):
    http_recorder.replies = [503]
    response = _upload(api_key, public_id="notify/retry", notification_url=http_recorder.url + "/retry")
    assert response.status_code == 200
    received = http_recorder.wait_for(2, timeout=90)
    assert [r["status"] for r in received] == [503, 200], celery_worker.log_path.read_text()[-3000:]
    assert received[0]["body"] == received[1]["body"]


def test_sdk_signed_upload_and_tags_with_notification_url(celery_worker, http_recorder, sdk):
    """The real SDK signs notification_url into an upload (and leaves it out of a tags
    call, as its tags/context/metadata calls do): both verify, and the upload's
    notification arrives through the worker's guarded POST."""
    import cloudinary.uploader

    result = sdk.upload(public_id="notify/sdk", notification_url=http_recorder.url + "/sdk-hook")
    assert result["public_id"] == "notify/sdk"
    tagged = cloudinary.uploader.add_tag("noted", ["notify/sdk"], notification_url=http_recorder.url + "/tags")
    assert tagged["public_ids"] == ["notify/sdk"]
    received = http_recorder.wait_for(1)
    assert received, celery_worker.log_path.read_text()[-3000:]
    assert received[0]["path"] == "/sdk-hook"
    assert json.loads(received[0]["body"])["public_id"] == "notify/sdk"
