"""Slow transformation work run by Celery workers.  Tasks take ids, queued on commit."""

from __future__ import annotations

from celery import shared_task


@shared_task(acks_late=True)
def remove_background(cutout_id: int) -> str:
    """Compute and store one background-removal cut-out (transforms.ai.bgremoval)."""
    from .ai import bgremoval

    return bgremoval.compute(cutout_id)
