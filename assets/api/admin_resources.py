"""Admin API, reading and updating resources.

- ``GET resources`` -> the resource types
- ``GET resources/<resource_type>[/<type>]``: list (prefix, start_at, direction,
  max_results, next_cursor, tags, context) or, with ``public_ids[]``, by ids
- ``GET resources/<resource_type>/tags/<tag>``, ``GET resources/<resource_type>/context``
- ``GET resources/by_asset_ids``, ``GET resources/<asset_id>``
- ``GET|POST resources/<resource_type>/<type>/<public_id>``: details, update

Listings are keyset-paginated (no OFFSET): by id, which follows creation order, or
by public_id when a prefix is given. The cursor is opaque and stable under inserts.
"""

from __future__ import annotations

from django.db import connection
from django.db.models import Q, Sum
from django.db.models.fields.json import KeyTransform
from rest_framework.response import Response

from core.errors import BadRequest, NotFound

from .. import focus, imagemeta, ingest, links, phash
from ..hooks import hook
from ..models import Asset, AssetVersion
from . import admin_base as base
from .admin_base import AdminView
from .params import apply_metadata, as_bool, parse_moment
from .serialize import iso, requested_fields, resource_json, select_fields


# --- listing ---------------------------------------------------------------------------


def list_rows(rows, request, params: dict) -> list[dict]:
    """Resource JSON for a listing: tags (``[]`` too) and context only when asked for;
    with ``fields=``, only those and the identity keys."""
    with_tags = as_bool(params.get("tags"), False, "tags")
    with_context = as_bool(params.get("context"), False, "context")
    fields = requested_fields(params)
    out = []
    for asset in rows:
        data = resource_json(asset, request)
        if fields is not None:
            out.append(select_fields(data, fields, asset))
            continue
        if with_tags:
            data["tags"] = asset.tag_names
        else:
            data.pop("tags", None)
        if not with_context:
            data.pop("context", None)
        out.append(data)
    return out


def paginated(queryset, request, params: dict, *, by_public_id: bool = False, default_desc: bool = True):
    """``{"resources": [...], "next_cursor": ...}`` for one keyset page of ``queryset``."""
    limit = base.max_results(params)
    desc = base.descending(params, default_desc)
    kind = f"{'pid' if by_public_id else 'id'}:{'d' if desc else 'a'}"
    position = base.decode_cursor(params.get("next_cursor"), kind)
    op = "lt" if desc else "gt"
    if by_public_id:
        order = ["-public_id", "-id"] if desc else ["public_id", "id"]
        if position is not None:
            try:
                after_pid, after_id = str(position[0]), int(position[1])
            except (TypeError, ValueError, IndexError):
                raise BadRequest("Invalid next_cursor") from None
            queryset = queryset.filter(Q(**{f"public_id__{op}": after_pid})
                                       | Q(public_id=after_pid, **{f"id__{op}": after_id}))
    else:
        order = ["-id"] if desc else ["id"]
        if position is not None:
            if not isinstance(position, int):
                raise BadRequest("Invalid next_cursor")
            queryset = queryset.filter(**{f"id__{op}": position})
    rows, more = base.page(queryset.order_by(*order).prefetch_related("tags"), limit)
    body = {"resources": list_rows(rows, request, params)}
    if more and rows:
        last = rows[-1]
        body["next_cursor"] = base.encode_cursor(kind, [last.public_id, last.id] if by_public_id else last.id)
    return body


def by_ids(queryset, request, params: dict, field: str, ids: list[str]) -> dict:
    found = {getattr(a, field): a for a in queryset.filter(**{f"{field}__in": ids}).prefetch_related("tags")}
    return {"resources": list_rows([found[i] for i in ids if i in found], request, params)}


class ResourceTypesView(AdminView):
    def get(self, request, cloud_name: str):
        return Response({"resource_types": sorted(set(Asset.objects.values_list("resource_type", flat=True)))})


