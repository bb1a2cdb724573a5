"""Admin API, deleting and restoring resources.

- ``DELETE resources/<resource_type>/<type>`` with ``public_ids[]``, ``prefix`` or ``all=true``
- ``DELETE resources/<resource_type>/tags/<tag>``; ``DELETE resources`` with ``asset_ids[]``
- ``POST resources/<resource_type>/<type>/restore`` with ``public_ids[]`` and ``versions[]``
  (a live asset's backed-up version, or a deleted asset's backup: see assets.backups);
  ``POST resources/restore`` with ``asset_ids[]`` (the asset_id a deleted asset had)
- a deleted asset with backups reads as Cloudinary's placeholder: its resource details
  (by public_id or asset_id) answer ``placeholder: true``, ``bytes: 0``; delivery is a 404
- ``POST resources/<resource_type>/publish_resources`` with ``public_ids[]``, ``prefix`` or
  ``tag``: private/authenticated assets (``type`` narrows to one) become ``upload``
- ``POST resources/<resource_type>/<type>/update_access_mode`` (``access_mode`` public or
  authenticated, by ``public_ids[]``, ``prefix`` or ``tag``)

A delete call removes at most ``DELETE_CAP`` assets; when more match, the answer says
``"partial": true`` with a ``next_cursor`` to call again with. ``keep_original=true``
drops only the derived images. Parameters may come as JSON, a form or a query string.
"""

from __future__ import annotations

from django.db import transaction
from rest_framework.response import Response

from core.errors import BadRequest, Conflict, NotFound

from .. import backups
from ..hooks import hook
from ..links import delivery_urls
from ..models import Asset, DeletedBackup
from . import admin_base as base
from .admin_resources import (ResourceByAssetIdView, ResourceListView, ResourcesByTagView, ResourceTypesView,
                              ResourceView, detail_json)
from .params import as_bool
from .serialize import context_json, iso
from .upload import delete_assets, rename_asset

DELETE_CAP = 1000
PUBLISH_CAP = 1000  # assets per publish_resources or update_access_mode call


def delete_response(queryset, params: dict, requested: list[str] | None = None, key: str = "public_id"):
    """Delete what ``queryset`` selects, at most DELETE_CAP per call, in Cloudinary's answer shape."""
    as_bool(params.get("invalidate"), False, "invalidate")  # accepted: derived files go with the asset
    keep_original = as_bool(params.get("keep_original"), False, "keep_original")
    rows, cursor = base.keyset_page(queryset.order_by("id"), params, "del", "id", DELETE_CAP)
    deleted: dict[str, str] = {}
    counts: dict[str, dict] = {}
    with transaction.atomic():
        for asset in rows:
            name = getattr(asset, key)
            if keep_original:
                counts[name] = {"original": 0, "derived": hook("renderings").delete_derived_for_asset(asset)}
            else:
                derived = hook("renderings").count_for_asset(asset)
                delete_assets(Asset.objects.filter(pk=asset.pk))
                counts[name] = {"original": 1, "derived": derived}
            deleted[name] = "deleted"
    for name in requested or []:
        if name not in deleted:
            deleted[name] = "not_found"
    body = {"deleted": deleted, "deleted_counts": counts, "partial": cursor is not None}
    if cursor:
        body["next_cursor"] = cursor
    return body


class ResourcesView(ResourceListView):
    """``GET|DELETE resources/<resource_type>[/<type>]``."""

    def delete(self, request, cloud_name: str, resource_type: str, type: str | None = None):
        params = self.params
        base.check_resource_type(resource_type)
        type_ = base.check_type(type or params.get("type") or "upload")
        queryset = Asset.objects.filter(resource_type=resource_type)
        public_ids = base.id_list(params.get("public_ids"))
        prefix = str(params.get("prefix") or "")
        if public_ids and params.get("transformations"):
            return Response(delete_derived_by_transformation(
                queryset.filter(type=type_, public_id__in=public_ids), params, public_ids))
        if public_ids:
            return Response(delete_response(queryset.filter(type=type_, public_id__in=public_ids), params,
                                            public_ids))
        if prefix:
            return Response(delete_response(queryset.filter(base.prefix_q("public_id", prefix), type=type_),
                                            params))
        if as_bool(params.get("all"), False, "all"):
            return Response(delete_response(base.of_type(queryset, type_), params))
        raise BadRequest("Missing required parameter - public_ids, prefix or all")


def delete_derived_by_transformation(queryset, params: dict, requested: list[str]) -> dict:
    """``delete_derived_by_transformation``: drop the named renderings, keep the originals."""
    transformations = [t for t in str(params["transformations"]).split("|") if t]
    deleted: dict[str, str] = {name: "not_found" for name in requested}
    counts: dict[str, dict] = {}
    with transaction.atomic():
        for asset in queryset:
            count = hook("renderings").delete_derived_by_transformation(asset, transformations)
            deleted[asset.public_id] = "deleted"
            counts[asset.public_id] = {"original": 0, "derived": count}
    return {"deleted": deleted, "deleted_counts": counts, "partial": False}


