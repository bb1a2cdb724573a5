"""API key lookup: the `CLOUDINARY_URL` automation key first, then keys in the database.

Signing is for editors and above: a delivery URL signature (and any signature the
server makes for a URL, a response or a notification) only ever uses the secret of
the cloud's own key or of an active key whose role is editor or admin.  A viewer key's
secret reads the Admin API and nothing else: it signs no URL a server would honour.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.utils import timezone

from .models import ApiKey


@dataclass(frozen=True)
class Credential:
    key: str
    secret: str
    db_id: int | None = None
    role: str = "admin"  # admin, editor or viewer (assets.models.ApiKey.role)


def find_credential(api_key: str | None) -> Credential | None:
    if not api_key:
        return None
    if settings.DAM_ENV_API_KEY and api_key == settings.DAM_ENV_API_KEY and settings.DAM_ENV_API_SECRET:
        return Credential(api_key, settings.DAM_ENV_API_SECRET)
    row = ApiKey.objects.filter(key=api_key, active=True).only("id", "key", "secret", "role").first()
    if row is None:
        return None
    return Credential(row.key, row.secret, row.id, row.role)


SIGNING_ROLES = ("admin", "editor")


def signing_secrets() -> list[str]:
    """The secrets that may sign: the cloud's own first, then active editor and admin keys,
    oldest first (delivery URL signatures name no key, so each is tried)."""
    rows = ApiKey.objects.filter(active=True, role__in=SIGNING_ROLES).order_by("id")
    secrets = list(rows.values_list("secret", flat=True))
    if settings.DAM_ENV_API_SECRET:
        secrets.insert(0, settings.DAM_ENV_API_SECRET)
    return secrets


def touch(credential: Credential) -> None:
    if credential.db_id is not None:
        ApiKey.objects.filter(id=credential.db_id).update(last_used_at=timezone.now())
