"""One lifecycle for every stored AI result (transforms.models.AIResult).

A plan whose first component applies a producer's effect (transforms.ai.producers;
`check_plan`: nowhere else, a 400 otherwise) renders from that producer's stored
result for the asset version and options, never from the model directly:

- `request` finds the row or creates it pending and queues one job (on commit,
  transforms.tasks.compute_ai_result), within transforms.ai.quota's bounds for a
  delivery's `Requester`; `await_result` answers 423 with ``Retry-After`` until the
  row is done (422 when the run failed).  The model files are checked first (a 503
  naming ``manage.py fetch_models``, nothing queued).
- The worker claims, computes and stores it (transforms.ai.jobs).
- Retries, by the next request that finds the row: a failed run after a back-off
  (STALE_AFTER, doubling with every run, at most a day); a pending row queued longer
  than STALE_AFTER (its message was lost); a processing row whose job stopped beating
  for ``DAM_AI_STALE_AFTER`` seconds (the worker died: SIGKILL, OOM, a lost machine).
  A job lost MAX_ATTEMPTS times is recorded as failed, so an input that kills workers
  is not retried in a loop.
- `compute_now` computes in this process (eager renders must come back rendered).
- `open_result` starts a render from the stored file, with the overrides the refiners
  contribute (transforms.overrides) applied by the engine: the ``ai_result`` source
  of transforms.sources, registered here once for every producer.  What the
  derived-cache key records of it is the producer effect's declared dependency
  (transforms.ai.producers.dependency: its id and etag, plus the overrides' revisions).
"""

from __future__ import annotations

import logging
from contextlib import contextmanager
from dataclasses import replace
from datetime import timedelta

import pyvips
from django.conf import settings
from django.core.files.storage import storages
from django.db import transaction
from django.utils import timezone

from core.errors import ApiError, BadRequest
from transforms import overrides as overrides_hook
from transforms import sources
from transforms.models import AIResult
from transforms.plan import Action, Block, LayerStep

from . import jobs, producers, quota, stages, weights
from .producers import row_for
from .queue import enqueue

STALE_AFTER = quota.PENDING_STALE_AFTER  # a pending row this old is re-queued; a failed one's first back-off
MAX_BACKOFF = timedelta(days=1)
MAX_ATTEMPTS = 3  # jobs lost (no heartbeat) before the row is recorded as failed

log = logging.getLogger(__name__)


class ResultPending(ApiError):
    """Cloudinary answers 423 until the AI result exists."""

    status = 423


def retry_after() -> dict:
    return {"Retry-After": str(int(settings.DAM_BG_REMOVAL_RETRY_AFTER))}


# --- the plan -----------------------------------------------------------------------------


def check_plan(steps) -> None:
    """400 unless producer effects appear only in the first step, as a plain component."""
    def walk(items, top: bool):
        for index, step in enumerate(items):
            if isinstance(step, Block):
                walk(step.then, False)
                walk(step.otherwise, False)
            elif isinstance(step, LayerStep):
                found = producers.of_step(step.own) or next(
                    (p for p in map(producers.of_step, _flatten(step.steps)) if p), None)
                if found is not None:
                    raise BadRequest(f"{_first_rule(found)}; it cannot be used on a layer (apply the base image as "
                                     "an underlay instead)")
                if stages.contains_stage((step.own, *step.steps)):
                    raise BadRequest("Generative fill and effects cannot be used on a layer")
            else:
                found = producers.of_step(step)
                if found is not None and getattr(found, "staged", False):
                    if not top:
                        raise BadRequest(f"e_{found.kind} cannot be used inside a condition (if_)")
                elif found is not None and not (top and index == 0):
                    raise BadRequest(_first_rule(found))
                elif not top and stages.producer_of(step) is not None:
                    raise BadRequest("b_gen_fill cannot be used inside a condition (if_)")

    walk(steps, True)


def _first_rule(producer) -> str:
    return f"e_{producer.kind} must be the first component of the transformation"


def _flatten(steps):
    for step in steps:
        if isinstance(step, Block):
            yield from _flatten(step.then)
            yield from _flatten(step.otherwise)
        elif isinstance(step, LayerStep):
            yield step.own
            yield from _flatten(step.steps)
        else:
            yield step


def source_of(plan, asset=None):
    """(producer, options) of the stored result `plan` starts from: a first-step producer's
    effect, or a generative step (transforms.ai.stages: with `asset`, a refined variation
    chosen for it counts); else None."""
    return stages.source_of(plan, asset)


pixel_plan = stages.pixel_plan


# --- requests -----------------------------------------------------------------------------


def require_models(producer, options) -> None:
    for spec in producer.models_needed(options):
        weights.require(spec)


def backoff(row) -> timedelta:
    return min(MAX_BACKOFF, STALE_AFTER * 2 ** max(0, min(row.runs, 20) - 1))


