"""The Celery job of the AI-result lifecycle, and how a request queues it.

Defined here (and re-exported by transforms.tasks, which Celery's autodiscovery
imports in the worker) so that transforms.ai.lifecycle can queue it without importing
the tasks module, which imports the legacy add-on, which imports a producer, which
imports the lifecycle.  The message carries the row id only; with
``CELERY_TASK_ACKS_LATE`` a message whose worker died is redelivered by brokers that
track unacknowledged messages (Redis, after its visibility timeout) and dropped by the
filesystem broker -- either way the lifecycle does not depend on it: the row's missing
heartbeat makes the next request queue a new job, and a duplicate finds the row claimed
or done (transforms.ai.jobs).
"""

from __future__ import annotations

from celery import shared_task
from django.conf import settings
from django.db import transaction

from . import jobs


@shared_task(name="transforms.tasks.compute_ai_result", acks_late=True)
def compute_ai_result(result_id: int) -> str:
    """Compute and store one AI result (transforms.ai.jobs.compute)."""
    return jobs.compute(result_id)


def enqueue(result_id: int) -> None:
    queue = settings.DAM_AI_QUEUE or None  # None: the default queue
    transaction.on_commit(lambda: compute_ai_result.apply_async((result_id,), queue=queue))
