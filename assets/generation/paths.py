"""One generation per managed public_id, started by whichever request asks first (ImageKit's
``ik-genimg`` path, transforms.imagekit.genimg, asks here each time it finds no asset there).

`for_path` answers with the task that is making the asset, or starts one through `api.submit`
(an async ``GenerationTask``, target ``managed_asset`` with that public_id, queued for the
worker, after the same back-end, pending-per-key and monthly-quota checks as the API's).
Requests at the same moment are deduplicated by a lease (``throttle.lease``: one INSERT or one
conditional UPDATE, so one caller in any process wins): the winner looks again under the lease
and creates the task; the others are told a generation is being started.  After a failure the
path waits a back-off, doubling with each failure of the day (``BACKOFF_BASE`` to
``BACKOFF_MAX`` seconds), before a request may start another, so clients that keep retrying do
not hammer a broken back-end.  A task left pending or processing longer than a generation may
take (its worker lost) is queued again, at most once per lease.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from .. import throttle
from ..models import GenerationTask
from . import api, backends, tasks
from .request import Request

LEASE = 60  # seconds one request holds the right to start a path's generation
BACKOFF_BASE, BACKOFF_MAX = 30, 3600  # seconds a path waits after a failure (doubling per failure in a day)


@dataclass(frozen=True)
class PathState:
    task: GenerationTask | None  # None: another request is creating it at this moment
    retry_after: int  # seconds before asking again is worth it (a failed task: its back-off left)

    @property
    def failed(self) -> bool:
        return self.task is not None and self.task.status == "failed"


def _for(public_id: str):
    return GenerationTask.objects.filter(target_public_id=public_id, asynchronous=True)


def _lost(task: GenerationTask) -> bool:
    return task.updated_at < timezone.now() - timedelta(seconds=2 * settings.DAM_IMAGE_GENERATION_TIMEOUT + 60)


def backoff_left(task: GenerationTask) -> int:
    """Seconds until a new generation may replace the failed `task`."""
    since = timezone.now() - timedelta(days=1)
    failures = _for(task.request.get("public_id")).filter(status="failed", finished_at__gte=since).count()
    wait = min(BACKOFF_MAX, BACKOFF_BASE * 2 ** max(0, failures - 1))
    finished = task.finished_at or task.updated_at
    return max(0, math.ceil((finished + timedelta(seconds=wait) - timezone.now()).total_seconds()))


def _state(task: GenerationTask | None) -> PathState | None:
    """The state to answer with while `task` holds the path; None when a new one may start."""
    if task is None or task.status == "completed":  # completed: its asset has gone since (deleted)
        return None
    if task.status == "failed":
        left = backoff_left(task)
        return PathState(task, left) if left else None
    return None if _lost(task) else PathState(task, 5)


def for_path(req: Request, api_key: str, monthly_limit: int | None = None) -> PathState:
    """The generation making ``req.public_id`` (a managed, async `req`), started for `api_key`
    when none is pending or in its back-off.  Raises GenerationError for a refusal (no back-end,
    pending cap, quota): nothing is stored or counted then."""
    state = _state(_for(req.public_id).order_by("-id").first())
    if state is not None:
        return state
    backends.for_model(req.family, req.model_id)
    name = "genpath:" + hashlib.sha256(req.public_id.encode("utf-8")).hexdigest()[:40]
    if not throttle.lease(name, LEASE):
        return PathState(None, 2)
    latest = _for(req.public_id).order_by("-id").first()  # again, under the lease
    if latest is not None and latest.status in ("pending", "processing") and _lost(latest):
        tasks.enqueue(latest)  # its worker was lost; the lease is kept, so once per LEASE seconds
        return PathState(latest, 5)
    try:
        state = _state(latest)
        return state if state is not None else PathState(api.submit(req, api_key, monthly_limit), 5)
    finally:
        throttle.release(name)
