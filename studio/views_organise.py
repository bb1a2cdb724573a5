"""Organising assets: folders from the Library's sidebar (create, rename, delete when empty),
moving tiles dropped on a folder (``static/dam/organise.js``), and the asset page's Manage
card (rename, move, replace with a new version).

Each calls the domain function the Upload/Admin API calls (``assets.api.admin_folders``
``create_folder``/``rename_folder``/``delete_folder``, ``assets.api.upload.rename_asset`` and
``upload_for_session``, ``studio.actions.move``), so both follow the same rules: plain POST +
redirect + a message, a clear message for bad input, nothing half-written.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from assets.api import admin_folders
from assets.api.upload import rename_asset, upload_for_session
from assets.models import Asset
from core.errors import ApiError

from . import actions
from .forms import clean_folder
from .roles import requires
from .views_library import MAX_BULK, _back, library_url


def _folder_field(request, name: str) -> str:
    """The folder in POST[name], validated (forms.ValidationError with a clear message)."""
    return clean_folder(request.POST.get(name, "").strip().strip("/"))


def _error(exc) -> str:
    if isinstance(exc, ApiError):
        return exc.message
    return " ".join(getattr(exc, "messages", [str(exc)]))


def _child(parent: str, name: str) -> str:
    name = name.strip().strip("/")
    if not name:
        raise forms.ValidationError("Enter a folder name.")
    if "/" in name:
        raise forms.ValidationError("A folder name can't contain '/': create it inside the current folder.")
    return clean_folder(f"{parent}/{name}" if parent else name)


# --- folders ----------------------------------------------------------------------------


@requires("editor")
@require_POST
def folder_create(request):
    try:
        parent = _folder_field(request, "parent")
        path = admin_folders.create_folder(_child(parent, request.POST.get("name", "")))
    except (forms.ValidationError, ApiError) as exc:
        messages.error(request, f"Folder not created: {_error(exc)}")
        return redirect(_back(request))
    messages.success(request, f"Created the folder {path}.")
    return redirect(library_url(path))


@requires("editor")
@require_POST
def folder_rename(request):
    try:
        path = _folder_field(request, "path")
        if not path:
            raise forms.ValidationError("The root folder can't be renamed.")
        target = _child(path.rpartition("/")[0], request.POST.get("name", ""))
        path, target = admin_folders.rename_folder(path, target)
    except (forms.ValidationError, ApiError) as exc:
        messages.error(request, f"Folder not renamed: {_error(exc)}")
        return redirect(_back(request))
    messages.success(request, f"Renamed the folder {path} to {target}.")
    return redirect(library_url(target))


@requires("editor")
@require_POST
def folder_delete(request):
    try:
        path = _folder_field(request, "path")
        if not path:
            raise forms.ValidationError("The root folder can't be deleted.")
        admin_folders.existing(path)
    except (forms.ValidationError, ApiError) as exc:
        messages.error(request, f"Folder not deleted: {_error(exc)}")
        return redirect(_back(request))
    held = admin_folders.assets_under(path).count()
    if held:
        messages.error(request, f"The folder {path} holds {held} asset{'s' if held != 1 else ''} (subfolders "
                                "included): move or delete them first, then delete the folder.")
        return redirect(library_url(path))
    if request.POST.get("confirm") != "1":
        return render(request, "studio/confirm_folder_delete.html", {"path": path, "next": _back(request)})
    try:
        deleted = admin_folders.delete_folder(path)
    except ApiError as exc:  # an asset arrived meanwhile
        messages.error(request, f"Folder not deleted: {exc.message}")
        return redirect(library_url(path))
    messages.success(request, f"Deleted the folder {path}"
                              + (f" and {len(deleted) - 1} empty subfolder{'s' if len(deleted) != 2 else ''}."
                                 if len(deleted) > 1 else "."))
    return redirect(library_url(path.rpartition("/")[0]))


@requires("editor")
@require_POST
def move(request):
    """Tiles dropped on a folder (organise.js): the bulk move, answered in JSON for a script
    (the page then reloads and shows the messages) or by a redirect for a form."""
    ids = [i for i in request.POST.getlist("ids") if i][:MAX_BULK + 1]
    as_json = "application/json" in request.headers.get("Accept", "")
    problem = ""
    folder = ""
    if not ids:
        problem = "Select at least one asset first."
    elif len(ids) > MAX_BULK:
        problem = f"Move at most {MAX_BULK} assets at a time."
    else:
        try:
            folder = _folder_field(request, "folder")
        except forms.ValidationError as exc:
            problem = _error(exc)
    assets = [] if problem else list(Asset.objects.filter(asset_id__in=ids).order_by("public_id"))
    if not problem and not assets:
        problem = "None of the selected assets exists any more."
    if problem:
        messages.error(request, problem)
        if as_json:
            return JsonResponse({"error": {"message": problem}}, status=400)
        return redirect(_back(request))
    done, problems = actions.move(assets, folder)
    messages.success(request, f"Moved {done} asset{'s' if done != 1 else ''} to {folder or 'the root folder'}.")
    for text in problems:
        messages.warning(request, text)
    if as_json:
        return JsonResponse({"moved": done, "problems": problems, "folder": folder})
    return redirect(_back(request))


# --- the asset page's Manage card ------------------------------------------------------------


def _asset_back(asset: Asset):
    return redirect(reverse("asset", args=[asset.asset_id]) + "#manage")


@requires("editor")
@require_POST
def asset_rename(request, asset_id: str):
    asset = get_object_or_404(Asset, asset_id=asset_id)
    old = asset.public_id
    to_public_id = request.POST.get("public_id", "").strip()
    overwrite = request.POST.get("overwrite") in ("1", "on", "true")
    if to_public_id == old:
        messages.info(request, "The public_id is unchanged.")
        return _asset_back(asset)
    try:
        rename_asset(asset, to_public_id, overwrite=overwrite)
    except ApiError as exc:
        asset.refresh_from_db()
        text = exc.message
        if exc.status == 409:
            text = (f"{to_public_id} is taken by another asset: choose another public_id, or tick "
                    "“Overwrite” to replace that asset with this one.")
        messages.error(request, f"Not renamed: {text}")
        return _asset_back(asset)
    messages.success(request, f"Renamed {old} to {asset.public_id}.")
    return _asset_back(asset)


@requires("editor")
@require_POST
def asset_move(request, asset_id: str):
    asset = get_object_or_404(Asset, asset_id=asset_id)
    try:
        folder = _folder_field(request, "folder")
    except forms.ValidationError as exc:
        messages.error(request, f"Not moved: {_error(exc)}")
        return _asset_back(asset)
    if folder == asset.folder:
        messages.info(request, f"{asset.public_id} is in {folder or 'the root folder'} already.")
        return _asset_back(asset)
    done, problems = actions.move([asset], folder)
    for text in problems:
        messages.error(request, f"Not moved: {text}")
    if done:
        messages.success(request, f"Moved to {folder or 'the root folder'}: now {asset.public_id}.")
    return _asset_back(asset)


@requires("editor")
@require_POST
def asset_replace(request, asset_id: str):
    """A new file as the next version of this public_id (the Upload API's overwrite with
    invalidate: derived images of the old version are dropped)."""
    asset = get_object_or_404(Asset, asset_id=asset_id)
    if not request.FILES.get("file"):
        messages.error(request, "Choose a file to replace the image with.")
        return _asset_back(asset)
    params = {"public_id": asset.public_id, "type": asset.type, "overwrite": "true", "invalidate": "true",
              "unique_filename": "false"}
    try:
        body = upload_for_session(request, params, asset.resource_type)  # a raw file is replaced by a raw file
    except ApiError as exc:
        messages.error(request, f"Not replaced: {exc.message}")
        return _asset_back(asset)
    messages.success(request, f"Replaced: {body['public_id']} is now version v{body['version']}.")
    return _asset_back(asset)

