"""Media Library pages: the grid with folders, search, filters, sort and keyset pages;
bulk actions (with a confirmation page before deleting); the browser's upload endpoint."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.views.decorators.http import require_GET, require_POST

from assets.api.upload import upload_for_session
from assets.models import Asset, Collection, UploadPreset
from core.errors import ApiError

from . import actions, library, links, views_collections
from .downloads import MAX_ZIP_ASSETS
from .forms import BulkForm, clean_folder
from .roles import has_role, requires

MAX_BULK = 500


def library_url(folder: str = "", **params) -> str:
    url = reverse("library-folder", args=[folder]) if folder else reverse("library")
    return url + ("?" + urlencode(params) if params else "")


def _breadcrumbs(folder: str) -> list[dict]:
    crumbs, parts = [], folder.split("/") if folder else []
    for i, name in enumerate(parts):
        crumbs.append({"name": name, "url": library_url("/".join(parts[: i + 1]))})
    return crumbs


@requires("viewer")
@require_GET
def library_page(request, folder: str = ""):
    folder = folder.strip("/")
    if folder:
        try:
            folder = clean_folder(folder)
        except Exception:
            raise Http404("No such folder") from None
    query = library.Query.from_request(request, folder)
    result = library.page(query)
    tiles = links.tiles(result.rows)
    context = {
        "query": query,
        "page": result,
        "tiles": tiles,
        "folder": folder,
        "crumbs": _breadcrumbs(folder),
        "here": library_url(folder, **query.params()),
        "first_url": library_url(folder, **query.params()),
        "next_url": library_url(folder, **query.params(after=result.next_cursor)) if result.next_cursor else "",
        "sorts": [(k, v[0]) for k, v in library.SORTS.items()],
        "types": library.TYPES,
        "can_edit": has_role(request.user, "editor"),
        "all_count": Asset.objects.count(),
        "zip_max": MAX_ZIP_ASSETS,
    }
    if request.htmx and request.htmx.target == "results":
        return render(request, "studio/partials/results.html", context)
    context.update({
        "folders": library.folder_tree(),
        "formats": library.formats(),
        "presets": list(UploadPreset.objects.order_by("name").values_list("name", flat=True)),
        "collections": list(Collection.objects.order_by("name", "id")[:200]) if context["can_edit"] else [],
    })
    return render(request, "studio/library.html", context)


def _back(request) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        return target
    return reverse("library")


@requires("editor")
@require_POST
def bulk(request):
    ids = [i for i in request.POST.getlist("ids") if i][:MAX_BULK + 1]
    back = _back(request)
    form = BulkForm(request.POST)
    if not ids:
        messages.error(request, "Select at least one asset first.")
        return redirect(back)
    if len(ids) > MAX_BULK:
        messages.error(request, f"Select at most {MAX_BULK} assets at a time.")
        return redirect(back)
    if not form.is_valid():
        for field_errors in form.errors.values():
            for error in field_errors:
                messages.error(request, error)
        return redirect(back)
    assets = list(Asset.objects.filter(asset_id__in=ids).order_by("public_id"))
    if not assets:
        messages.error(request, "None of the selected assets exists any more.")
        return redirect(back)
    action = form.cleaned_data["action"]
    if action == "delete" and not form.cleaned_data["confirm"]:
        return render(request, "studio/confirm_delete.html", {
            "assets": assets, "next": back, "tiles": links.tiles(assets[:24])})
    if action == "tag":
        done, problems = actions.add_tags(assets, form.cleaned_data["tag_list"])
        messages.success(request, f"Tagged {done} asset{'s' if done != 1 else ''}.")
    elif action == "untag":
        done, problems = actions.remove_tags(assets, form.cleaned_data["tag_list"])
        messages.success(request, f"Removed the tags from {done} asset{'s' if done != 1 else ''}.")
    elif action == "collect":  # studio.views_collections: the Collections screens
        collection = Collection.objects.filter(pk=form.cleaned_data["collection"]).first()
        if collection is None:
            messages.error(request, "That collection does not exist any more.")
            return redirect(back)
        add_assets, add_message = views_collections.add_assets, views_collections.add_message
        add_message(request, collection, *add_assets(collection, assets))
        problems = []
    elif action == "move":
        folder = form.cleaned_data["folder"]
        done, problems = actions.move(assets, folder)
        messages.success(request, f"Moved {done} asset{'s' if done != 1 else ''} to {folder or 'the root folder'}.")
    else:
        done, problems = actions.delete(assets)
        messages.success(request, f"Deleted {done} asset{'s' if done != 1 else ''}.")
        if back.startswith("/assets/"):  # the asset's own page is gone
            back = reverse("library")
    for problem in problems:
        messages.warning(request, problem)
    return redirect(back)


def _wants_json(request) -> bool:
    return "application/json" in request.headers.get("Accept", "") or request.htmx


@requires("editor")
@require_POST
def upload(request):
    """One file per request from the page's script (JSON answer, for per-file progress and
    errors); several files from the plain form (messages, then back to the library)."""
    files = request.FILES.getlist("file")
    as_json = _wants_json(request)
    folder_text = request.POST.get("folder", "")
    preset = request.POST.get("upload_preset", "").strip()
    errors, results = [], []
    if not files:
        errors.append(("", "Choose a file to upload."))
    try:
        folder = clean_folder(folder_text)
    except Exception as exc:
        errors.append(("", " ".join(getattr(exc, "messages", [str(exc)]))))
        files = []
    for uploaded in files:
        params = {"use_filename": "true", "unique_filename": "true", "folder": folder}
        if preset:
            params["upload_preset"] = preset
            if not folder:
                params.pop("folder")
        request.FILES.setlist("file", [uploaded])
        try:
            body = upload_for_session(request, params)
        except ApiError as exc:
            errors.append((uploaded.name, exc.message))
            continue
        results.append(body)
    if as_json:
        if errors:
            return JsonResponse({"error": {"message": errors[0][1], "file": errors[0][0]}}, status=400)
        asset = Asset.objects.get(asset_id=results[0]["asset_id"])
        return JsonResponse({**results[0], "page": reverse("asset", args=[asset.asset_id]),
                             "thumbnail": links.thumbnail(asset)["src"]})
    for body in results:
        messages.success(request, f"Uploaded {body['public_id']}.")
    for name, message in errors:
        messages.error(request, f"{name}: {message}" if name else message)
    return redirect(_back(request))
