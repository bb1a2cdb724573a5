"""Masks and chosen generative variations follow their asset: a new version (an overwrite of
the original) drops the masks of the old ones (and their files after commit) and every
choice and variation batch; a deleted asset's go with it (cascade, then post_delete)."""

from __future__ import annotations

from django.db import transaction
from django.db.models.signals import post_delete
from django.dispatch import receiver

from assets import signals
from assets.ingest import discard_file

from . import background, generative
from .models import BackgroundMask


@receiver(post_delete, sender=BackgroundMask, dispatch_uid="refiners.mask_file_cleanup")
def _delete_file(sender, instance: BackgroundMask, **kwargs):
    name = instance.storage_name
    if name:
        transaction.on_commit(lambda: discard_file(name, "derived"))


@receiver(signals.asset_replaced, dispatch_uid="refiners.asset_replaced")
def _on_replaced(sender, asset, **kwargs):
    background.drop_other_versions(asset)
    generative.drop_other_versions(asset)
