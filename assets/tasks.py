"""Slow or outbound work, run by Celery workers: notifications and eager renders.

Tasks take ids and plain strings, never model instances, and are queued on commit.
"""

from __future__ import annotations

import json
import logging
import time
from urllib.parse import urlsplit

import requests
from celery import shared_task
from django.db import transaction

from . import keys, signing

log = logging.getLogger(__name__)

NOTIFICATION_RETRIES = 6


def enqueue_notification(url: str, payload: dict, api_key: str | None) -> None:
    body = json.dumps(payload, separators=(",", ":"), sort_keys=True)
    transaction.on_commit(lambda: send_notification.delay(url, body, api_key))


def _secret_for(api_key: str | None) -> str:
    credential = keys.find_credential(api_key) if api_key else None
    if credential is not None:
        return credential.secret
    secrets = keys.all_secrets()
    return secrets[0] if secrets else ""


@shared_task(bind=True, max_retries=NOTIFICATION_RETRIES, acks_late=True)
def send_notification(self, url: str, body: str, api_key: str | None = None) -> int:
    """POST `body` to `url`, signed as Cloudinary signs notifications; retried with backoff."""
    from .api.errors import BadRequest
    from .remote import _check_address

    parts = urlsplit(url)
    try:
        _check_address(parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 80))
    except BadRequest as exc:
        log.warning("notification to %s refused: %s", url, exc.message)
        return 0
    timestamp = int(time.time())
    headers = {
        "Content-Type": "application/json",
        "X-Cld-Timestamp": str(timestamp),
        "X-Cld-Signature": signing.notification_signature(body, timestamp, _secret_for(api_key)),
        "User-Agent": "dam-notifications/1.0",
    }
    try:
        response = requests.post(url, data=body.encode("utf-8"), headers=headers, timeout=15)
        if response.status_code >= 500 or response.status_code in (408, 429):
            raise requests.HTTPError(f"{response.status_code}")
        return response.status_code
    except requests.RequestException as exc:
        countdown = min(3600, 2 ** self.request.retries * 5)
        log.info("notification to %s failed (%s); retry in %ss", url, exc, countdown)
        raise self.retry(exc=exc, countdown=countdown)


def request_eager(asset, transformations: list[str], asynchronous: bool, notification_url: str | None):
    """Record eager transformations on the asset; they are rendered by the transformation engine.

    Returns the ``eager`` list for the API response.
    """
    items = [{"transformation": t.strip(), "status": "pending"} for t in transformations if t.strip()]
    info = dict(asset.info or {})
    info["eager"] = items
    info["eager_async"] = asynchronous
    if notification_url:
        info["eager_notification_url"] = notification_url
    asset.info = info
    asset.save(update_fields=["info", "updated_at"])
    return items
