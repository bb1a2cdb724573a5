"""The Search API: ``POST|GET resources/search`` and ``POST|GET folders/search``.

Parameters (a JSON body, a form or a query string): ``expression`` (Cloudinary's
expression language, assets.search), ``sort_by`` (``[{"created_at": "desc"}]``),
``max_results`` (1-500, default 50), ``next_cursor``, ``aggregate`` (format,
resource_type, type), ``with_field`` (tags, context, metadata, image_metadata) and
``fields`` (keep only these keys of each resource). The answer is
``{"total_count", "time", "resources", "next_cursor"?, "aggregations"?}``.
"""

from __future__ import annotations

import hashlib
import time

from django.core import signing
from rest_framework.response import Response

from core.errors import BadRequest

from ..models import AssetVersion
from ..search import folders as folder_search
from ..search import run
from ..search.parser import ExpressionError
from . import bounded_json
from .admin_base import AdminView
from .admin_folders import folder_json
from .params import as_int, check_text
from .serialize import iso, resource_json

WITH_FIELDS = {"tags", "context", "metadata", "image_metadata"}
# Cloudinary's other with_field values: accepted, and nothing is added for them (no such analysis here).
IGNORED_WITH_FIELDS = {"image_analysis", "quality_analysis", "accessibility_analysis", "secure_url", "url",
                       "last_updated", "moderation_status"}
ALWAYS = ("asset_id", "public_id", "asset_folder", "display_name", "type", "resource_type")
MAX_LIST = 50


def name_list(value, name: str) -> list:
    """A parameter that is a list: a JSON list (or JSON text of one), ``key[]`` values or "a,b"."""
    if value in (None, ""):
        return []
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("[") or text.startswith("{"):
            value = bounded_json.loads(text, name)
        else:
            value = [part.strip() for part in text.split(",") if part.strip()]
    if isinstance(value, dict):
        value = [value]
    if not isinstance(value, list) or len(value) > MAX_LIST:
        raise BadRequest(f"Invalid {name}: a list of at most {MAX_LIST} items")
    out = []
    for item in value:
        if isinstance(item, str) and item.strip().startswith("{"):
            item = bounded_json.loads(item, name)
        out.append(item)
    return out


def expression_of(params: dict) -> str:
    expression = params.get("expression") or ""
    if not isinstance(expression, str):
        raise BadRequest("Invalid expression: a string")
    check_text(expression, "expression")
    return expression


def resource(asset, request, with_fields: set, fields: list) -> dict:
    data = resource_json(asset, request)
    if "metadata" in with_fields:
        data["metadata"] = dict(asset.metadata or {})
    if "image_metadata" in with_fields:
        data["image_metadata"] = asset.search_image_metadata or {}
    if fields:
        data = {k: v for k, v in data.items() if k in fields or k in ALWAYS or k in with_fields}
    return data


class ResourcesSearchView(AdminView):
    """``POST|GET resources/search``."""

    def get(self, request, cloud_name: str):
        return self.post(request, cloud_name)

    def post(self, request, cloud_name: str):
        started = time.monotonic()
        params = self.params
        expression = expression_of(params)
        with_fields = {str(f) for f in name_list(params.get("with_field"), "with_field")}
        unknown = with_fields - WITH_FIELDS - IGNORED_WITH_FIELDS
        if unknown:
            raise BadRequest(f"Invalid with_field {sorted(unknown)[0]!r}: one of {', '.join(sorted(WITH_FIELDS))}")
        fields = [str(f) for f in name_list(params.get("fields"), "fields")]
        limit = as_int(params.get("max_results"), run.DEFAULT_RESULTS, "max_results", 1, run.MAX_RESULTS)
        cursor = params.get("next_cursor") or None
        try:
            result = run.search(expression, name_list(params.get("sort_by"), "sort_by"), limit,
                                str(cursor) if cursor else None, name_list(params.get("aggregate"), "aggregate"))
        except run.SearchError as exc:
            raise BadRequest(str(exc)) from None
        if "image_metadata" in with_fields:
            attach_image_metadata(result.rows)
        body = {"total_count": result.total_count, "time": int((time.monotonic() - started) * 1000),
                "resources": [resource(a, request, with_fields, fields) for a in result.rows]}
        if result.aggregations:
            body["aggregations"] = result.aggregations
        if result.next_cursor:
            body["next_cursor"] = result.next_cursor
        return Response(body)


def attach_image_metadata(assets) -> None:
    """Each asset's current version's image_metadata, in one query."""
    by_key = {(v.asset_id, v.version): v.image_metadata for v in AssetVersion.objects.filter(
        asset__in=[a.pk for a in assets]).only("asset_id", "version", "image_metadata")}
    for asset in assets:
        asset.search_image_metadata = by_key.get((asset.pk, asset.version))


class FoldersSearchView(AdminView):
    """``POST|GET folders/search``: folders matching an expression, by path."""

    def get(self, request, cloud_name: str):
        return self.post(request, cloud_name)

    def post(self, request, cloud_name: str):
        started = time.monotonic()
        params = self.params
        expression = expression_of(params)
        limit = as_int(params.get("max_results"), run.DEFAULT_RESULTS, "max_results", 1, run.MAX_RESULTS)
        descending = False
        for item in name_list(params.get("sort_by"), "sort_by"):
            if not isinstance(item, dict) or list(item) not in (["path"], ["name"]):
                raise BadRequest("Invalid sort_by: folders sort by path ({\"path\": \"asc\"|\"desc\"})")
            descending = str(list(item.values())[0]).lower() in ("desc", "-1")
        try:
            rows = folder_search.folders(expression)
        except ExpressionError as exc:
            raise BadRequest(f"Invalid expression {expression!r}: {exc}") from None
        total = rows.count()
        fingerprint = hashlib.sha256(expression.encode()).hexdigest()[:16]
        after = params.get("next_cursor") or None
        if after:
            try:
                position = signing.loads(str(after), salt=run.SALT + ".folders")
            except (signing.BadSignature, ValueError):
                raise BadRequest("Invalid next_cursor") from None
            if not (isinstance(position, list) and len(position) == 3 and position[:2] == [fingerprint, descending]):
                raise BadRequest("Invalid next_cursor: it belongs to another search")
            rows = rows.filter(**{"path__lt" if descending else "path__gt": position[2]})
        found = list(rows.order_by("-path" if descending else "path")[: limit + 1])
        body = {"total_count": total, "time": 0,
                "folders": [dict(folder_json(f.path), created_at=iso(f.created_at)) for f in found[:limit]]}
        if len(found) > limit:
            body["next_cursor"] = signing.dumps([fingerprint, descending, found[limit - 1].path],
                                                    salt=run.SALT + ".folders")
        body["time"] = int((time.monotonic() - started) * 1000)
        return Response(body)
