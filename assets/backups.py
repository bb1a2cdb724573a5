"""Backups: keeping backed-up versions of deleted assets, and restoring versions.

- ``keep_backups(asset)`` runs while an asset is deleted: its backed-up versions are
  recorded as DeletedBackup rows and their files are not removed.
- ``restore(...)`` stores a backed-up version again as the asset's newest version,
  through ingest, keeping the current one as a backup. For a deleted asset the
  asset comes back, with its other backed-up versions re-attached.
"""

from __future__ import annotations

from django.db import transaction

from . import ingest
from .models import Asset, AssetVersion, DeletedBackup


def keep_backups(asset: Asset) -> set[str]:
    """Record the asset's backed-up versions as DeletedBackup rows; returns the files kept."""
    tags, kept = asset.tag_names, set()
    rows = []
    for version in AssetVersion.objects.filter(asset=asset, backed_up=True).exclude(storage_name=""):
        rows.append(DeletedBackup(
            resource_type=asset.resource_type, type=asset.type, public_id=asset.public_id, asset_id=asset.asset_id,
            version=version.version, version_id=version.version_id, format=version.format, width=version.width,
            height=version.height, bytes=version.bytes, etag=version.etag, content_hash=version.content_hash,
            storage_name=version.storage_name, original_filename=asset.original_filename, tags=tags,
            context=asset.context or {}, created_at=version.created_at,
        ))
        kept.add(version.storage_name)
    DeletedBackup.objects.bulk_create(rows)
    return kept


def live_backup(asset: Asset, wanted: set[str]) -> AssetVersion | None:
    """The version named in ``wanted`` if one is this asset's, else the newest backup but the current."""
    candidates = AssetVersion.objects.filter(asset=asset, backed_up=True).exclude(storage_name="")
    if wanted and AssetVersion.objects.filter(asset=asset, version_id__in=wanted).exists():
        return candidates.filter(version_id__in=wanted).order_by("-version", "-id").first()
    return candidates.exclude(version_id=asset.version_id).order_by("-version", "-id").first()


def deleted_backup(resource_type: str, type_: str, public_id: str, wanted: set[str]) -> DeletedBackup | None:
    rows = DeletedBackup.objects.filter(resource_type=resource_type, type=type_, public_id=public_id)
    if wanted and rows.filter(version_id__in=wanted).exists():
        rows = rows.filter(version_id__in=wanted)
    return rows.order_by("-version", "-id").first()


def _store_again(storage_name: str, public_id: str, type_: str, tags, context, original_filename,
                 resource_type: str = "image") -> Asset:
    incoming = ingest.incoming_from_storage(storage_name)
    try:
        return ingest.store(incoming=incoming, public_id=public_id, type=type_, overwrite=True, backup=True,
                            tags=list(tags or []), context=dict(context or {}),
                            original_filename=original_filename, resource_type=resource_type).asset
    finally:
        incoming.close()


def restore(resource_type: str, type_: str, public_id: str, wanted: set[str]) -> Asset | None:
    """Restore ``public_id`` (a live asset's backed-up version, or a deleted asset); None without a backup."""
    asset = Asset.objects.filter(resource_type=resource_type, type=type_, public_id=public_id).first()
    if asset is not None:
        version = live_backup(asset, wanted)
        if version is None:
            return None
        return _store_again(version.storage_name, public_id, type_, asset.tag_names, asset.context,
                            asset.original_filename, resource_type)
    backup = deleted_backup(resource_type, type_, public_id, wanted)
    if backup is None:
        return None
    restored = _store_again(backup.storage_name, public_id, type_, backup.tags, backup.context,
                            backup.original_filename, resource_type)
    with transaction.atomic():
        # The deleted asset's backups become versions of the restored one again.
        rows = list(DeletedBackup.objects.filter(resource_type=resource_type, type=type_, public_id=public_id))
        AssetVersion.objects.bulk_create([AssetVersion(
            asset=restored, version=r.version, version_id=r.version_id, format=r.format, width=r.width,
            height=r.height, bytes=r.bytes, etag=r.etag, content_hash=r.content_hash, storage_name=r.storage_name,
            backed_up=True) for r in rows], ignore_conflicts=True)
        DeletedBackup.objects.filter(pk__in=[r.pk for r in rows]).delete()
        # The asset comes back under the asset_id it had (Cloudinary's placeholder keeps it).
        if not Asset.objects.filter(asset_id=backup.asset_id).exists():
            Asset.objects.filter(pk=restored.pk).update(asset_id=backup.asset_id)
            restored.asset_id = backup.asset_id
    return restored
