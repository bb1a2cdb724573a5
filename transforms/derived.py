"""The derived cache: what to stream for an asset and a plan, rendering on a miss.

Key = hash of the asset's ``version_id`` + canonical transformation + output format,
so a new version never meets an old rendering.  One unique row per key
(DerivedImage.key) makes concurrent renders across processes converge on one file;
within a process, duplicate in-flight renders of a key wait for the first one, and a
semaphore (``DAM_MAX_CONCURRENT_RENDERS``, read at call time) bounds how many renders
run at once.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.core.files import File
from django.core.files.storage import storages
from django.db import IntegrityError, transaction

from assets.api.errors import ApiError, NotFound
from assets.models import Asset

from . import executor
from .encode import ENCODERS
from .models import DerivedImage
from .plan import ResolvedPlan

log = logging.getLogger(__name__)


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

    def open(self):
        return storages[self.storage].open(self.name, "rb")


def cache_key(version_id: str, plan: ResolvedPlan) -> str:
    return hashlib.sha256(f"{version_id}\n{plan.transformation}\n{plan.format}".encode()).hexdigest()


def original(asset: Asset) -> Deliverable:
    return Deliverable("default", asset.storage_name, asset.format, asset.etag, asset.updated_at, asset.bytes,
                       asset.width, asset.height)


def from_row(row: DerivedImage) -> Deliverable:
    return Deliverable("derived", row.storage_name, row.format, row.etag, row.created_at, row.bytes, row.width,
                       row.height, row)


def deliverable(asset: Asset, plan: ResolvedPlan) -> Deliverable:
    """The file answering `plan` for `asset`, rendered and stored first if need be."""
    if plan.passthrough and (plan.format not in ENCODERS or executor.orientation(asset) == 1):
        return original(asset)  # upright (or a format we only store, e.g. HEIC: served as it is)
    key = cache_key(asset.version_id, plan)
    row = DerivedImage.objects.filter(key=key).first()
    if row is not None:
        return from_row(row)
    with _in_flight(key):
        row = DerivedImage.objects.filter(key=key).first()
        if row is None:
            row = _render_and_store(asset, plan, key)
    return from_row(row)


def open_file(asset: Asset, plan: ResolvedPlan):
    """(Deliverable, open file).  A derived row whose file went missing is dropped and
    rendered again; a missing original is a 404 (and logged)."""
    for attempt in range(2):
        found = deliverable(asset, plan)
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


# --- rendering ----------------------------------------------------------------------

_guard = threading.Lock()
_in_flight_locks: dict[str, list] = {}
_semaphores: dict[int, threading.BoundedSemaphore] = {}


@contextmanager
def _in_flight(key: str):
    with _guard:
        entry = _in_flight_locks.setdefault(key, [threading.Lock(), 0])
        entry[1] += 1
    try:
        with entry[0]:
            yield
    finally:
        with _guard:
            entry[1] -= 1
            if entry[1] == 0:
                _in_flight_locks.pop(key, None)


@contextmanager
def render_slot():
    """One of DAM_MAX_CONCURRENT_RENDERS slots; 503 after DAM_RENDER_QUEUE_TIMEOUT seconds."""
    size = max(1, int(getattr(settings, "DAM_MAX_CONCURRENT_RENDERS", 2)))
    timeout = float(getattr(settings, "DAM_RENDER_QUEUE_TIMEOUT", 30))
    with _guard:
        semaphore = _semaphores.setdefault(size, threading.BoundedSemaphore(size))
    if not semaphore.acquire(timeout=timeout):
        raise ApiError("Too many concurrent renders, try again later", 503, {"Retry-After": "5"})
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


def _discard(name: str) -> None:
    try:
        storages["derived"].delete(name)
    except Exception:  # never fatal: an orphan file is only wasted space
        log.warning("could not delete derived file %s", name, exc_info=True)


def _render_and_store(asset: Asset, plan: ResolvedPlan, key: str) -> DerivedImage:
    with tempfile.TemporaryDirectory(prefix="dam-render-") as tmp:
        out = os.path.join(tmp, f"out.{plan.format}")
        with render_slot():
            rendered = executor.render(asset, plan, out)
        name = f"{asset.version_id[:2]}/{asset.version_id}/{key[:20]}.{plan.format}"
        with open(out, "rb") as fh:
            stored = storages["derived"].save(name, File(fh, name=name))
        size, etag = os.path.getsize(out), _md5(out)
    fields = dict(asset=asset, version_id=asset.version_id, transformation=plan.transformation, format=plan.format,
                  storage_name=stored, bytes=size, width=rendered.width, height=rendered.height, etag=etag)
    try:
        with transaction.atomic():
            row, created = DerivedImage.objects.get_or_create(key=key, defaults=fields)
    except IntegrityError:  # the asset went away while we rendered
        _discard(stored)
        row, created = DerivedImage.objects.filter(key=key).first(), False
        if row is None:
            raise NotFound(f"Resource not found - {asset.public_id}") from None
    if not created:  # another process stored the same key first: keep theirs
        _discard(stored)
    elif not Asset.objects.filter(pk=asset.pk, version_id=asset.version_id).exists():
        forget(DerivedImage.objects.filter(pk=row.pk))  # replaced or deleted meanwhile: no orphan row
        raise ApiError(f"Resource changed while rendering, try again - {asset.public_id}", 503, {"Retry-After": "1"})
    return row
