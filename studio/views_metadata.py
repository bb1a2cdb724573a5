"""The asset page's Structured metadata card: ``POST assets/<asset_id>/structured-metadata/``
(editors; htmx swaps the card, 422 with the messages when a value is refused)."""

from __future__ import annotations

from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from assets.models import Asset

from . import metadata_form
from .roles import requires
from .views_asset import page_context

CARD = "studio/partials/structured_metadata.html"


@requires("editor")
@require_POST
def edit_structured_metadata(request, asset_id: str):
    asset = get_object_or_404(Asset, asset_id=asset_id)
    posted, errors = metadata_form.save(asset, request.POST)
    status = 422 if errors else 200
    extra = {"md_posted": posted if errors else None, "md_errors": errors, "saved": "" if errors else "structured"}
    if request.htmx:
        return render(request, CARD, {"asset": asset, "can_edit": True, **extra}, status=status)
    if not errors:
        return redirect("asset", asset_id=asset.asset_id)
    return render(request, "studio/asset.html", page_context(request, asset, **extra), status=status)