class ResourceListView(AdminView):
    """``GET resources/<resource_type>[/<type>]`` (and ``by_asset_ids``, ``by_asset_folder``)."""

    def get(self, request, cloud_name: str, resource_type: str, type: str | None = None):
        params = self.params
        if resource_type == "by_asset_ids" and type is None:
            ids = base.id_list(params.get("asset_ids"), "asset_ids", 500)
            if not ids:
                raise BadRequest("Missing required parameter - asset_ids")
            return Response(by_ids(Asset.objects.all(), request, params, "asset_id", ids))
        if resource_type == "by_asset_folder" and type is None:
            folder = ingest.validate_folder(str(params.get("asset_folder") or ""))
            return Response(paginated(Asset.objects.filter(folder=folder), request, params))
        base.check_resource_type(resource_type)
        queryset = Asset.objects.filter(resource_type=resource_type)
        if type is not None:
            base.check_type(type)
        public_ids = base.id_list(params.get("public_ids"), "public_ids", 500)
        if public_ids:
            return Response(by_ids(queryset.filter(type=type or "upload"), request, params, "public_id", public_ids))
        start_at = parse_moment(params["start_at"]) if params.get("start_at") not in (None, "") else None
        if start_at is not None:  # ISO, or as the Node SDK sends a Date: its toString()
            queryset = queryset.filter(created_at__gte=start_at)
        prefix = str(params.get("prefix") or "")
        if prefix:
            if type is not None:
                queryset = queryset.filter(type=type)
            return Response(paginated(queryset.filter(base.prefix_q("public_id", prefix)), request, params,
                                      by_public_id=True, default_desc=False))
        if type is not None:
            queryset = base.of_type(queryset, type)
        return Response(paginated(queryset, request, params))


class ResourcesByTagView(AdminView):
    """``GET resources/<resource_type>/tags/<tag>``; DELETE lives in admin_delete."""

    def get(self, request, cloud_name: str, resource_type: str, tag: str):
        base.check_resource_type(resource_type)
        queryset = Asset.objects.filter(resource_type=resource_type, tags__name=tag)
        return Response(paginated(queryset, request, self.params))


class ResourcesByContextView(AdminView):
    def get(self, request, cloud_name: str, resource_type: str):
        base.check_resource_type(resource_type)
        key = self.params.get("key")
        if not key:
            raise BadRequest("Missing required parameter - key")
        key = str(key)
        if connection.vendor == "sqlite" and ('"' in key or "\\" in key):
            # SQLite's JSON paths cannot quote these; answer plainly rather than wrongly.
            raise BadRequest(f"Context key {key!r} cannot be searched: it contains '\"' or '\\'")
        queryset = Asset.objects.filter(resource_type=resource_type, context__has_key=key)
        value = self.params.get("value")
        if value is not None:
            queryset = queryset.alias(_ctx=KeyTransform(key, "context")).filter(_ctx=str(value))
        return Response(paginated(queryset, request, self.params))


# --- one resource ------------------------------------------------------------------------


def versions_json(asset: Asset) -> list[dict]:
    return [
        {"version_id": v.version_id, "version": v.version, "format": v.format, "size": v.bytes,
         "time": iso(v.created_at), "restorable": bool(v.backed_up and v.storage_name)}
        for v in AssetVersion.objects.filter(asset=asset).order_by("-version", "-id")
    ]


def backup_bytes(asset: Asset) -> int:
    total = (AssetVersion.objects.filter(asset=asset, backed_up=True).exclude(storage_name="")
             .aggregate(total=Sum("bytes"))["total"])
    return int(total or 0)


def detail_flags(params: dict) -> dict[str, bool]:
    """The detail answer's options; an update reads them before it writes (a bad one is a
    400 with nothing changed)."""
    return {name: as_bool(params.get(name), False, name) for name in ("versions", "faces", "coordinates",
                                                                          "image_metadata", "colors", "phash")}


