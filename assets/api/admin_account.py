"""Admin API, account-wide reads: ``GET ping``, ``GET config``, ``GET usage[/<date>]``, ``GET tags/<resource_type>``."""

from __future__ import annotations

from django.conf import settings
from django.db.models import Sum
from django.utils import timezone
from rest_framework.response import Response

from ..hooks import hook
from ..models import ApiKey, Asset, AssetTag, AssetVersion, DeletedBackup
from . import admin_base as base
from .admin_base import AdminView
from .params import as_bool

PLAN = "Self-hosted"


class PingView(AdminView):
    def get(self, request, cloud_name: str):
        return Response({"status": "ok"})


class ConfigView(AdminView):
    """``GET config``: the cloud name and when the installation began (its first API key);
    ``settings=true`` adds ``settings`` (folders are fixed: the public_id's path is its folder)."""

    def get(self, request, cloud_name: str):
        first = ApiKey.objects.order_by("created_at").values_list("created_at", flat=True).first()
        body = {"cloud_name": settings.DAM_CLOUD_NAME,
                "created_at": (first or timezone.now()).strftime("%Y-%m-%dT%H:%M:%SZ")}
        if as_bool(self.params.get("settings"), False, "settings"):
            body["settings"] = {"folder_mode": "fixed"}
        return Response(body)


def usage_json() -> dict:
    resources = Asset.objects.count()
    # Every stored file is a version row with a storage name (current originals and backups)
    # or the backup of a deleted asset.
    stored = AssetVersion.objects.exclude(storage_name="").aggregate(total=Sum("bytes"))["total"] or 0
    stored += DeletedBackup.objects.aggregate(total=Sum("bytes"))["total"] or 0
    derived = hook("renderings").derived_totals()
    now = timezone.now()
    storage = int(stored) + derived["bytes"]
    return {
        "plan": PLAN,
        "last_updated": now.strftime("%Y-%m-%d"),
        "date_requested": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "transformations": {"usage": derived["count"], "credits_usage": 0},
        "objects": {"usage": resources + derived["count"]},
        "bandwidth": {"usage": 0, "credits_usage": 0},
        "storage": {"usage": storage, "credits_usage": 0},
        "credits": {"usage": 0},
        "requests": 0,
        "resources": resources,
        "derived_resources": derived["count"],
        "media_limits": {
            "image_max_size_bytes": settings.DAM_MAX_UPLOAD_BYTES,
            "image_max_px": settings.DAM_MAX_IMAGE_PIXELS,
            "max_image_megapixels": settings.DAM_MAX_IMAGE_PIXELS // 1_000_000,
        },
    }


class UsageView(AdminView):
    """Current totals; a ``/<date>`` suffix is accepted and answered with today's numbers."""

    def get(self, request, cloud_name: str, date: str | None = None):
        return Response(usage_json())


class TagsView(AdminView):
    """Distinct tag names in name order, keyset-paginated on the name itself."""

    def get(self, request, cloud_name: str, resource_type: str):
        base.check_resource_type(resource_type)
        params = self.params
        limit = base.max_results(params)
        names = AssetTag.objects.all()
        if resource_type != "image" or Asset.objects.exclude(resource_type="image").exists():
            names = names.filter(asset__resource_type=resource_type)  # the join only when it can matter
        prefix = str(params.get("prefix") or "")
        if prefix:
            names = names.filter(base.prefix_q("name", prefix))
        names = names.order_by("name").values_list("name", flat=True).distinct()
        rows, cursor = base.keyset_page(names, params, "tag", "name", limit, flat=True)
        body = {"tags": list(rows)}
        if cursor:
            body["next_cursor"] = cursor
        return Response(body)
