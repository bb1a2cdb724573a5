"""The negative cache of renders: a render that ran out of its time budget is not tried
again for a while.

Without it, a URL whose render always exceeds ``DAM_RENDER_TIME_BUDGET`` costs a whole
budget of CPU (and a render slot) on every request, and anyone may repeat it.  The
derived-cache key that timed out is remembered in the database (`RenderFailure`, shared
by every process and host) for ``DAM_RENDER_FAILURE_TTL`` seconds; until then the same
key answers the same 422 at once.  The key names the asset version and everything the
pixels depend on, so a new version (or a changed layer) renders again.  Only time-outs
are remembered: other refusals are cheap to repeat, and a 429 says nothing about the
render itself.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.db import DatabaseError, transaction
from django.utils import timezone

from .limits import RenderTimeout
from .models import RenderFailure

log = logging.getLogger(__name__)


def ttl() -> int:
    return max(0, int(settings.DAM_RENDER_FAILURE_TTL))


def check(key: str) -> None:
    """Raise the remembered 422 when the render of `key` timed out less than the TTL ago."""
    if ttl() == 0:
        return
    message = (RenderFailure.objects.filter(key=key, expires_at__gt=timezone.now())
               .values_list("message", flat=True).first())
    if message is not None:
        raise RenderTimeout(message)


def remember(key: str, message: str) -> None:
    """Record that rendering `key` timed out (best effort: the 422 goes out regardless)."""
    seconds = ttl()
    if seconds == 0:
        return
    now = timezone.now()
    try:
        with transaction.atomic():
            # Expired rows go on each write, so the table holds at most the keys that timed
            # out within one TTL: each of them cost a whole time budget, which admission
            # control bounds.
            RenderFailure.objects.filter(expires_at__lte=now).delete()
            RenderFailure.objects.update_or_create(
                key=key, defaults={"message": message, "expires_at": now + timedelta(seconds=seconds)})
    except DatabaseError:
        log.warning("could not remember the timed-out render %s", key, exc_info=True)
