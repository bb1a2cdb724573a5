"""The Image Generation API's calls in plain Python (the HTTP views and screens call these).

``text_to_image(body, credential)`` -> (status, JSON): 200 with the image, or 202 with a pending
task; ``task_status(task_id, credential)`` -> the task JSON.  Errors are raised as GenerationError.

Bounds: the monthly quota per key (``quota``, 429); synchronous generations per web process
(``DAM_IMAGE_GENERATION_MAX_CONCURRENT`` long-work tokens of ``assets.capacity``, so they never take
the threads reserved for cached deliveries; 429 at once when none is free); async tasks pending or
running per key (``DAM_IMAGE_GENERATION_MAX_PENDING_PER_KEY``, 429).  Everything is checked before
anything is stored or counted: a refused request costs nothing.
"""

from __future__ import annotations

from dataclasses import replace

from django.conf import settings
from django.db import transaction

from .. import capacity, links
from ..keys import Credential
from ..models import GenerationTask
from . import backends, quota, tasks
from .errors import GenerationError
from .request import parse

CAPACITY_KIND = "image_generation"
RETRY_AFTER = "5"  # seconds a client refused for want of capacity waits


def _busy(message: str, code: str) -> GenerationError:
    return GenerationError(message, status=429, category="rate_limit_error", code=code,
                           headers={"Retry-After": RETRY_AFTER})


def text_to_image(body, credential: Credential, request=None) -> tuple[int, dict]:
    req = parse(body)
    backends.for_model(req.family, req.model_id)  # a model nothing serves: 400 before any work
    if req.asynchronous:
        if request is not None:  # the worker has no request: its result URLs name this one's host
            req = replace(req, origin=links.base_url(request))
        return 202, _submit(req, credential)
    if not capacity.try_acquire(CAPACITY_KIND, settings.DAM_IMAGE_GENERATION_MAX_CONCURRENT):
        raise _busy("Too many image generations are running: retry shortly, or use async: true", "too_many_requests")
    try:
        usage = quota.take(credential.key)
        task = GenerationTask.objects.create(api_key=credential.key, status="processing", request=req.as_json(),
                                             quota_window=usage.window)
        with transaction.atomic():  # a temporary image's expiry is queued on commit
            tasks.execute(task, request)
    finally:
        capacity.release(CAPACITY_KIND)
    if task.status == "failed":
        raise failure(task)
    used = quota.current(credential.key, used_by_request=1)
    return 200, {"request_id": task.request_id, "data": task.result,
                 "limits": {"addons_quota": used.as_json()}}


STATUS_OF_CODE = {"backend_timeout": 504, "backend_error": 502, "backend_misconfigured": 503}


def failure(task: GenerationTask, headers: dict | None = None) -> GenerationError:
    """The error a failed task answers with (its stored error object, its status)."""
    error = task.error or {}
    return GenerationError(error.get("message", "The generation failed"), status=_status_of(error),
                           category=error.get("category", "server_error"), code=error.get("code", "internal_error"),
                           details=error.get("details"), headers=headers)


def _status_of(error: dict) -> int:
    if error.get("category") == "user_error":
        return 404 if error.get("code") == "not_found" else 400
    return STATUS_OF_CODE.get(error.get("code"), 500)


def submit(req, api_key: str, monthly_limit: int | None = None) -> GenerationTask:
    """Store an async task for `req` and queue it on commit, after the pending-per-key cap and
    the monthly quota (`monthly_limit`, else the general one) of `api_key`; 429 beyond them."""
    with transaction.atomic():
        pending = GenerationTask.objects.filter(api_key=api_key, asynchronous=True,
                                                status__in=("pending", "processing")).count()
        if pending >= settings.DAM_IMAGE_GENERATION_MAX_PENDING_PER_KEY:
            raise _busy(f"API key {api_key} has {pending} generations pending: wait for one to finish",
                        "too_many_pending")
        usage = quota.take(api_key, monthly_limit)
        task = GenerationTask.objects.create(api_key=api_key, asynchronous=True, request=req.as_json(),
                                             notification_url=req.notification_url or "", quota_window=usage.window)
        tasks.enqueue(task)
    return task


def _submit(req, credential: Credential) -> dict:
    task = submit(req, credential.key)
    body = tasks.task_json(task)
    body["data"]["limits"] = {"addons_quota": quota.current(credential.key, used_by_request=1).as_json()}
    return body


def task_status(task_id: str, credential: Credential) -> dict:
    """A task of this key (404 for another key's: task ids are not shared between keys)."""
    task = GenerationTask.objects.filter(task_id=str(task_id)[:64], api_key=credential.key).first()
    if task is None:
        raise GenerationError(f"Task {task_id} not found", status=404, code="not_found")
    return tasks.task_json(task)
