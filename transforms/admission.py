"""Admission control of first renders: refuse at once what the deployment cannot take.

A delivery request whose answer is stored (the memo or a derived row) never comes here.
A first render is admitted (transforms.derived, before it waits for the per-key lock
or a render slot) only when it can take, without waiting:

1. a per-process long-work token of kind ``render`` (assets.capacity): at most
   ``DAM_WEB_THREADS - DAM_RESERVED_THREADS`` request threads per process hold long
   work, so the reserved ones always serve cached hits, the Admin API and the screens;
2. a deployment lease (`RenderLease`): at most ``DAM_MAX_DEPLOYMENT_RENDERS`` first
   renders in flight across every process and host sharing the database (0: no bound).
   A lease is a row with a unique slot number, so taking one is exact on SQLite and
   PostgreSQL alike; it expires after the longest a render may legitimately take (wait
   for a slot + time budget + a margin for storing), so a killed process frees its
   slot by itself.

Either one missing: 429 with ``Retry-After`` at once (the caller's JSON error and
``X-Cld-Error``).  Waiting for one of the process's ``DAM_MAX_CONCURRENT_RENDERS``
render slots stays bounded by ``DAM_RENDER_QUEUE_TIMEOUT`` (transforms.derived).
"""

from __future__ import annotations

import logging
import os
import random
import socket
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from assets import capacity
from core.errors import ApiError

from . import limits
from .models import RenderLease

log = logging.getLogger(__name__)
KIND = "render"
RETRY_AFTER = 5  # seconds: about what a render takes; the client comes back when one may have ended
LEASE_MARGIN = 60  # seconds a lease outlives the longest render (storing a large result on S3, say)


class TooBusy(ApiError):
    status = 429

    def __init__(self, message: str):
        super().__init__(message, headers={"Retry-After": str(RETRY_AFTER)})


def client_address(meta) -> str:
    """Who sent the request: REMOTE_ADDR, or behind a trusted reverse proxy
    (``DAM_BEHIND_PROXY``) the last X-Forwarded-For entry, the one that proxy added (the
    entries before it are whatever the client claimed)."""
    if settings.DAM_BEHIND_PROXY:
        forwarded = [part.strip() for part in meta.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
        if forwarded:
            return forwarded[-1][:64]
    return (meta.get("REMOTE_ADDR") or "-")[:64]


@contextmanager
def admit():
    """Hold a render token and a deployment lease for the block; TooBusy (429) at once
    when either is not free."""
    if not capacity.try_acquire(KIND):
        raise TooBusy("Too many renders in progress on this server, try again later")
    try:
        lease = acquire_lease()
        if lease is None:
            raise TooBusy("Too many renders in progress, try again later")
        try:
            yield
        finally:
            release_lease(lease)
    finally:
        capacity.release(KIND)


# --- deployment leases ------------------------------------------------------------------


@dataclass(frozen=True)
class Lease:
    slot: int
    token: str


_NO_LEASE = Lease(-1, "")  # the deployment bound is off: nothing to release


def deployment_limit() -> int:
    return max(0, int(settings.DAM_MAX_DEPLOYMENT_RENDERS))


def lease_seconds() -> float:
    return limits.time_budget() + float(settings.DAM_RENDER_QUEUE_TIMEOUT) + LEASE_MARGIN


def acquire_lease() -> Lease | None:
    """A free slot below the deployment limit, or None.  Never waits: one read of the
    slots in use, then an INSERT per candidate until one succeeds (a racing process that
    took the same slot first makes ours fail on the unique slot)."""
    limit = deployment_limit()
    if limit == 0:
        return _NO_LEASE
    now = timezone.now()
    held = dict(RenderLease.objects.filter(slot__lt=limit).values_list("slot", "expires_at"))
    free = [slot for slot in range(limit) if slot not in held or held[slot] <= now]
    random.shuffle(free)  # processes racing for slots rarely pick the same one first
    token = uuid.uuid4().hex
    expires = now + timedelta(seconds=lease_seconds())
    holder = f"{socket.gethostname()}:{os.getpid()}"[:128]
    for slot in free:
        try:
            with _unflushed():
                if slot in held:  # expired: its holder died or overran; take it over
                    RenderLease.objects.filter(slot=slot, expires_at__lte=now).delete()
                RenderLease.objects.create(slot=slot, token=token, holder=holder, expires_at=expires)
        except IntegrityError:
            continue
        return Lease(slot, token)
    return None


def release_lease(lease: Lease) -> None:
    if lease is _NO_LEASE:
        return
    try:  # by token: a lease that expired meanwhile and was taken over is the new holder's
        with _unflushed():
            RenderLease.objects.filter(slot=lease.slot, token=lease.token).delete()
    except Exception:  # noqa: BLE001 - the lease expires by itself; the answer must not fail for it
        log.warning("could not release render lease %s", lease.slot, exc_info=True)


@contextmanager
def _unflushed():
    """A lease's own transaction; on PostgreSQL its commit does not wait for the WAL flush
    (as the derived row's, transforms.derived._cache_write): a server crash may lose a
    lease taken (the slot is simply free) or released (it expires), never more.  Inside
    a caller's transaction: a savepoint, the caller's durability untouched."""
    outer = connection.in_atomic_block
    with transaction.atomic():
        if connection.vendor == "postgresql" and not outer:
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL synchronous_commit TO OFF")
        yield