class DerivedResourcesView(base.AdminView):
    """``DELETE derived_resources`` with ``derived_resource_ids[]``."""

    def delete(self, request, cloud_name: str):
        ids = [str(i) for i in base.id_list(self.params.get("derived_resource_ids"), "derived_resource_ids")]
        if not ids:
            raise BadRequest("Missing required parameter - derived_resource_ids")
        with transaction.atomic():
            renderings = hook("renderings")
            found = renderings.existing_ids(ids)
            renderings.delete_derived(list(found))
        return Response({"deleted": {i: "deleted" if i in found else "not_found" for i in ids}, "partial": False})


class ResourcesRootView(ResourceTypesView):
    """``GET resources`` (the resource types) and ``DELETE resources`` with ``asset_ids[]``."""

    def delete(self, request, cloud_name: str):
        asset_ids = base.id_list(self.params.get("asset_ids"), "asset_ids")
        if not asset_ids:
            raise BadRequest("Missing required parameter - asset_ids")
        return Response(delete_response(Asset.objects.filter(asset_id__in=asset_ids), self.params, asset_ids,
                                        key="asset_id"))


class ResourcesByTagAndDeleteView(ResourcesByTagView):
    """``GET|DELETE resources/<resource_type>/tags/<tag>``."""

    def delete(self, request, cloud_name: str, resource_type: str, tag: str):
        base.check_resource_type(resource_type)
        queryset = Asset.objects.filter(resource_type=resource_type, tags__name=tag)
        return Response(delete_response(queryset, self.params))


# --- restore ---------------------------------------------------------------------------


def restore_response(request, resource_type: str, type_: str, params: dict):
    base.check_resource_type(resource_type)
    base.check_type(type_)
    public_ids = base.id_list(params.get("public_ids"), limit=100)
    if not public_ids:
        raise BadRequest("Missing required parameter - public_ids")
    wanted = set(base.id_list(params.get("versions"), "versions", limit=100))
    body = {}
    for public_id in public_ids:
        restored = backups.restore(resource_type, type_, public_id, wanted)
        body[public_id] = {"error": "no_backup"} if restored is None else detail_json(restored, request, {})
    return Response(body)


def restore_by_asset_ids_response(request, params: dict):
    asset_ids = base.id_list(params.get("asset_ids"), "asset_ids", limit=100)
    if not asset_ids:
        raise BadRequest("Missing required parameter - asset_ids")
    wanted = set(base.id_list(params.get("versions"), "versions", limit=100))
    body = {}
    for asset_id in asset_ids:
        live = Asset.objects.filter(asset_id=asset_id).values_list("resource_type", "type", "public_id").first()
        if live is None:
            live = (DeletedBackup.objects.filter(asset_id=asset_id).order_by("-deleted_at", "-version")
                    .values_list("resource_type", "type", "public_id").first())
        restored = backups.restore(*live, wanted) if live else None
        body[asset_id] = {"error": "no_backup"} if restored is None else detail_json(restored, request, {})
    return Response(body)


def placeholder_json(rows: list[DeletedBackup], request) -> dict:
    """A deleted asset's backups as Cloudinary's placeholder resource: no bytes, no size,
    ``placeholder: true``; ``versions`` lists what restore can bring back."""
    newest = rows[0]
    shell = Asset(resource_type=newest.resource_type, type=newest.type, public_id=newest.public_id,
                  version=newest.version, format=newest.format)
    url, secure_url = delivery_urls(shell, request)
    folder = newest.public_id.rpartition("/")[0]
    data = {
        "asset_id": newest.asset_id, "public_id": newest.public_id, "format": newest.format,
        "version": newest.version, "resource_type": newest.resource_type, "type": newest.type,
        "created_at": iso(newest.created_at), "bytes": 0, "width": 0, "height": 0, "folder": folder,
        "asset_folder": folder, "display_name": newest.public_id.rsplit("/", 1)[-1], "access_mode": "public",
        "url": url, "secure_url": secure_url, "tags": list(newest.tags or []), "version_id": newest.version_id,
        "etag": newest.etag, "placeholder": True, "original_filename": newest.original_filename,
        "backup_bytes": sum(r.bytes for r in rows), "derived": [],
        "versions": [{"version_id": r.version_id, "version": r.version, "format": r.format, "size": r.bytes,
                      "time": iso(r.created_at), "restorable": True} for r in rows],
    }
    if newest.context:
        data["context"] = context_json(newest.context)
    return data


def deleted_rows(**identity) -> list[DeletedBackup]:
    return list(DeletedBackup.objects.filter(**identity).order_by("-version", "-id")[:100])


