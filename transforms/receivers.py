"""Keep the derived cache honest: events that make renderings stale remove them.

An asset's new version, rename or deletion drops its rows, and those of other assets
that use it as an image layer; a change of its tags, context or coordinates drops the
rows recorded as reading them (DerivedImage.depends, transforms.dependencies).  The
cache keys hold those values already, so such rows would never be served again: this
keeps them from piling up.  Rows go at once (inside the caller's transaction); files go after it commits, by the
post_delete receiver, so a rolled-back delete never loses a file it still points to.
"""

from __future__ import annotations

from django.db import transaction
from django.db.models.signals import post_delete
from django.dispatch import receiver

from assets import signals
from assets.ingest import discard_file

from . import dependencies
from .derived import forget, forget_depending
from .models import DerivedImage

# what each field of asset_metadata_changed is read by
_KINDS = {"tags": (dependencies.META,), "context": (dependencies.META,),
          "face_coordinates": (dependencies.META, dependencies.FACES), "custom_coordinates": (dependencies.CUSTOM,),
          "regions": (dependencies.REGIONS,)}


@receiver(post_delete, sender=DerivedImage, dispatch_uid="transforms.derived_file_cleanup")
def _delete_file(sender, instance: DerivedImage, **kwargs):
    name = instance.storage_name
    if name:
        transaction.on_commit(lambda: discard_file(name, "derived"))


def drop_derived(asset) -> int:
    """The asset's renderings, and the renderings using it as a layer."""
    return (forget(DerivedImage.objects.filter(asset_id=asset.pk))
            + forget_depending(dependencies.layer_kind(asset.pk)))


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


@receiver(signals.asset_metadata_changed, dispatch_uid="transforms.asset_metadata_changed")
def _on_metadata_changed(sender, asset, fields=(), **kwargs):
    kinds = dict.fromkeys(kind for field in fields for kind in _KINDS.get(field, ()))
    if kinds:
        forget_depending(*kinds, asset=asset)
