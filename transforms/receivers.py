"""Keep the derived cache honest: events that make renderings stale remove them.

Rows go at once (inside the caller's transaction); files go after it commits, by the
post_delete receiver, so a rolled-back delete never loses a file it still points to.
"""

from __future__ import annotations

from django.db import transaction
from django.db.models.signals import post_delete
from django.dispatch import receiver

from assets import signals

from .models import DerivedImage


@receiver(post_delete, sender=DerivedImage, dispatch_uid="transforms.derived_file_cleanup")
def _delete_file(sender, instance: DerivedImage, **kwargs):
    from assets.ingest import discard_file

    name = instance.storage_name
    if name:
        transaction.on_commit(lambda: discard_file(name, "derived"))


def drop_derived(asset) -> int:
    from .derived import forget

    return forget(DerivedImage.objects.filter(asset_id=asset.pk))


@receiver(signals.asset_replaced, dispatch_uid="transforms.asset_replaced")
def _on_replaced(sender, asset, **kwargs):
    # A new version (or an explicit invalidate): nothing rendered before stays valid.
    drop_derived(asset)


@receiver(signals.asset_deleted, dispatch_uid="transforms.asset_deleted")
def _on_deleted(sender, asset, **kwargs):
    drop_derived(asset)


@receiver(signals.asset_renamed, dispatch_uid="transforms.asset_renamed")
def _on_renamed(sender, asset, **kwargs):
    drop_derived(asset)
