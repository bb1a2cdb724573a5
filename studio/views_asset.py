"""The asset page: preview, metadata, tags and context (htmx partial updates), versions
and backups with restore, derived images with delete, copyable delivery URLs."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.db import transaction
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from assets import backups, focus, imagemeta, ingest, metadata
from assets.tasks import request_image_metadata
from assets.models import Asset, AssetVersion, DeletedBackup
from core.errors import BadRequest
from transforms import derived_api
from transforms.derived_api import derived_for_asset

from . import downloads, links
from .forms import ContextForm, TagsForm
from .roles import has_role, requires


class AltForm(forms.Form):
    alt = forms.CharField(required=False, label="Alt text", strip=True,
                          help_text="Describe the image for people who can't see it; leave empty for decorative images.",
                          widget=forms.Textarea(attrs={"rows": 2}))

    def clean_alt(self):
        return " ".join(self.cleaned_data["alt"].split())  # one line: it becomes an alt attribute


ORIENTATIONS = {1: "Normal", 2: "Mirrored", 3: "Rotated 180°", 4: "Mirrored vertically",
                5: "Mirrored, rotated 90° left", 6: "Rotated 90° right", 7: "Mirrored, rotated 90° right",
                8: "Rotated 90° left"}


def metadata_rows(data: dict | None) -> dict | None:
    """The Metadata card's lines from assets.imagemeta's dict: ``{"exif": [(label, value)],
    "image": [(label, value)], "colors": [[hex, percent]], "gps": bool}``."""
    if data is None or data.get("unreadable"):
        return None
    exif = data.get("exif") or {}
    rows = []
    camera = " ".join(str(exif[k]) for k in ("Make", "Model") if exif.get(k))
    if camera:
        rows.append(("Camera", camera))
    if exif.get("LensModel"):
        rows.append(("Lens", exif["LensModel"]))
    exposure = [imagemeta.exposure_text(exif.get("ExposureTime"))]
    if isinstance(exif.get("FNumber"), (int, float)):
        exposure.append(f"f/{exif['FNumber']:g}")
    if any(exposure):
        rows.append(("Exposure", ", ".join(e for e in exposure if e)))
    if isinstance(exif.get("FocalLength"), (int, float)):
        rows.append(("Focal length", f"{exif['FocalLength']:g} mm"))
    if exif.get("ISOSpeedRatings"):
        iso = exif["ISOSpeedRatings"]
        rows.append(("ISO", str(iso[0] if isinstance(iso, list) and iso else iso)))
    taken = exif.get("DateTimeOriginal") or exif.get("DateTime")
    if isinstance(taken, str):
        date, _, time = taken.partition(" ")
        rows.append(("Date taken", f"{date.replace(':', '-')} {time}".strip()))
    gps = "GPSLatitude" in exif and "GPSLongitude" in exif
    if gps:
        rows.append(("GPS", f"{exif['GPSLatitude']:.5f}, {exif['GPSLongitude']:.5f}"))
    image = [("Orientation", ORIENTATIONS.get(data.get("orientation") or 1, str(data.get("orientation"))))]
    if data.get("colorspace"):
        image.append(("Colour space", str(data["colorspace"]).upper() if data["colorspace"] in ("srgb", "rgb", "cmyk")
                      else str(data["colorspace"])))
    image.append(("ICC profile", data.get("icc_profile") or "None embedded"))
    if data.get("bit_depth"):
        image.append(("Bit depth", f"{data['bit_depth']} bits per channel"))
    image.append(("Transparency", "Has an alpha channel" if data.get("has_alpha") else "No alpha channel"))
    return {"exif": rows, "image": image, "colors": data.get("colors") or [], "gps": gps}


def metadata_card(asset: Asset) -> dict:
    """The Metadata card's context: ``meta_card`` (shown: images only), ``meta_pending`` (the
    worker has not read the file yet: queued, the card says to reload) and ``meta``."""
    if not imagemeta.has_metadata(asset):
        return {"meta_card": False}
    data = imagemeta.cached(asset)
    if data is None:
        request_image_metadata(asset, from_page=True)
    return {"meta_card": True, "meta_pending": data is None, "meta": metadata_rows(data)}


def _asset(asset_id: str) -> Asset:
    return get_object_or_404(Asset, asset_id=asset_id)


def _context_text(asset: Asset) -> str:
    return "\n".join(f"{k}={v}" for k, v in (asset.context or {}).items())


def focus_overlay(asset: Asset) -> dict | None:
    """The asset's faces, custom boxes and regions as the preview's SVG overlay draws them
    (pixels of the original: the SVG's viewBox is the original's size); None when none."""
    faces, custom, regions = asset.face_coordinates or [], asset.custom_coordinates or [], asset.regions or {}
    if not (faces or custom or regions) or not asset.width or not asset.height:
        return None
    shapes = []
    for name, points in regions.items():
        if len(points) == 2:
            x, y, w, h = focus.region_box(points)
            shapes.append({"name": name, "box": [x, y, w, h]})
        else:
            shapes.append({"name": name, "points": " ".join(f"{p[0]},{p[1]}" for p in points)})
    return {"faces": faces, "custom": custom, "regions": shapes,
            "summary": f"{len(faces)} face{'s' if len(faces) != 1 else ''}, {len(custom)} custom, "
                       f"{len(regions)} region{'s' if len(regions) != 1 else ''}"}


def page_context(request, asset: Asset, **extra) -> dict:
    url, secure_url = links.urls(asset, request)
    folder = asset.folder
    return {
        "asset": asset,
        "tags": asset.tag_names,
        "preview": links.preview(asset),
        "focus": focus_overlay(asset),
        "original": links.path(asset),
        "url": url,
        "secure_url": secure_url,
        "versions": list(AssetVersion.objects.filter(asset=asset).order_by("-version", "-id")),
        "derived": [d for d in derived_for_asset(asset, request) if not links.is_ui_transformation(d["transformation"])],
        **metadata_card(asset),
        "alt_text": (asset.context or {}).get("alt", ""),
        "alt_form": extra.pop("alt_form", None) or AltForm(initial={"alt": (asset.context or {}).get("alt", "")}),
        "can_edit": has_role(request.user, "editor"),
        "tags_form": extra.pop("tags_form", None) or TagsForm(initial={"tags": ", ".join(asset.tag_names)}),
        "context_form": extra.pop("context_form", None) or ContextForm(initial={"context": _context_text(asset)}),
        "library_url": reverse("library-folder", args=[folder]) if folder else reverse("library"),
        "download_formats": downloads.FORMATS,
        **extra,
    }


@requires("viewer")
@require_GET
def asset_page(request, asset_id: str):
    asset = _asset(asset_id)
    return render(request, "studio/asset.html", page_context(request, asset))


def _partial_or_page(request, asset, partial: str, ok: bool, **extra):
    """htmx: the block alone (422 when invalid, so the page can tell); else the page
    after a redirect, or the page with the form's errors."""
    if request.htmx:
        context = page_context(request, asset, **extra)
        return render(request, partial, context, status=200 if ok else 422)
    if ok:
        return redirect("asset", asset_id=asset.asset_id)
    return render(request, "studio/asset.html", page_context(request, asset, **extra), status=422)