def is_stale(row, now=None) -> bool:
    """Whether `row` should be queued again: see the module's docstring."""
    now = now or timezone.now()
    if row.status == AIResult.PENDING:
        return now - row.updated_at > STALE_AFTER
    if row.status == AIResult.PROCESSING:
        return not jobs.is_live(row, now)
    if row.status == AIResult.FAILED:
        return now - row.updated_at > backoff(row)
    return False


def request(asset, producer, options, requester=None) -> AIResult:
    """The asset version's result row for `options`: created pending with one job queued
    (on commit) when missing; a stale one queued again (by whichever request wins the
    update).  A delivery's `requester` (quota.Requester) queues a run only within
    transforms.ai.quota's bounds (401/429 otherwise)."""
    client = requester.client if requester is not None else ""
    row = row_for(asset, producer, options)
    if row is not None and row.status == AIResult.DONE:
        return row
    require_models(producer, options)  # a clear 503 naming fetch_models rather than a failing job
    now = timezone.now()
    if row is None:
        with transaction.atomic():
            quota.admit(asset, producer, options, requester)
            row, created = AIResult.objects.get_or_create(
                kind=producer.kind, version_id=asset.version_id, options=options.canonical,
                defaults={"asset": asset, "client": client, "requested_at": now,
                          "spec": getattr(options, "spec", {})})
        if created:
            enqueue(row.pk)
        return row
    if not is_stale(row, now):
        return row
    with transaction.atomic():
        quota.admit(asset, producer, options, requester, requeue=True)
        seen = AIResult.objects.filter(pk=row.pk, status=row.status, lease=row.lease, updated_at=row.updated_at)
        if row.status == AIResult.PROCESSING and row.attempts >= MAX_ATTEMPTS:
            lost = f"the job was lost {row.attempts} times (its worker stopped without finishing)"
            seen.update(status=AIResult.FAILED, error=lost, lease="", finished_at=now, updated_at=now)
            requeued = 0
        else:
            requeued = seen.update(status=AIResult.PENDING, error="", client=client, lease="", requested_at=now,
                                   updated_at=now)
    if requeued:
        log.info("%s %s was %s; queued again", producer.kind, row.pk, row.status)
        enqueue(row.pk)
    row.refresh_from_db()
    return row


def raise_unless_done(asset, producer, row) -> None:
    """422 for a failed run, 423 with Retry-After while one is queued or running."""
    if row.status == AIResult.DONE:
        return
    if row.status == AIResult.FAILED:
        raise ApiError(f"{producer.label} failed for {asset.public_id}: {row.error}", 422)
    raise ResultPending(f"{producer.label} of {asset.public_id} is in progress; try again shortly",
                        headers=retry_after())


def await_result(asset, plan, requester) -> None:
    """For a delivery of a plan starting with a producer's effect: return when its result
    is stored; else 423 (queued, now or before), 422 (the run failed) or what
    quota.admit refuses.  Runs before the render is admitted (transforms.admission), so
    answering "not yet" never takes a render token."""
    found = source_of(plan, asset)
    if found is not None:
        producer, options = found
        if getattr(producer, "staged", False):
            stages.precheck(asset, plan)
        raise_unless_done(asset, producer, request(asset, producer, options, requester))


compute_now = jobs.compute_now


def prepare(asset, plan) -> str | None:
    """For an eager plan starting with a producer's effect: its result, computed here when
    missing (compute_now).  None for any other plan."""
    found = source_of(plan)
    return compute_now(asset, *found) if found is not None else None


# --- rendering from it ----------------------------------------------------------------------


@contextmanager
def _open(row, kind: str, overrides):
    with storages["derived"].open(row.storage_name, "rb") as fh:
        data = fh.read()
    yield overrides_hook.apply(pyvips.Image.new_from_buffer(data, "", access="sequential"), overrides, kind)


def open_result(asset, plan, overrides=()):
    """For a plan starting with a producer's effect: a context manager yielding the stored
    result (with `overrides` applied) as a pyvips image; 423 (job queued) while it does
    not exist.  None for any other plan."""
    found = source_of(plan, asset)
    if found is None:
        return None
    producer, options = found
    row = request(asset, producer, options)
    if row.status == AIResult.DONE:
        if storages["derived"].exists(row.storage_name):
            return _open(row, producer.kind, overrides)
        log.warning("%s file %s is missing; computing it again", producer.kind, row.storage_name)
        AIResult.objects.filter(pk=row.pk).delete()
        row = request(asset, producer, options)
    raise_unless_done(asset, producer, row)


def _stored_source(asset, plan, stack, overrides):
    """The ``ai_result`` source (transforms.sources): a plan starting with any producer's
    effect starts from its stored result, the effect taken out of the steps."""
    result = open_result(asset, plan, overrides)
    return None if result is None else sources.Start("ai_result", stack.enter_context(result), pixel_plan(plan, asset))


sources.register("ai_result", _stored_source, priority=10)
