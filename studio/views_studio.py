"""The Studio editor: ``/studio/<asset_id>/?t=<transformation>``.

The chain lives in the ``t`` query parameter (bookmarkable); every change is a form
that posts the current chain plus one action (add, update, remove or move a step) and
is answered with a redirect to the new chain (for htmx: the new page and HX-Push-Url).
The preview is an <img> of the chain's delivery URL; the delivery view renders it.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from assets import focus
from assets.links import base_url
from assets.models import Asset
from core.errors import BadRequest, Conflict
from refiners import background, generative
from transforms.cloudinary import named

from . import chain as chains
from . import links, palette, snippets
from .roles import has_role, requires

RECENT = 12
CODE_TABS = (("url", "URL"), ("python", "Python"), ("node", "Node"), ("curl", "cURL"))
QUERY_SAFE = ",/:$!*'()@"  # readable ?t= (these need no escaping in a query string)


def studio_url(asset, chain: str = "", **extra) -> str:
    params = {"t": chain} if chain else {}
    params.update({k: v for k, v in extra.items() if v not in (None, "")})
    return reverse("studio", args=[asset.asset_id]) + ("?" + urlencode(params, safe=QUERY_SAFE) if params else "")


def refine_url(asset, chain: str) -> str:
    return reverse("refine-background", args=[asset.asset_id]) + "?" + urlencode({"t": chain}, safe=QUERY_SAFE)


def current_mask(asset):
    """The asset's current background-removal mask (refiners.background), or None."""
    return background.current(asset)


def recent_assets(limit: int = RECENT):
    return list(Asset.objects.filter(resource_type="image").order_by("-created_at", "-id")[:limit])


@requires("viewer")
@require_GET
def studio_home(request):
    """The newest asset in the Studio (or a page saying there is none yet)."""
    latest = recent_assets(1)
    if latest:
        return redirect(studio_url(latest[0], request.GET.get("t", "")))
    return render(request, "studio/studio_empty.html")


def _index(value, size: int) -> int | None:
    try:
        index = int(value)
    except (TypeError, ValueError):
        return None
    return index if 0 <= index < size else None


def _context(request, asset, chain: str, **extra) -> dict:
    parsed = palette.parse(chain)
    text = palette.text(parsed)
    error, bad_step = chains.validate(text)
    can_sign = has_role(request.user, "editor")
    path, signed = chains.delivery_path(asset, text, may_sign=can_sign)
    url = base_url(request) + path
    preview_fmt = chains.preview_format(asset, text)
    preview_path = chains.delivery_path(asset, text, may_sign=can_sign, fmt=preview_fmt)[0]
    refinable = bool(parsed) and palette.is_bg_removal(parsed[0])
    mask = current_mask(asset) if refinable else None
    focus_revision = focus.revision(asset) if asset.resource_type == "image" else 0
    generative_label = generative.label_of(asset, text) if asset.resource_type == "image" and not error else ""
    chosen = generative.preview_token(asset, text) if generative_label else ""
    bust = [f"r={mask.revision if mask else 0}"] if refinable else []
    bust += [f"g={chosen}"] if chosen else []
    bust += [f"f={focus_revision}"] if focus_revision else []
    edit = _index(request.GET.get("edit"), len(parsed)) if "edit_index" not in extra else extra.pop("edit_index")
    recent = recent_assets()
    if asset not in recent:
        recent = [asset, *recent[: RECENT - 1]]
    secret = links.signing_secret()
    return {
        "asset": asset,
        "chain": text,
        "steps": parsed,
        "edit": edit,
        "error": error,
        "bad_step": bad_step,
        "preview": preview_path,
        "preview_format": preview_fmt,
        "original_src": chains.delivery_path(asset, "", may_sign=can_sign)[0] if text and not error else "",
        "downloads": [] if error else _downloads(asset, text, can_sign, {asset.format, preview_fmt}),
        # the delivery URL does not change when the refiner's mask does (and it may be cached
        # as immutable): the mask revision in the query string makes the browser fetch it again
        # so do the focus areas (g_custom, g_face...): their revision makes a saved change show at once,
        # and a chosen generative variation (its id and seed)
        "preview_src": preview_path + ("?" + "&".join(bust) if bust else ""),
        "refinable": refinable,
        "mask": mask,
        "refine_url": refine_url(asset, text) if refinable else "",
        "focus_url": reverse("refine-focus", args=[asset.asset_id]) + "?" + urlencode({"t": text}, safe=QUERY_SAFE),
        "focus_revision": focus_revision,
        # the chain has a generative step (b_gen_fill, e_gen_*): the button opens its refiner
        "generative_label": generative_label,
        "generative_url": reverse("refine-generative", args=[asset.asset_id]) + "?" + urlencode({"t": text},
                                                                                                safe=QUERY_SAFE),
        "generative_chosen": bool(chosen),
        "url": url,
        "code": snippets.snippets(asset, text, url, signed),
        "code_tabs": CODE_TABS,
        "palette": palette.PALETTE,
        "kinds": palette.KINDS,
        "picker": [{"asset": a, "src": links.path(a, links.THUMB, secret),
                    "href": studio_url(a, text)} for a in recent],
        "can_edit": can_sign,
        # a viewer's preview is what an unsigned URL gets: say so where that differs
        "unsigned_note": bool(text) and not signed and (asset.type != "upload" or named.strict_enabled()),
        "here": studio_url(asset, text),
        "here_path": reverse("studio", args=[asset.asset_id]),
        **extra,
    }


