"""Stored AI results follow their asset: a new version drops the old versions' results
(rows at once, files after commit); a deleted asset's go with it (cascade, then post_delete).
Every stored version gets its faces detected in the worker (transforms.ai.faces)."""

from __future__ import annotations

from django.db import transaction
from django.db.models.signals import post_delete
from django.dispatch import receiver

from assets import signals
from assets.ingest import discard_file
from transforms.models import AIResult

from . import faces


@receiver(post_delete, sender=AIResult, dispatch_uid="transforms.ai.result_file_cleanup")
def _delete_file(sender, instance: AIResult, **kwargs):
    name = instance.storage_name
    if name:
        transaction.on_commit(lambda: discard_file(name, "derived"))


@receiver(signals.asset_replaced, dispatch_uid="transforms.ai.asset_replaced")
def _on_replaced(sender, asset, **kwargs):
    AIResult.objects.filter(asset_id=asset.pk).exclude(version_id=asset.version_id).delete()


@receiver(signals.asset_stored, dispatch_uid="transforms.ai.asset_stored")
def _on_stored(sender, asset, **kwargs):
    faces.request(asset)
