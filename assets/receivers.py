"""The assets app's own reactions to its signals: every stored version gets its image
metadata computed in the worker (assets.tasks.compute_image_metadata)."""

from __future__ import annotations

from django.dispatch import receiver

from . import signals
from .tasks import request_image_metadata


@receiver(signals.asset_stored, dispatch_uid="assets.image_metadata")
def _on_stored(sender, asset, **kwargs):
    request_image_metadata(asset)
