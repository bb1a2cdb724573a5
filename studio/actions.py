"""What the Media Library's bulk actions do to assets: tag, untag, move, delete.

Each returns (done, problems) so the page can say what happened to every asset.
Moving renames public_ids exactly as the Upload API's rename does (same validation,
same ``asset_renamed`` signal, folders created); deleting goes through the Upload
API's ``delete_assets`` (backed-up versions stay restorable).
"""

from __future__ import annotations

from django.db import IntegrityError, transaction

from assets import ingest, signals
from assets.api.upload import delete_assets
from assets.models import Asset, AssetTag
from core.errors import BadRequest


def add_tags(assets, tags: list[str]) -> tuple[int, list[str]]:
    done, problems = 0, []
    for asset in assets:
        try:
            with transaction.atomic():
                ingest.set_tags(asset, asset.tag_names + tags)
        except BadRequest as exc:  # this asset would have too many tags: the others still get them
            problems.append(f"{asset.public_id}: {exc.message}")
        else:
            done += 1
    return done, problems


def remove_tags(assets, tags: list[str]) -> tuple[int, list[str]]:
    AssetTag.objects.filter(asset__in=assets, name__in=tags).delete()
    return len(assets), []


def moved_public_id(asset: Asset, folder: str) -> str:
    name = asset.public_id.rsplit("/", 1)[-1]
    return f"{folder}/{name}" if folder else name


def move(assets, folder: str) -> tuple[int, list[str]]:
    done, problems = 0, []
    for asset in assets:
        target = moved_public_id(asset, folder)
        if target == asset.public_id:
            continue
        try:
            ingest.validate_public_id(target)
        except BadRequest as exc:
            problems.append(exc.message)
            continue
        old_public_id, old_type = asset.public_id, asset.type
        try:
            with transaction.atomic():
                if Asset.objects.filter(resource_type=asset.resource_type, type=asset.type, public_id=target).exists():
                    raise IntegrityError
                asset.public_id, asset.folder = target, folder
                asset.save(update_fields=["public_id", "folder", "updated_at"])
                ingest.ensure_folders(folder)
                transaction.on_commit(lambda a=asset, old=old_public_id, t=old_type: signals.asset_renamed.send(
                    Asset, asset=a, old_public_id=old, old_type=t))
        except IntegrityError:
            asset.public_id = old_public_id
            problems.append(f"{old_public_id}: {target} exists already, not moved.")
            continue
        done += 1
    return done, problems


def delete(assets) -> tuple[int, list[str]]:
    with transaction.atomic():
        deleted = delete_assets(Asset.objects.filter(pk__in=[a.pk for a in assets]))
    return len(deleted), []