class ResourceAndRestoreView(ResourceView):
    """``GET|POST resources/<resource_type>/<type>/<public_id>``, where a POST to
    ``.../restore`` is restore; a deleted asset with backups reads as a placeholder."""

    def get(self, request, cloud_name: str, resource_type: str, type: str, public_id: str):
        try:
            return super().get(request, cloud_name, resource_type, type, public_id)
        except NotFound:
            rows = deleted_rows(resource_type=resource_type, type=type, public_id=public_id)
            if not rows:
                raise
        return Response(placeholder_json(rows, request))

    def post(self, request, cloud_name: str, resource_type: str, type: str, public_id: str):
        if public_id == "restore":
            return restore_response(request, resource_type, type, self.params)
        if public_id == "update_access_mode":
            return update_access_mode_response(resource_type, type, self.params)
        return super().post(request, cloud_name, resource_type, type, public_id)


class ResourceByAssetIdOrPlaceholderView(ResourceByAssetIdView):
    """``GET|POST resources/<asset_id>``; a deleted asset with backups reads as a placeholder."""

    def get(self, request, cloud_name: str, asset_id: str):
        try:
            return super().get(request, cloud_name, asset_id)
        except NotFound:
            rows = deleted_rows(asset_id=asset_id)
            if not rows:
                raise
        return Response(placeholder_json(rows, request))


class RestoreByAssetIdsView(base.AdminView):
    """``POST resources/restore`` with ``asset_ids[]`` (and ``versions[]``)."""

    def post(self, request, cloud_name: str):
        return restore_by_asset_ids_response(request, self.params)


# --- access mode -----------------------------------------------------------------------

ACCESS_MODES = ("public", "authenticated")


def _chosen(queryset, params: dict) -> tuple:
    """``queryset`` narrowed to the assets ``public_ids``, ``prefix`` or ``tag`` name (in that
    order of precedence), and the public_ids asked for; a 400 when none is given."""
    public_ids = base.id_list(params.get("public_ids"), limit=PUBLISH_CAP)
    prefix, tag = str(params.get("prefix") or ""), str(params.get("tag") or "")
    if public_ids:
        return queryset.filter(public_id__in=public_ids), public_ids
    if prefix:
        return queryset.filter(base.prefix_q("public_id", prefix)), public_ids
    if tag:
        return queryset.filter(tags__name=tag), public_ids
    raise BadRequest("Missing required parameter - public_ids, prefix or tag")


def update_access_mode_response(resource_type: str, type_: str, params: dict):
    """``POST resources/<resource_type>/<type>/update_access_mode`` with ``access_mode`` and
    ``public_ids[]``, ``prefix`` or ``tag``: ``{updated: [{public_id, access_mode}], failed}``.
    The value lives in ``Asset.access_mode``."""
    base.check_resource_type(resource_type)
    base.check_type(type_)
    mode = str(params.get("access_mode") or "")
    if mode not in ACCESS_MODES:
        raise BadRequest(f"Invalid access_mode {mode!r}: must be public or authenticated")
    queryset, public_ids = _chosen(Asset.objects.filter(resource_type=resource_type, type=type_), params)
    with transaction.atomic():
        rows = list(queryset.order_by("id").values_list("pk", "public_id")[:PUBLISH_CAP])
        Asset.objects.filter(pk__in=[pk for pk, _ in rows]).update(access_mode=mode)
    updated = [{"public_id": name, "access_mode": mode} for _, name in rows]
    found = {name for _, name in rows}
    failed = [{"public_id": name, "error": "not_found"} for name in public_ids if name not in found]
    return Response({"updated": updated, "failed": failed})


# --- publish ---------------------------------------------------------------------------


class PublishResourcesView(base.AdminView):
    """``POST resources/<resource_type>/publish_resources``: private or authenticated assets
    (``type``: only that one) chosen by ``public_ids``, ``prefix`` or ``tag`` become
    ``upload`` (public delivery). An asset already at upload with that public_id makes it
    fail unless ``overwrite=true``. At most PUBLISH_CAP per call."""

    def post(self, request, cloud_name: str, resource_type: str):
        params = self.params
        base.check_resource_type(resource_type)
        from_types = ["private", "authenticated"]
        if params.get("type"):
            type_ = base.check_type(str(params["type"]))
            from_types = [type_] if type_ in from_types else []
        overwrite = as_bool(params.get("overwrite"), False, "overwrite")
        as_bool(params.get("invalidate"), False, "invalidate")  # accepted: nothing is cached at a CDN
        queryset, public_ids = _chosen(Asset.objects.filter(resource_type=resource_type, type__in=from_types), params)
        published, failed = [], []
        for asset in queryset.order_by("id")[:PUBLISH_CAP]:
            try:
                moved = rename_asset(asset, asset.public_id, to_type="upload", overwrite=overwrite)
            except Conflict as exc:
                failed.append({"public_id": asset.public_id, "type": asset.type, "error": exc.message})
                continue
            published.append({"public_id": moved.public_id, "asset_id": moved.asset_id, "type": "upload",
                              "resource_type": moved.resource_type, "url": delivery_urls(moved, request)[0],
                              "secure_url": delivery_urls(moved, request)[1]})
        done = {p["public_id"] for p in published} | {f["public_id"] for f in failed}
        for public_id in public_ids:
            if public_id not in done:
                failed.append({"public_id": public_id, "error": "not_found"})
        return Response({"published": published, "failed": failed})
