"""Slow transformation work run by Celery workers.  Tasks take ids, queued on commit."""

from __future__ import annotations

from celery import shared_task

from .ai.legacy import remove_background_legacy  # noqa: F401 - the legacy add-on's job, found here by autodiscovery
from .ai.queue import compute_ai_result  # noqa: F401 - the AI-result job, found here by autodiscovery
from .ai.faces import detect_faces  # noqa: F401 - face detection after upload, found here by autodiscovery


@shared_task(acks_late=True)
def remove_background(cutout_id: int) -> str:
    """A message queued before AI results were generalised: the same job."""
    return compute_ai_result(cutout_id)

