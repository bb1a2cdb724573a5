"""The derived cache: what to stream for an asset and a plan, rendering on a miss.

Key = hash of the asset's ``version_id`` + the plan's meaning (`Plan.key`: named
transformations expanded, values normalised) + the resolved output format and
quality + what else the pixels depend on, as the plan's steps declare it (one loop
over their `depends_on`, transforms.dependencies: this module names no operation), so
an edit never meets an old rendering.  The row records the kinds of those dependencies
(DerivedImage.depends) and `forget_depending` deletes the rows of a kind with one
filter when it changes.  One unique row per key (DerivedImage.key) makes concurrent
renders across processes converge on one file; within a process, duplicate in-flight
renders of a key wait for the first one, and a semaphore
(``DAM_MAX_CONCURRENT_RENDERS``, read at call time) bounds how many renders run at once.

A miss is first checked without rendering: the negative cache of time-outs
(transforms.failures, 422 at once), the memory estimate from the rows
(transforms.memory, 400); a delivery's miss (a `client` is given) then waits for its
stored AI result without a render token (transforms.ai.lifecycle: 423, or 401/429
past the AI bounds) and must be admitted (transforms.admission: a per-process token
and a deployment lease, 429 at once otherwise) before it waits for the per-key lock or
a render slot.  A hit touches none of this.
"""

from __future__ import annotations

import fcntl
import hashlib
import io
import logging
import os
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.core.files import File
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.dispatch import Signal

from assets import tempfiles
from assets.ingest import discard_file
from assets.models import Asset
from core.errors import ApiError, NotFound

from . import admission, executor, failures, limits, memory, originals, overrides, rows
from . import dependencies as D
from .ai import lifecycle, quota
from .encode import ENCODERS
from .models import DerivedImage
from .plan import ResolvedPlan

log = logging.getLogger(__name__)

# Sent when a first render of `transformation` (the plan's dialect text) is stored, with
# `after_response` when the delivery's answer is still being sent: the Cloudinary
# dialect logs delivered transformations from it (transforms.cloudinary.named, connected
# in transforms.apps), so the engine names no dialect.
first_render_stored = Signal()


@dataclass
class Deliverable:
    """A stored file ready to stream: the original, or a derived rendering."""

    storage: str  # storage alias
    name: str
    format: str
    etag: str  # MD5 of the bytes
    last_modified: datetime
    size: int
    width: int
    height: int
    derived: DerivedImage | None = None
    data: bytes | None = None  # the bytes just rendered: served without reading them back

    def open(self):
        if self.data is not None:
            return io.BytesIO(self.data)
        return storages[self.storage].open(self.name, "rb")


def dependencies(asset: Asset, steps) -> list[str]:
    """What besides the asset's version and the plan the rendering depends on, as the
    steps declare it (transforms.dependencies)."""
    return [d.value for d in D.of_steps(asset, steps)]


def cache_key(asset: Asset, plan: ResolvedPlan, declared=None) -> str:
    """`declared`: the plan's dependencies when the caller already has them."""
    declared = D.of_plan(asset, plan) if declared is None else declared
    parts = [asset.version_id, plan.key, f"q={plan.quality}", *(d.value for d in declared)]
    return hashlib.sha256("\n".join(str(p) for p in parts).encode()).hexdigest()


def original(asset: Asset) -> Deliverable:
    return Deliverable("default", asset.storage_name, asset.format, asset.etag, asset.updated_at, asset.bytes,
                       asset.width, asset.height)


def from_row(row: DerivedImage) -> Deliverable:
    return Deliverable("derived", row.storage_name, row.format, row.etag, row.created_at, row.bytes, row.width,
                       row.height, row, getattr(row, "rendered_bytes", None))


def deliverable(asset: Asset, plan: ResolvedPlan, *, signed: bool = False, before_render=None,
                log_after_response: bool = False, client: str | None = None) -> Deliverable:
    """The file answering `plan` for `asset`, rendered and stored first if need be.
    `before_render()` runs only when nothing is stored yet (it may refuse by raising).
    `log_after_response`: a render's entry in the log of delivered transformations is
    written after the current response has been sent (transforms.cloudinary.named), not before.
    `client`: the address of a delivery's client; a render for it is admitted first
    (see the module's docstring).  None: the server's own render (eager, Studio)."""
    if plan.passthrough and (plan.format not in ENCODERS or originals.orientation(asset) == 1):
        return original(asset)  # upright (or a format we only store, e.g. HEIC: served as it is)
    return from_row(_row(asset, plan, signed=signed, before_render=before_render,
                         log_after_response=log_after_response, client=client))


