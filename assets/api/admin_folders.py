"""Admin API, folders (fixed folder mode: an asset's folder is the path part of its public_id).

- ``GET folders``: root folders; ``GET folders/<path>``: its direct subfolders (404 if missing)
- ``POST folders/<path>``: create, ancestors included
- ``DELETE folders/<path>``: only when no asset lies under it; empty subfolders go too
- ``PUT folders/<path>`` with ``to_folder``: rename, moving up to RENAME_CAP assets
"""

from __future__ import annotations

import hashlib
import re

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from rest_framework.response import Response

from core.errors import BadRequest, Conflict, NotFound

from .. import ingest, signals
from ..models import Asset, Folder
from . import admin_base as base
from .admin_base import AdminView

RENAME_CAP = 1000


def external_id(path: str) -> str:
    return hashlib.md5(f"folder:{path}".encode("utf-8"), usedforsecurity=False).hexdigest()


def folder_json(path: str) -> dict:
    return {"name": path.rsplit("/", 1)[-1], "path": path, "external_id": external_id(path)}


def folder_path(path: str) -> str:
    try:
        return ingest.validate_folder(path)
    except BadRequest as exc:
        raise BadRequest(exc.message.replace("public_id", "folder path")) from None


def existing(path: str) -> Folder:
    folder = Folder.objects.filter(path=path).first()
    if folder is None:
        raise NotFound(f"Can't find folder with path {path}")
    return folder


def under(path: str) -> Q:
    """Folder rows strictly below ``path``."""
    return base.prefix_q("path", path + "/")


def assets_under(path: str):
    return Asset.objects.filter(Q(folder=path) | base.prefix_q("folder", path + "/"))


def list_folders(queryset, params: dict) -> dict:
    limit = base.max_results(params, default=settings.DAM_API_MAX_RESULTS)
    total = queryset.count()
    rows, cursor = base.keyset_page(queryset.order_by("path").values_list("path", flat=True), params, "folder",
                                    "path", limit, flat=True)
    return {
        "folders": [folder_json(p) for p in rows],
        "next_cursor": cursor,
        "total_count": total,
    }


class RootFoldersView(AdminView):
    def get(self, request, cloud_name: str):
        return Response(list_folders(Folder.objects.filter(path__regex=r"^[^/]+$"), self.params))


class FolderView(AdminView):
    def get(self, request, cloud_name: str, path: str):
        path = folder_path(path)
        existing(path)
        children = Folder.objects.filter(under(path), path__regex=rf"^{re.escape(path)}/[^/]+$")
        return Response(list_folders(children, self.params))

    def post(self, request, cloud_name: str, path: str):
        path = create_folder(path)
        return Response({"success": True, "path": path, "name": path.rsplit("/", 1)[-1]})

    def delete(self, request, cloud_name: str, path: str):
        return Response({"deleted": delete_folder(path)})

    def put(self, request, cloud_name: str, path: str):
        path, target = rename_folder(path, str(self.params.get("to_folder") or ""))
        return Response({"from": folder_json(path), "to": folder_json(target)})


# --- the domain functions (the Admin API above and the Studio's folder forms call them) ---

def create_folder(path: str) -> str:
    """Create ``path`` and its ancestors; returns the normalised path."""
    path = folder_path(path)
    if not path:
        raise BadRequest("Missing required parameter - path")
    ingest.ensure_folders(path)
    return path


def delete_folder(path: str) -> list[str]:
    """Delete an empty folder and its empty subfolders (Cloudinary's rule: 400 while any
    asset lies under it). Returns the deleted paths, deepest first."""
    path = folder_path(path)
    existing(path)
    if assets_under(path).exists():
        raise BadRequest("Folder is not empty")
    with transaction.atomic():
        rows = Folder.objects.filter(Q(path=path) | under(path))
        deleted = sorted(rows.values_list("path", flat=True), key=lambda p: (-p.count("/"), p))
        rows.delete()
    return deleted


def rename_folder(path: str, to_folder: str) -> tuple[str, str]:
    """Rename ``path`` to ``to_folder`` with its subfolders and assets (at most RENAME_CAP);
    409 when the target exists. Returns (path, target), normalised."""
    path = folder_path(path)
    target = folder_path(to_folder)
    if not target:
        raise BadRequest("Missing required parameter - to_folder")
    existing(path)
    if target == path or target.startswith(path + "/"):
        raise BadRequest(f"Cannot move folder {path} into itself")
    if Folder.objects.filter(Q(path=target) | under(target)).exists():
        raise Conflict(f"Folder {target} already exists")
    assets = list(assets_under(path).order_by("id")[: RENAME_CAP + 1])
    if len(assets) > RENAME_CAP:
        raise BadRequest(f"Folder holds more than {RENAME_CAP} assets: rename it in smaller steps")
    moved = lambda value: target + value[len(path):]  # noqa: E731
    try:
        with transaction.atomic():
            for asset in assets:
                old_public_id = asset.public_id
                asset.public_id, asset.folder = moved(asset.public_id), moved(asset.folder)
                asset.save(update_fields=["public_id", "folder", "updated_at"])
                transaction.on_commit(lambda a=asset, old=old_public_id: signals.asset_renamed.send(
                    Asset, asset=a, old_public_id=old, old_type=a.type))
            for folder in Folder.objects.filter(Q(path=path) | under(path)):
                folder.path = moved(folder.path)
                folder.save(update_fields=["path"])
            ingest.ensure_folders(target)
    except IntegrityError:
        raise Conflict(f"Resources already exist under {target}") from None
    return path, target
