"""The derived renderings of an asset, in the shapes Cloudinary's Admin API uses.

For the Admin API (``resource`` details list them under ``derived``; ``delete_derived_resources``
removes them by id).  Private and authenticated URLs come signed with the first
active secret.
"""

from __future__ import annotations

from django.conf import settings
from django.db.models import Count, Q, Sum

from assets import keys, links, signing

from .cloudinary.parser import build_path, canonical, signed_part
from .derived import forget
from .models import DerivedImage
from .receivers import drop_derived


def derived_url(asset, row: DerivedImage, request=None) -> tuple[str, str]:
    """(url, secure_url) of a derived rendering."""
    signature = None
    if asset.type != "upload":
        secrets = keys.signing_secrets()
        if secrets:
            to_sign = signed_part(asset.public_id, fmt=row.format, transformation=row.transformation)
            signature = signing.url_signature(to_sign, secrets[0])
    path = build_path(settings.DAM_CLOUD_NAME, asset.public_id, type=asset.type, fmt=row.format,
                      version=asset.version, transformation=row.transformation, signature=signature,
                      resource_type=asset.resource_type)
    base = links.base_url(request)
    url = base + path
    secure = url
    if base.startswith("http://") and (settings.DAM_PUBLIC_BASE_URL or (request is not None and request.is_secure())):
        secure = "https://" + url[len("http://"):]
    return url, secure


def derived_for_asset(asset, request=None) -> list[dict]:
    """``[{"transformation", "format", "bytes", "id", "url", "secure_url"}, ...]`` for the
    current version of `asset`, newest first."""
    rows = DerivedImage.objects.filter(asset_id=asset.pk, version_id=asset.version_id).order_by("-created_at", "-id")
    out = []
    for row in rows:
        url, secure_url = derived_url(asset, row, request)
        out.append({
            "transformation": row.transformation,
            "format": row.format,
            "bytes": row.bytes,
            "id": row.derived_id,
            "url": url,
            "secure_url": secure_url,
        })
    return out


def count_for_asset(asset) -> int:
    return DerivedImage.objects.filter(asset_id=asset.pk, version_id=asset.version_id).count()


def existing_ids(ids) -> set[str]:
    """Which of these derived ``id``s name a stored rendering."""
    return set(DerivedImage.objects.filter(derived_id__in=[str(i) for i in ids]).values_list("derived_id", flat=True))


def delete_derived(ids) -> int:
    """Delete derived renderings by their ``id`` (files go on commit). Returns how many."""
    return forget(DerivedImage.objects.filter(derived_id__in=[str(i) for i in ids]))


def delete_derived_for_asset(asset) -> int:
    return drop_derived(asset)


def derived_totals() -> dict:
    """``{"count": n, "bytes": b}`` over every stored rendering (usage reports)."""
    totals = DerivedImage.objects.aggregate(count=Count("id"), bytes=Sum("bytes"))
    return {"count": int(totals["count"] or 0), "bytes": int(totals["bytes"] or 0)}


def delete_derived_by_transformation(asset, transformations: list[str]) -> int:
    """Delete the asset's renderings of these transformations (``t`` or ``t/<format>``, any
    parameter order). Raises BadRequest for a transformation that does not parse."""
    match = Q(pk__in=[])
    for text in transformations:
        head, _, fmt = text.rpartition("/")
        if head and fmt and "_" not in fmt and "," not in fmt:
            match |= Q(transformation=canonical(head), format=fmt)
        else:
            match |= Q(transformation=canonical(text))
    return forget(DerivedImage.objects.filter(match, asset_id=asset.pk))