def _row(asset: Asset, plan: ResolvedPlan, *, signed: bool = False, before_render=None,
         log_after_response: bool = False, client: str | None = None) -> DerivedImage:
    declared = D.of_plan(asset, plan)
    key = cache_key(asset, plan, declared)
    depends = D.recorded(declared)
    row = rows.get(DerivedImage, key=key)
    if row is not None:
        if not row.depends:  # stored before kinds were recorded: recorded now, once
            DerivedImage.objects.filter(pk=row.pk, depends="").update(depends=depends)
            row.depends = depends
        return row
    if before_render is not None:
        before_render()
    failures.check(key)
    memory.check_plan(asset, plan, from_original=lifecycle.source_of(plan) is None)
    if client is None:
        return _render_once(asset, plan, key, depends, signed=signed, log_after_response=log_after_response)
    lifecycle.await_result(asset, plan, quota.Requester(client, signed))
    with admission.admit():
        return _render_once(asset, plan, key, depends, signed=signed, log_after_response=log_after_response)


def _render_once(asset: Asset, plan: ResolvedPlan, key: str, depends: str, *, signed: bool,
                 log_after_response: bool):
    """The row of `key`, rendered here unless a concurrent render stores it first; a
    render that runs out of its time budget is remembered (transforms.failures)."""
    with _in_flight(key):
        row = rows.get(DerivedImage, key=key)
        if row is None:
            try:
                row = _render_and_store(asset, plan, key, depends, signed=signed,
                                        log_after_response=log_after_response)
            except limits.RenderTimeout as exc:
                failures.remember(key, exc.message)
                raise
    return row


def ensure(asset: Asset, plan: ResolvedPlan) -> DerivedImage:
    """The derived image of `plan` for `asset`: rendered now if missing, reused if cached.
    For eager transformations and the Studio (a dialect reads their text into the plan:
    transforms.cloudinary.entry.ensure); raises ApiError subclasses."""
    return _row(asset, plan, signed=True)


def open_file(asset: Asset, plan: ResolvedPlan, *, signed: bool = False, before_render=None,
              log_after_response: bool = False, client: str | None = None):
    """(Deliverable, open file).  A derived row whose file went missing is dropped and
    rendered again; a missing original is a 404 (and logged)."""
    for attempt in range(2):
        found = deliverable(asset, plan, signed=signed, before_render=before_render,
                            log_after_response=log_after_response, client=client)
        try:
            return found, found.open()
        except FileNotFoundError:
            if found.derived is None:
                log.error("original of %s is missing from storage: %s", asset, found.name)
                raise NotFound(f"Resource not found - {asset.public_id}") from None
            log.warning("derived file %s is missing; rendering it again", found.name)
            DerivedImage.objects.filter(pk=found.derived.pk).delete()
    raise ApiError(f"Derived file for {asset.public_id} could not be stored", 503)


def forget(queryset) -> int:
    """Delete derived rows; their files go once the transaction commits (transforms.receivers)."""
    count, _ = queryset.delete()
    return count


def forget_depending(*kinds: str, asset=None) -> int:
    """Delete the derived rows recorded as depending on any of `kinds` (of `asset` only,
    when given): one filter on DerivedImage.depends (transforms.dependencies)."""
    match = Q()
    for kind in kinds:
        match |= Q(depends__contains=D.token(kind))
    found = DerivedImage.objects.filter(match)
    return forget(found.filter(asset_id=asset.pk) if asset is not None else found)


# --- rendering ----------------------------------------------------------------------

_guard = threading.Lock()
_in_flight_locks: dict[str, list] = {}
_semaphores: dict[int, threading.BoundedSemaphore] = {}


@contextmanager
def _in_flight(key: str):
    """Duplicate renders of `key` wait for the first: threads on a lock per key, processes
    on this machine on a lock file (one of 256 stripes, so files do not pile up)."""
    with _guard:
        entry = _in_flight_locks.setdefault(key, [threading.Lock(), 0])
        entry[1] += 1
    try:
        with entry[0], _process_lock(key):
            yield
    finally:
        with _guard:
            entry[1] -= 1
            if entry[1] == 0:
                _in_flight_locks.pop(key, None)


