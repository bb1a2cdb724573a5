"""Running a generation (in the request for a sync call, in a worker for an async one), the
webhook, and the expiry of temporary images.

Task states: ``pending`` (stored, queued on commit) -> ``processing`` (claimed by one conditional
UPDATE, so a message delivered twice runs once) -> ``completed`` with ``result`` | ``failed`` with
``error``.  A failed generation gives its quota unit back.  An async task with a
``notification_url`` then POSTs its task JSON there through ``assets.tasks.enqueue_notification``:
signed like the Upload API's notifications (``X-Cld-Timestamp``, ``X-Cld-Signature`` with the
requesting key's secret), sent through the SSRF guard, retried with back-off.

A temporary image's deletion is queued for its ``expires_at`` (``eta``); ``sweep_temporaries`` also
deletes every expired one, run from time to time by the generation task and callable from a
periodic scheduler.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from core.errors import ApiError

from .. import links
from ..models import GenerationTask, TemporaryImage
from ..tasks import enqueue_notification
from . import backends, quota, results
from .errors import GenerationError, from_api_error
from .request import Request

log = logging.getLogger(__name__)

SWEEP_EVERY = 600.0  # seconds between two opportunistic sweeps of one process
_last_sweep = float("-inf")
_sweep_lock = threading.Lock()


def task_json(task: GenerationTask) -> dict:
    """A task as the tasks endpoint answers it (and the webhook sends it)."""
    data = {"task_id": task.task_id, "status": task.status, "result": task.result,
            "limits": {"addons_quota": quota.current(task.api_key).as_json()}}
    if task.error:
        data["error"] = task.error
    return {"request_id": task.request_id, "data": data}


def generate(req: Request, task: GenerationTask | None = None, request=None) -> dict:
    """Make and store one image for `req`: ``{"assets": [...]}``.  Raises GenerationError."""
    backend = backends.for_model(req.family, req.model_id)
    image = backends.generate(backend, prompt=req.prompt, width=req.width, height=req.height, seed=req.seed)
    if req.target_type == "managed_asset":
        return {"assets": [results.store_managed(req, image, request)]}
    entry, row = results.store_temporary(req, image, request, task)
    token, eta = row.token, row.expires_at
    transaction.on_commit(lambda: expire_temporary.apply_async((token,), eta=eta))
    return {"assets": [entry]}


def execute(task: GenerationTask, request=None) -> GenerationTask:
    """Run a claimed task to completed or failed (its quota unit given back then)."""
    req = Request.from_json(task.request)
    if request is None:
        request = links.origin(req.origin)
    try:
        task.result = generate(req, task, request)
        task.status = "completed"
    except ApiError as error:
        failure = from_api_error(error)
        task.status, task.error = "failed", failure.as_json()
        quota.give_back(task.api_key, task.quota_window)
        log.info("generation %s failed: %s", task.task_id, failure.message)
    except Exception:  # a bug or a storage failure: the task still ends, never stuck in processing
        log.exception("generation %s failed", task.task_id)
        task.status = "failed"
        task.error = GenerationError("The generation failed on the server", status=500, category="server_error",
                                     code="internal_error").as_json()
        quota.give_back(task.api_key, task.quota_window)
    task.finished_at = timezone.now()
    task.save(update_fields=["status", "result", "error", "finished_at", "updated_at"])
    return task


def claim(task_id: str) -> GenerationTask | None:
    """Take a pending task (or one left processing by a worker lost for longer than a generation
    may take) for this process; None when another has it or it is done."""
    lost = timezone.now() - timedelta(seconds=2 * settings.DAM_IMAGE_GENERATION_TIMEOUT + 60)
    pending = GenerationTask.objects.filter(task_id=task_id, status="pending")
    stale = GenerationTask.objects.filter(task_id=task_id, status="processing", updated_at__lt=lost)
    if not (pending.update(status="processing", updated_at=timezone.now())
            or stale.update(status="processing", updated_at=timezone.now())):
        return None
    return GenerationTask.objects.get(task_id=task_id)


@shared_task(acks_late=True)
def run_generation(task_id: str) -> str:
    """The worker's run of an async generation, then its webhook."""
    maybe_sweep()
    task = claim(task_id)
    if task is None:
        return "skipped"
    with transaction.atomic():  # the webhook and the expiry are queued on its commit
        execute(task)
        if task.notification_url:
            enqueue_notification(task.notification_url, {"notification_type": "image_generation", **task_json(task)},
                                 task.api_key)
    return task.status


def enqueue(task: GenerationTask) -> None:
    """Queue the run of a pending task once the caller's transaction commits."""
    task_id, queue = task.task_id, settings.DAM_IMAGE_GENERATION_QUEUE or None
    transaction.on_commit(lambda: run_generation.apply_async((task_id,), queue=queue))


@shared_task(acks_late=True)
def expire_temporary(token: str) -> bool:
    """Delete a temporary image once it expired (a message delivered early is ignored: the sweep
    or a later message takes it)."""
    row = TemporaryImage.objects.filter(token=token, expires_at__lte=timezone.now()).first()
    if row is None:
        return False
    results.delete_temporary(row)
    return True


@shared_task(acks_late=True)
def sweep_temporaries() -> int:
    """Delete every expired temporary image (expiry messages lost or never sent)."""
    global _last_sweep
    _last_sweep = time.monotonic()
    count = 0
    for row in results.expired()[:1000]:
        results.delete_temporary(row)
        count += 1
    return count


def maybe_sweep() -> None:
    """Sweep at most once per SWEEP_EVERY seconds per process."""
    if time.monotonic() - _last_sweep < SWEEP_EVERY or not _sweep_lock.acquire(blocking=False):
        return
    try:
        sweep_temporaries()
    finally:
        _sweep_lock.release()