def _downloads(asset, chain: str, may_sign: bool, formats: set) -> list[dict]:
    """The result as a file: the chain's delivery URL with fl_attachment, in the asset's format
    and (when it differs) the preview's, which keeps the transparency the chain makes."""
    attach = "/".join([*palette.components(chain), "fl_attachment"])
    ordered = [asset.format, *sorted(formats - {asset.format})]
    return [{"format": fmt, "href": chains.delivery_path(asset, attach, may_sign=may_sign, fmt=fmt)[0]}
            for fmt in ordered if fmt]


def _page(request, asset, chain: str, status: int = 200, **extra):
    context = _context(request, asset, chain, **extra)
    response = render(request, "studio/studio.html", context, status=status)
    if request.htmx and status == 200:
        response["HX-Push-Url"] = context["here"]
    return response


@requires("viewer")
@require_http_methods(["GET", "POST"])
def studio(request, asset_id: str):
    asset = get_object_or_404(Asset, asset_id=asset_id)
    if asset.resource_type != "image":
        return _not_an_image(request, asset)
    if request.method == "GET":
        other = request.GET.get("asset")
        if other and other != asset.asset_id:  # the picker's form (no JavaScript)
            target = get_object_or_404(Asset, asset_id=other)
            return redirect(studio_url(target, request.GET.get("t", "")))
        return _page(request, asset, request.GET.get("t", ""))
    chain = request.POST.get("t", "")
    parsed = palette.parse(chain)
    action = request.POST.get("action", "")
    index = _index(request.POST.get("index"), len(parsed))
    if action in ("remove", "up", "down") and index is not None:
        if action == "remove":
            del parsed[index]
        else:
            other = index - 1 if action == "up" else index + 1
            if 0 <= other < len(parsed):
                parsed[index], parsed[other] = parsed[other], parsed[index]
    elif action in ("add", "update"):
        kind = request.POST.get("kind", "")
        step, errors = palette.from_form(kind, request.POST)
        if step is not None:
            candidate = list(parsed)
            at = len(candidate) if action == "add" or index is None else index
            if kind == palette.BG_REMOVAL and action == "add":
                # it must be the first component: added at the top, replacing an earlier one
                candidate = [s for s in candidate if not palette.is_bg_removal(s)]
                at = 0
            candidate[at:at + (action == "update" and index is not None)] = [step]
            message = _step_error(candidate, at)
            if message:
                errors = {"__all__": message}
            else:
                parsed = candidate
        if errors:
            form = {"kind": kind, "values": {k: ";".join(request.POST.getlist(k)) for k in request.POST},
                    "errors": errors}
            return _page(request, asset, chain, status=422, form=form,
                         edit_index=index if action == "update" else None)
    return _done(request, asset, palette.text(parsed))


def _not_an_image(request, asset):
    """The Studio transforms images only: a raw or video file goes back to its asset page, saying why."""
    messages.error(request, f"The Studio edits images only: {asset.public_id} is a {asset.resource_type} file, "
                            "delivered as stored (transformations of video and raw files are not supported).")
    return redirect("asset", asset.asset_id)


def _step_error(candidate: list, at: int) -> str:
    """The engine's message when the chain up to and including the new step does not read."""
    try:
        named.validate_text(palette.text(candidate[: at + 1]))
    except BadRequest as exc:
        return exc.message
    return ""


def _done(request, asset, chain: str):
    if request.htmx:
        return _page(request, asset, chain)
    return redirect(studio_url(asset, chain), permanent=False)


@requires("editor")
@require_POST
def save_named(request, asset_id: str):
    asset = get_object_or_404(Asset, asset_id=asset_id)
    if asset.resource_type != "image":
        return _not_an_image(request, asset)
    chain = palette.text(palette.parse(request.POST.get("t", "")))
    name = request.POST.get("name", "")
    allowed = request.POST.get("allowed_for_strict") == "on"
    if not name.strip():
        problem = "Give the transformation a name."
    elif not chain:
        problem = "Add at least one step before saving."
    else:
        try:
            named.create(name, chain, allowed_for_strict=allowed)
        except (BadRequest, Conflict) as exc:
            problem = exc.message
        else:
            messages.success(request, f"Saved as t_{name}.")
            return redirect(reverse("named") + f"?created={name}")
    return _page(request, asset, chain, status=422, save_error=problem, save_name=request.POST.get("name", ""),
                 save_allowed=allowed)