@contextmanager
def _process_lock(key: str):
    directory = os.path.join(str(settings.VAR_DIR), "locks")
    try:
        os.makedirs(directory, exist_ok=True)
        fh = open(os.path.join(directory, f"render-{key[:2]}.lock"), "a+b")
    except OSError:  # no lock directory: the unique row still makes renders converge
        yield
        return
    # Wait at most as long as a render may take (plus the queue); then go ahead anyway.
    deadline = time.monotonic() + limits.time_budget() + float(settings.DAM_RENDER_QUEUE_TIMEOUT)
    locked = False
    try:
        while True:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                locked = True
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    break
                time.sleep(0.05)
        yield
    finally:
        if locked:
            fcntl.flock(fh, fcntl.LOCK_UN)
        fh.close()


@contextmanager
def render_slot():
    """One of DAM_MAX_CONCURRENT_RENDERS slots; 429 after DAM_RENDER_QUEUE_TIMEOUT seconds."""
    size = max(1, int(settings.DAM_MAX_CONCURRENT_RENDERS))
    timeout = float(settings.DAM_RENDER_QUEUE_TIMEOUT)
    with _guard:
        semaphore = _semaphores.setdefault(size, threading.BoundedSemaphore(size))
    if not semaphore.acquire(timeout=timeout):
        raise ApiError("Too many concurrent renders, try again later", 429, {"Retry-After": "5"})
    try:
        yield
    finally:
        semaphore.release()


def _md5(path: str) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1024 * 1024), b""):
            digest.update(block)
    return digest.hexdigest()


@contextmanager
def _cache_write():
    """The derived row's own transaction.  On PostgreSQL its commit does not wait for the
    WAL flush (synchronous_commit off for this transaction only: ~4 ms of a first render
    on this project's machines): the row is a cache entry, so a server crash right after
    loses at most the row (the next request renders again; the file is orphaned), never
    consistency.  Only when the derived row is the whole transaction: a caller's
    transaction keeps its own durability.  SQLite in WAL mode (synchronous=NORMAL) does
    not flush at commit anyway."""
    if connection.vendor != "postgresql":
        yield
        return
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO OFF")
        yield


def _render_and_store(asset: Asset, plan: ResolvedPlan, key: str, depends: str | None = None, *,
                      signed: bool = False, log_after_response: bool = False) -> DerivedImage:
    if depends is None:
        depends = D.recorded(D.of_plan(asset, plan))
    # Encoded into memory, hashed, written once into the derived storage and served from
    # the same bytes; only a result too large for memory goes through a temporary file.
    spill = tempfiles.path("render")
    try:
        with render_slot():
            rendered = executor.render(asset, plan, spill, signed=signed, to_memory=True,
                                       overrides=overrides.for_plan(asset, plan))  # once, before the pipeline
        fmt = rendered.format or plan.format
        name = f"{asset.version_id[:2]}/{asset.version_id}/{key[:20]}.{fmt}"
        if rendered.data is not None:
            data = rendered.data
            stored = storages["derived"].save(name, ContentFile(data, name=name))
            size, etag = len(data), hashlib.md5(data, usedforsecurity=False).hexdigest()
        else:
            data = None
            with open(spill, "rb") as fh:
                stored = storages["derived"].save(name, File(fh, name=name))
            size, etag = os.path.getsize(spill), _md5(spill)
    finally:
        if os.path.exists(spill):
            os.unlink(spill)
    fields = dict(asset=asset, version_id=asset.version_id, transformation=plan.transformation, format=fmt,
                  storage_name=stored, bytes=size, width=rendered.width, height=rendered.height, etag=etag,
                  named="".join(f"|{name}" for name in plan.named) + "|" if plan.named else "", depends=depends)
    try:  # one INSERT; a savepoint only inside a caller's transaction (an error must not break it)
        with transaction.atomic() if connection.in_atomic_block else _cache_write():
            row = DerivedImage.objects.create(key=key, **fields)
    except IntegrityError:  # another process stored the same key first (keep theirs), or the asset went away
        discard_file(stored, "derived")
        row = rows.get(DerivedImage, key=key)
        if row is None:
            raise NotFound(f"Resource not found - {asset.public_id}") from None
        return row
    if plan.transformation:
        first_render_stored.send(DerivedImage, transformation=plan.transformation, after_response=log_after_response)
    elif not Asset.objects.filter(pk=asset.pk, version_id=asset.version_id).exists():
        forget(DerivedImage.objects.filter(pk=row.pk))  # replaced or deleted meanwhile: no orphan row
        raise ApiError(f"Resource changed while rendering, try again - {asset.public_id}", 503, {"Retry-After": "1"})
    row.rendered_bytes = data  # served from memory by this request (Deliverable.open)
    return row