def detail_json(asset: Asset, request, params: dict) -> dict:
    flags = detail_flags(params)
    data = resource_json(asset, request)  # empty tags and context left out (the SDKs' tests check)
    data["backup_bytes"] = backup_bytes(asset)
    data["derived"] = hook("renderings").derived_for_asset(asset, request)
    if flags["versions"]:
        data["versions"] = versions_json(asset)
    faces = asset.face_coordinates or []
    if (flags["faces"] or flags["coordinates"]) and asset.resource_type == "image":  # detected now if not yet
        faces = hook("faces").ensure(asset)
    if flags["faces"]:
        data["faces"] = faces
    if flags["coordinates"]:
        data["coordinates"] = {"faces": faces, "custom": asset.custom_coordinates or []}
    if flags["image_metadata"] or flags["colors"]:
        meta = imagemeta.for_asset(asset) or {}
        if flags["image_metadata"]:  # Cloudinary's: EXIF tag names, values as text
            data["image_metadata"] = imagemeta.as_image_metadata(meta)
        if flags["colors"]:
            data["colors"] = meta.get("colors", [])
    if asset.regions:  # always, as Cloudinary lists them: [{"name": ..., "values": [[x, y], ...]}]
        data["regions"] = focus.regions_as_list(asset.regions)
    if (asset.info or {}).get("background_removal"):  # status and confidence of the legacy add-on
        data["info"] = {"background_removal": asset.info["background_removal"]}
    refined = hook("refiners").revisions(asset)
    if refined:  # e.g. the Background Removal Refiner's mask (refiners.views has its strokes)
        data["refiners"] = refined
    if flags["phash"]:
        value = phash.for_asset(asset)
        if value is not None:
            data["phash"] = value
    return select_fields(data, requested_fields(params), asset)


def get_asset(resource_type: str, type_: str, public_id: str) -> Asset:
    base.check_resource_type(resource_type)
    base.check_type(type_)
    asset = Asset.objects.filter(resource_type=resource_type, type=type_, public_id=public_id).first()
    if asset is None:
        raise NotFound(f"Resource not found - {public_id}")
    return asset


def update_asset(asset: Asset, params: dict) -> None:
    """Apply an Admin API update: tags replace, context replaces, coordinates and regions
    replace (clipped to the image, one focus-areas revision with source "update")."""
    detail_flags(params)  # the answer's options: a bad one is refused before anything is written
    folder = params.get("asset_folder")
    if folder not in (None, "") and ingest.validate_folder(str(folder)) != asset.folder:
        raise BadRequest("asset_folder cannot be changed here: an asset's folder follows its public_id; "
                         "rename the asset instead")
    apply_metadata(asset, params, source="update")


class ResourceView(AdminView):
    """``GET|POST resources/<resource_type>/<type>/<public_id>`` (``.../restore`` is
    admin_delete.ResourceAndRestoreView's)."""

    def get(self, request, cloud_name: str, resource_type: str, type: str, public_id: str):
        asset = get_asset(resource_type, type, public_id)
        return Response(detail_json(asset, request, self.params))

    def post(self, request, cloud_name: str, resource_type: str, type: str, public_id: str):
        asset = get_asset(resource_type, type, public_id)
        removal = self.params.get("background_removal")
        legacy = hook("background_removal")
        if removal:  # legacy: the asset is replaced by the cut-out PNG once a worker is done
            legacy.check(removal)
        update_asset(asset, self.params)
        asset.refresh_from_db()
        if removal:
            legacy.request(asset, removal, self.params.get("notification_url"), self.credential.key,
                           links.base_url(request))
        return Response(detail_json(asset, request, self.params))


class ResourceByAssetIdView(AdminView):
    def get(self, request, cloud_name: str, asset_id: str):
        asset = Asset.objects.filter(asset_id=asset_id).first()
        if asset is None:
            raise NotFound(f"Resource not found - {asset_id}")
        return Response(detail_json(asset, request, self.params))

    def post(self, request, cloud_name: str, asset_id: str):
        asset = Asset.objects.filter(asset_id=asset_id).first()
        if asset is None:
            raise NotFound(f"Resource not found - {asset_id}")
        update_asset(asset, self.params)
        asset.refresh_from_db()
        return Response(detail_json(asset, request, self.params))

