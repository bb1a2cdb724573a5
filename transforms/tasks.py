"""Slow transformation work run by Celery workers.  Tasks take ids, queued on commit."""

from __future__ import annotations

from celery import shared_task

from .ai import legacy
from .ai.queue import compute_ai_result  # noqa: F401 - the AI-result job, found here by autodiscovery


@shared_task(acks_late=True)
def remove_background(cutout_id: int) -> str:
    """A message queued before AI results were generalised: the same job."""
    return compute_ai_result(cutout_id)


@shared_task(acks_late=True)
def remove_background_legacy(asset_id: str, version_id: str, options: str, notification_url: str | None = None,
                             api_key: str | None = None) -> str:
    """``background_removal=cloudinary_ai`` on upload/update: replace the asset with the
    cut-out PNG and notify (transforms.ai.legacy)."""
    return legacy.run(asset_id, version_id, options, notification_url, api_key)