@requires("editor")
@require_POST
def edit_tags(request, asset_id: str):
    asset = _asset(asset_id)
    form = TagsForm(request.POST)
    if form.is_valid():
        with transaction.atomic():
            ingest.set_tags(asset, form.cleaned_data["tags"])
        asset.refresh_from_db()
        return _partial_or_page(request, asset, "studio/partials/tags.html", True, saved="tags")
    return _partial_or_page(request, asset, "studio/partials/tags.html", False, tags_form=form)


@requires("editor")
@require_POST
def edit_context(request, asset_id: str):
    asset = _asset(asset_id)
    if "alt" in request.POST and "context" not in request.POST:
        return _edit_alt(request, asset)
    form = ContextForm(request.POST)
    if form.is_valid():
        asset.context = form.cleaned_data["context"]
        asset.save(update_fields=["context", "updated_at"])
        return _partial_or_page(request, asset, "studio/partials/context.html", True, saved="context")
    return _partial_or_page(request, asset, "studio/partials/context.html", False, context_form=form)


def _edit_alt(request, asset: Asset):
    """The alt-text field: the ``alt`` context value set (or removed when empty), the other
    context entries kept, within assets.metadata's limits."""
    form = AltForm(request.POST)
    if form.is_valid():
        with transaction.atomic():
            asset = Asset.objects.select_for_update().get(pk=asset.pk)
            context = dict(asset.context or {})
            context.pop("alt", None)
            if form.cleaned_data["alt"]:
                context["alt"] = form.cleaned_data["alt"]
            try:
                asset.context = metadata.check_context(context)
            except BadRequest as exc:
                form.add_error("alt", exc.message)
            else:
                asset.save(update_fields=["context", "updated_at"])
    if form.errors:
        asset.refresh_from_db()
        return _partial_or_page(request, asset, "studio/partials/context.html", False, alt_form=form)
    return _partial_or_page(request, asset, "studio/partials/context.html", True, saved="alt")


@requires("editor")
@require_POST
def restore(request, asset_id: str):
    asset = _asset(asset_id)
    version_id = request.POST.get("version_id", "")
    version = AssetVersion.objects.filter(asset=asset, version_id=version_id, backed_up=True).exclude(
        storage_name="").first()
    if version is None:
        messages.error(request, "That version has no backup to restore.")
    elif version.version_id == asset.version_id:
        messages.info(request, "That version is the current one already.")
    else:
        restored = backups.restore(asset.resource_type, asset.type, asset.public_id, {version_id})
        messages.success(request, f"Restored version {version.version} as version {restored.version}.")
    return redirect("asset", asset_id=asset.asset_id)


@requires("editor")
@require_POST
def restore_deleted(request):
    """Bring back a deleted asset from its backup (listed on the Library's trash page)."""
    backup = get_object_or_404(DeletedBackup, version_id=request.POST.get("version_id", ""))
    restored = backups.restore(backup.resource_type, backup.type, backup.public_id, {backup.version_id})
    if restored is None:
        messages.error(request, "That backup could not be restored.")
        return redirect("trash")
    messages.success(request, f"Restored {restored.public_id}.")
    return redirect("asset", asset_id=restored.asset_id)


@requires("viewer")
@require_GET
def trash(request):
    rows = DeletedBackup.objects.order_by("-deleted_at", "-version")[:200]
    return render(request, "studio/trash.html", {"backups": rows, "can_edit": has_role(request.user, "editor")})


@requires("editor")
@require_POST
def delete_derived(request, asset_id: str):
    asset = _asset(asset_id)
    derived_id = request.POST.get("derived_id", "")
    mine = {d["id"] for d in derived_for_asset(asset)}
    if derived_id not in mine:
        ok, notice = False, "That derived image does not belong to this asset (or is gone already)."
    else:
        derived_api.delete_derived([derived_id])
        ok, notice = True, "Deleted the derived image; it is rendered again when next requested."
    if request.htmx:
        return render(request, "studio/partials/derived.html", page_context(request, asset, notice=notice),
                      status=200 if ok else 422)
    (messages.success if ok else messages.error)(request, notice)
    return redirect("asset", asset_id=asset.asset_id)
