"""The Background Removal Refiner: ``/studio/<asset_id>/refine/background/?t=<chain>``.

Reached from the Studio's "Background Removal" button when the chain's first component
applies e_background_removal.  The screen paints on the model's raw cut-out (served by
`layer` from the stored Cutout row for the chain's options: its alpha as a grey PNG and
its RGB, the original's pixels, as a JPEG) and composites the mask in the browser as
refiners.background does on the server.  "Update Transformation" posts the complete
stroke list with the revision it started from; refiners.background.save() stores a new
revision (409 when someone saved meanwhile) and the Studio shows the refined result.

While the cut-out is not computed yet the screen asks for it (bgremoval.request queues
one task) and shows "Removing background…", polling `status` with htmx until it is done.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import RequestDataTooBig
from django.http.request import RawPostDataException
from django.core.files.storage import storages
from django.http import HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from assets.api import bounded_json
from assets.models import Asset
from core.errors import ApiError, BadRequest, Conflict
from core.responses import error_response
from refiners import background
from transforms.ai import bgremoval
from transforms.cloudinary.parser import split_component
from transforms.models import Cutout

from . import palette
from .roles import requires
from .views_studio import refine_url, studio_url

LAYERS = {"matte": ("png", "image/png"), "original": ("jpg", "image/jpeg")}
MISSING = "the stored cut-out file is missing; open the Studio preview, which computes it again"
NEEDS_REMOVAL = ("The Background Removal Refiner works on a transformation that starts with e_background_removal: "
                 "add \u201cBackground removal (AI)\u201d from the palette first.")


def _chain(request) -> str:
    raw = request.GET.get("t", "")
    if request.method == "POST" and request.content_type != "application/json":
        try:
            raw = request.POST.get("t", raw)
        except (RequestDataTooBig, RawPostDataException):  # answered by _save
            pass
    return palette.text(palette.parse(raw or ""))


def options_of(chain: str) -> bgremoval.Options:
    """The e_background_removal options of the chain's first component; BadRequest when it
    has none (or they do not read)."""
    parsed = palette.parse(chain)
    if not parsed or not palette.is_bg_removal(parsed[0]):
        raise BadRequest(NEEDS_REMOVAL)
    first = dict(split_component(parsed[0].text.split("/", 1)[0]))
    _, _, arg = first["e"].partition(":")
    return bgremoval.parse((arg,) if arg else (), {})


def _state(asset, options: bgremoval.Options) -> tuple[Cutout | None, str]:
    """(the cut-out row, "done" | "pending" | "failed"), asking a worker for it when missing."""
    row = bgremoval.cutout_row(asset, options)
    if row is None or row.status != Cutout.DONE:
        row = bgremoval.request(asset, options)  # one task queued; ApiError (503) when the model is missing
    if row.status == Cutout.DONE and not storages["derived"].exists(row.storage_name):
        return row, "missing"
    return row, "pending" if row.status == Cutout.PROCESSING else row.status  # the screen waits for both


def _wants_json(request) -> bool:
    return request.content_type == "application/json" or "application/json" in request.headers.get("Accept", "")


def _layer_url(asset, chain: str, name: str, row) -> str:
    return (reverse("refine-background-layer", args=[asset.asset_id, name]) + "?"
            + refine_url(asset, chain).split("?", 1)[1] + f"&e={row.etag}")


def _screen(request, asset, chain: str, options, *, status: int = 200, problem: str = ""):
    try:
        row, state = _state(asset, options)
    except ApiError as exc:
        row, state, problem, status = None, "failed", exc.message, exc.status
    mask = background.current(asset)
    context = {
        "asset": asset,
        "chain": chain,
        "options": options.canonical,
        "back": studio_url(asset, chain),
        "here": refine_url(asset, chain),
        "status_url": reverse("refine-background-status", args=[asset.asset_id]) + "?"
                      + refine_url(asset, chain).split("?", 1)[1],
        "state": state,
        "cutout": row,
        "failure": (row.error if row is not None and state == "failed" else "")
                   or (MISSING if state == "missing" else ""),
        "problem": problem,
        "revision": mask.revision if mask else 0,
        "strokes": mask.strokes if mask else [],
        "saved_by": mask.created_by if mask else None,
        "saved_at": mask.created_at if mask else None,
        "limits": {"strokes": background.MAX_STROKES, "points": background.MAX_POINTS},
    }
    if state == "done":
        context["matte_url"] = _layer_url(asset, chain, "matte", row)
        context["original_url"] = _layer_url(asset, chain, "original", row)
    return render(request, "studio/refiner/background.html", context, status=status)


@requires("editor")
@require_http_methods(["GET", "POST"])
def refine_background(request, asset_id: str):
    asset = get_object_or_404(Asset, asset_id=asset_id)
    chain = _chain(request)
    try:
        if asset.resource_type != "image":
            raise BadRequest(f"{asset.public_id} is not an image: background removal works on images only.")
        options = options_of(chain)
    except BadRequest as exc:
        if request.method == "POST" and _wants_json(request):
            return error_response(exc.message, 400)
        messages.error(request, exc.message)
        return redirect(studio_url(asset, chain))
    if request.method == "GET":
        return _screen(request, asset, chain, options)
    return _save(request, asset, chain, options)


def _payload(request) -> tuple[object, object]:
    """(strokes, base_revision) from a form post (strokes as JSON text) or a JSON body."""
    if request.content_type == "application/json":
        try:
            body = bounded_json.loads(request.body or b"null", "body")  # nesting and numbers bounded
        except BadRequest:
            raise BadRequest("Invalid request: the body is not valid JSON") from None
        if not isinstance(body, dict) or "strokes" not in body:
            raise BadRequest('Invalid request: expected {"strokes": [...], "base_revision": <n>}')
        return body["strokes"], body.get("base_revision")
    if "strokes" not in request.POST:
        raise BadRequest("Invalid request: the strokes are missing")
    text = request.POST["strokes"]
    try:
        strokes = bounded_json.loads(text, "strokes")
    except BadRequest as exc:
        raise BadRequest(f"Invalid strokes: not valid JSON ({exc.message})") from None
    return strokes, request.POST.get("base_revision")


def _save(request, asset, chain: str, options):
    try:
        strokes, base = _payload(request)
        now = background.current(asset)
        if (str(base if base is not None else "").strip() == str(now.revision if now else 0)
                and strokes == (now.strokes if now else [])):
            message = (f"No changes: the mask stays at revision {now.revision}." if now else
                       "No changes: there is no mask to save.")
            if _wants_json(request):
                return JsonResponse(background.as_dict(now, asset))
            messages.info(request, message)
            return redirect(studio_url(asset, chain))
        mask = background.save(asset, strokes, user=request.user, base_revision=base)
    except (RequestDataTooBig, RawPostDataException):
        problem = ("The strokes are too large to send in one request: update the transformation with fewer, "
                   "shorter strokes.")
        if _wants_json(request):
            return error_response(problem, 413)
        return _screen(request, asset, chain, options, status=413, problem=problem)
    except Conflict as exc:
        if _wants_json(request):
            return error_response(exc.message, 409)
        return _screen(request, asset, chain, options, status=409,
                       problem=f"Not saved: {exc.message}. The newest strokes are loaded below.")
    except ApiError as exc:
        if _wants_json(request):
            return error_response(exc.message, exc.status)
        return _screen(request, asset, chain, options, status=exc.status, problem=f"Not saved: {exc.message}")
    if _wants_json(request):
        return JsonResponse(background.as_dict(mask, asset))
    count = len(mask.strokes)
    messages.success(request, f"Background removal refined (revision {mask.revision}, {count} "
                              f"stroke{'s' if count != 1 else ''}): every URL of {asset.public_id} starting with "
                              "e_background_removal now delivers it." if count else
                              f"Background mask cleared (revision {mask.revision}): {asset.public_id} delivers the "
                              "model's cut-out again.")
    return redirect(studio_url(asset, chain))


@requires("editor")
@require_GET
def status(request, asset_id: str):
    """The "Removing background…" panel (htmx polls it); done: the whole screen reloads."""
    asset = get_object_or_404(Asset, asset_id=asset_id)
    chain = _chain(request)
    try:
        options = options_of(chain)
        row, state = _state(asset, options)
    except ApiError as exc:
        row, state, problem = None, "failed", exc.message
    else:
        problem = row.error if state == "failed" else (MISSING if state == "missing" else "")
    here = refine_url(asset, chain)
    if state == "done":
        if not request.htmx:
            return redirect(here)
        response = HttpResponse("")
        response["HX-Refresh"] = "true"
        return response
    return render(request, "studio/refiner/pending.html", {
        "state": state, "failure": problem, "here": here, "status_url": request.get_full_path(),
        "back": studio_url(asset, chain)})


@requires("editor")
@require_GET
def layer(request, asset_id: str, name: str):
    """The stored cut-out's alpha ("matte", grey PNG) or RGB ("original", JPEG) at its size."""
    import pyvips

    asset = get_object_or_404(Asset, asset_id=asset_id)
    if name not in LAYERS:
        return error_response(f"Unknown layer {name!r}: matte or original", 404)
    try:
        options = options_of(_chain(request))
    except BadRequest as exc:
        return error_response(exc.message, 400)
    row = bgremoval.cutout_row(asset, options)
    if row is None or row.status != Cutout.DONE:
        return error_response(f"The background of {asset.public_id} is not removed yet", 404)
    try:
        with storages["derived"].open(row.storage_name, "rb") as fh:
            image = pyvips.Image.new_from_buffer(fh.read(), "")
    except OSError:
        return error_response(f"The stored cut-out of {asset.public_id} is missing", 404)
    suffix, mime = LAYERS[name]
    if name == "matte":
        out = image.extract_band(image.bands - 1) if image.hasalpha() else (image.extract_band(0) * 0 + 255).cast(
            "uchar")
        body = out.copy(interpretation="b-w").write_to_buffer(".png", compression=6, keep="none")
    else:
        grey = image.extract_band(0)
        rgb = image.extract_band(0, n=3) if image.bands >= 3 else grey.bandjoin([grey, grey])
        body = rgb.write_to_buffer(".jpg", Q=92, subsample_mode="off", keep="none")
    response = HttpResponse(body, content_type=mime)
    response["Cache-Control"] = "private, max-age=86400" if request.GET.get("e") == row.etag else "no-cache"
    response["Content-Disposition"] = f'inline; filename="{name}.{suffix}"'
    return response
