"""Bounds on the model runs a delivery URL can start (AI amplification).

Each distinct set of a producer's options (transforms.ai.producers) is a model run of
its own, and anyone can spell new sets in unsigned URLs (``e_background_removal``'s
hints are any subset of twenty names, with or without ``fineedges_y``): twenty GETs
used to queue twenty runs in a fifth of a second.  A delivery that would queue a run
(no AI-result row for its options yet, or a stale one to run again) is bounded three
ways, checked in this order, for every producer alike:

1. **option sets per asset version** (unsigned URLs only): an asset version gets runs
   of one producer for at most ``DAM_AI_UNSIGNED_OPTION_SETS`` distinct option sets from unsigned URLs,
   the default options always among them (``3``: the defaults and two others).  Past it
   the answer is 401 saying a signed URL is needed; signed URLs (made with the API
   secret) may ask for any set.  Sets already stored or queued are served as before.
2. **per client** (unsigned URLs only): at most ``DAM_AI_MAX_PENDING_PER_CLIENT`` runs
   queued and not finished that one client address queued (transforms.admission's
   `client_address`); past it 429 with ``Retry-After``.
3. **per deployment** (every delivery): at most ``DAM_AI_MAX_PENDING`` runs queued or
   running across the deployment, all producers together (pending rows younger than
   lifecycle.STALE_AFTER and processing rows whose job still beats: older ones are dead
   and run again); past it 429 with ``Retry-After``.

The count and the new row are one transaction serialised with every other such
transaction (SQLite: the IMMEDIATE transaction's write lock; PostgreSQL: a
transaction-level advisory lock), so concurrent requests cannot overshoot.  Server-side
callers (eager transformations, the Studio's refiner) are authenticated and pass no
`Requester`: they are not bounded here.
"""

from __future__ import annotations

from dataclasses import dataclass

from datetime import timedelta

from django.conf import settings
from django.db import connection
from django.db.models import Q
from django.utils import timezone

from core.errors import ApiError, Unauthorized
from transforms.models import AIResult

from . import jobs

_LOCK_KEY = 0x64616D6169  # "damai": the advisory lock serialising new model runs on PostgreSQL


@dataclass(frozen=True)
class Requester:
    """Who asks for an AI result through a delivery URL."""

    client: str
    signed: bool = False


def _setting(name: str) -> int:
    return max(0, int(getattr(settings, name)))


def _retry_after() -> dict:
    return {"Retry-After": str(int(settings.DAM_BG_REMOVAL_RETRY_AFTER))}


# The pending rows' own staleness bound (transforms.ai.lifecycle.STALE_AFTER, which imports this module).
PENDING_STALE_AFTER = timedelta(minutes=10)


def queued_or_running(now=None):
    """Rows whose job is queued or running now (not dead)."""
    now = now or timezone.now()
    return AIResult.objects.filter(Q(status=AIResult.PENDING, updated_at__gt=now - PENDING_STALE_AFTER)
                                   | jobs.live_processing(now))


def admit(asset, producer, options, requester: Requester | None, *, requeue: bool = False) -> None:
    """Raise (401/429) unless `requester` may queue a run of `producer` for `asset`'s
    version and `options` (`requeue`: run a stale row again).  Call inside the
    transaction that creates or re-queues the row."""
    if requester is None:
        return
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_LOCK_KEY])
    mine = AIResult.objects.filter(kind=producer.kind, version_id=asset.version_id)
    if not requeue and mine.filter(options=options.canonical).exists():
        return  # a concurrent request queued it meanwhile: nothing new to run
    label = producer.label
    if not requester.signed and options.canonical:
        allowed = _setting("DAM_AI_UNSIGNED_OPTION_SETS")
        others = mine.exclude(options="").exclude(options=options.canonical).values("options").distinct().count()
        if others + 1 > max(0, allowed - 1):  # the default options keep one place of their own
            raise Unauthorized(
                f"{label} of {asset.public_id} was already requested with {others} non-default option "
                f"sets; an unsigned URL may ask each image version for at most {allowed} (defaults included), "
                "further options need a signed URL")
    pending = queued_or_running()
    if not requester.signed:
        per_client = _setting("DAM_AI_MAX_PENDING_PER_CLIENT")
        if pending.filter(client=requester.client).count() >= per_client:
            raise ApiError(f"Too many {label.lower()}s queued from {requester.client}; try again shortly",
                           429, _retry_after())
    if pending.count() >= _setting("DAM_AI_MAX_PENDING"):
        raise ApiError(f"Too many {label.lower()}s queued; try again shortly", 429, _retry_after())
