"""Media Library pages: the grid with folders, search, filters, sort and keyset pages;
bulk actions (with a confirmation page before deleting); the browser's upload endpoint."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.views.decorators.http import require_GET, require_POST

from assets import ingest
from assets.api.upload import upload_for_session
from assets.models import Asset, Collection, UploadPreset
from core.errors import ApiError

from . import actions, library, links, views_collections
from .downloads import MAX_ZIP_ASSETS
from .forms import BulkForm, clean_folder
from .roles import has_role, requires

MAX_BULK = 500
VIEWS = ("grid", "list")
DENSITIES = ("small", "medium", "large")
PREF_AGE = 365 * 24 * 3600  # the view and density cookies last a year


def _prefs(request) -> dict:
    """The grid/list view and tile density: from ?view= / ?density= (then remembered in a cookie), else the cookie."""
    chosen = {}
    for name, allowed, default in (("view", VIEWS, "grid"), ("density", DENSITIES, "medium")):
        asked, kept = request.GET.get(name, ""), request.COOKIES.get(f"dam_{name}", "")
        chosen[name] = asked if asked in allowed else kept if kept in allowed else default
    return chosen


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
    prefs = _prefs(request)
    params = query.params()
    context = {
        "query": query,
        "page": result,
        "tiles": tiles,
        "folder": folder,
        "folder_name": folder.rsplit("/", 1)[-1] if folder else "",
        "crumbs": _breadcrumbs(folder),
        "here": library_url(folder, **params),
        "first_url": library_url(folder, **params),
        "next_url": library_url(folder, **query.params(after=result.next_cursor, start=result.end + 1))
        if result.next_cursor else "",
        "prev_url": library_url(folder, **query.params(before=result.prev_cursor, start=max(result.start - library.PAGE_SIZE, 1)))
        if result.prev_cursor else "",
        "sorts": [(k, v[0]) for k, v in library.SORTS.items()],
        "types": library.TYPES,
        "can_edit": has_role(request.user, "editor"),
        "all_count": Asset.objects.count(),
        "zip_max": MAX_ZIP_ASSETS,
        "view": prefs["view"],
        "density": prefs["density"],
        "view_urls": [(v, library_url(folder, **params, view=v)) for v in VIEWS],
        "density_urls": [(d, library_url(folder, **params, density=d)) for d in DENSITIES],
        "filters_on": bool(query.format or query.type or query.tag or query.faces),
    }
    if request.htmx and request.htmx.target == "results":
        response = render(request, "studio/partials/results.html", context)
    else:
        context.update({
            "folders": library.folder_tree(),
            "formats": library.formats(),
            "presets": list(UploadPreset.objects.order_by("name").values_list("name", flat=True)),
            "collections": list(Collection.objects.order_by("name", "id")[:200]) if context["can_edit"] else [],
        })
        response = render(request, "studio/library.html", context)
    for name in ("view", "density"):
        if request.GET.get(name) == prefs[name]:  # a chosen view or density is remembered
            response.set_cookie(f"dam_{name}", prefs[name], max_age=PREF_AGE, samesite="Lax")
    return response


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
        if form.cleaned_data["collection"]:
            collection = Collection.objects.filter(pk=form.cleaned_data["collection"]).first()
        else:  # a new collection named in the bulk bar
            collection = Collection.objects.create(name=form.cleaned_data["collection_name"], created_by=request.user)
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


MAX_UPLOAD_TAGS = 40


def _upload_options(request) -> tuple[dict, list[str]]:
    """The upload form's choices as Upload API parameters, and what is wrong with them.
    use_filename defaults on and unique_filename off (``cat.jpg`` into ``pets`` is ``pets/cat``);
    the form's checkboxes are read only when it says it sent them (``options``), so a caller
    without them gets the defaults."""
    post, problems = request.POST, []
    try:
        folder = clean_folder(post.get("folder", ""))
    except Exception as exc:
        problems.append(" ".join(getattr(exc, "messages", [str(exc)])))
        folder = ""
    tags = [t.strip() for t in post.get("tags", "").split(",") if t.strip()]
    if len(tags) > MAX_UPLOAD_TAGS:
        problems.append(f"At most {MAX_UPLOAD_TAGS} tags at upload.")
    bad = [t for t in tags if len(t) > 255 or any(c in t for c in "\n\r")]
    if bad:
        problems.append(f"Invalid tag {bad[0][:40]!r}: at most 255 characters, no line breaks.")
    form_sent = bool(post.get("options"))
    on = ("1", "on", "true")
    params = {
        "use_filename": "true" if (post.get("use_filename") in on if form_sent else True) else "false",
        "unique_filename": "true" if post.get("unique_filename") in on else "false",
        "folder": folder,
    }
    if tags:
        params["tags"] = ",".join(tags)
    preset = post.get("upload_preset", "").strip()
    if preset:
        params["upload_preset"] = preset
        if not folder:
            params.pop("folder")
    return params, problems


def _existing(params: dict, filename: str) -> bool:
    """Whether this upload will replace an asset: its public_id follows from the file name alone
    (no random suffix, no preset that may choose another) and is taken."""
    if params.get("upload_preset") or params["unique_filename"] == "true" or params["use_filename"] != "true":
        return False
    try:
        public_id = ingest.choose_public_id(public_id=None, folder=params.get("folder", ""), filename=filename,
                                            use_filename=True, unique_filename=False)
    except ApiError:
        return False
    return Asset.objects.filter(resource_type="image", type="upload", public_id=public_id).exists()


@requires("editor")
@require_POST
def upload(request):
    """One file (or one URL) per request from the page's script (JSON answer, for per-file
    progress and errors); several files from the plain form (messages, then back to the library)."""
    files = request.FILES.getlist("file")
    url = request.POST.get("url", "").strip()
    as_json = _wants_json(request)
    params, problems = _upload_options(request)
    errors, results = [], []
    if url and not url.startswith(("http://", "https://")):
        problems.append("The URL must start with http:// or https://.")
    if len(url) > 2000:
        problems.append("The URL is too long (at most 2000 characters).")
    if not files and not url:
        problems.append("Choose a file to upload.")
    errors += [("", p) for p in problems]
    sources = [] if problems else [(f, f.name) for f in files] + ([(None, url)] if url else [])
    for uploaded, name in sources:
        one = dict(params)
        request.FILES.setlist("file", [uploaded] if uploaded else [])
        if uploaded is None:
            one["file"] = name
        replaces = _existing(one, uploaded.name if uploaded else name.split("?")[0].rsplit("/", 1)[-1])
        try:
            body = upload_for_session(request, one)
        except ApiError as exc:
            errors.append((name, exc.message))
            continue
        results.append({**body, "replaced": replaces})
    if as_json:
        if errors:
            return JsonResponse({"error": {"message": errors[0][1], "file": errors[0][0]}}, status=400)
        asset = Asset.objects.get(asset_id=results[0]["asset_id"])
        return JsonResponse({**results[0], "page": reverse("asset", args=[asset.asset_id]),
                             "thumbnail": links.thumbnail(asset)["src"]})
    for body in results:
        messages.success(request, f"Uploaded {body['public_id']}" + (" (replaced the existing asset)." if body["replaced"] else "."))
    for name, message in errors:
        messages.error(request, f"{name}: {message}" if name else message)
    return redirect(_back(request))
