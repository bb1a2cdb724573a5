"""The Focus Area Refiner: ``/studio/<asset_id>/refine/focus/?t=<chain>``.

Reached from the Studio's Refiners section (the "Focus Area" button).  Three tabs over
the image: Face (the detected or given face boxes: move, resize, delete, add), Custom
(one box, what g_custom uses) and Region (named boxes and polygons, g_region_!name!).
Boxes are dragged on the image or typed as x, y, w, h; the two stay in sync
(static/dam/focus.js).  "Save" posts the three stores as JSON with the revision the
screen started from (session auth, CSRF header, editor role); refiners.focus saves them
as a new revision with source "refiner" (409 when someone saved meanwhile: the screen
says to reload).  The answer carries the new state, the history (Undo saves the
previous revision's values as a new revision) and preview URLs of ``c_crop,g_custom``
and ``c_thumb,g_face`` with the revision in the query string, so the browser fetches
the new rendering at once (their cache keys hold the values anyway).
"""

from __future__ import annotations

from django.http import JsonResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_http_methods

from assets.api import bounded_json
from assets.models import Asset
from core.errors import ApiError, BadRequest
from core.responses import error_response
from refiners.focus import FIELDS, REFINER

from . import links, palette
from .roles import requires
from .views_studio import studio_url

PREVIEWS = (("custom", links.FOCUS_CUSTOM, "Custom crop"), ("face", links.FOCUS_FACE, "Face thumbnail"))
MAX_BODY = 2 * 1024 * 1024


def state(asset) -> dict:
    """The refiner's API body plus the screen's previews."""
    out = REFINER.as_dict(None, asset)
    secret = links.signing_secret()
    out["previews"] = [{"kind": kind, "chain": chain, "title": title,
                        "src": links.path(asset, chain, secret) + f"?f={out['revision']}",
                        "available": bool(out["custom"] if kind == "custom" else out["faces"])}
                       for kind, chain, title in PREVIEWS]
    return out


def _payload(request) -> tuple[dict, object]:
    if request.content_type != "application/json":
        raise BadRequest("Invalid request: send a JSON body {\"faces\": [...], \"custom\": [...], \"regions\": {...}}")
    if len(request.body) > MAX_BODY:
        raise BadRequest("Invalid request: the body is too large")
    body = bounded_json.loads(request.body or b"null", "body")
    if not isinstance(body, dict):
        raise BadRequest('Invalid request: expected {"faces": [...], "custom": [...], "regions": {...}, '
                         '"base_revision": <n>}')
    given = {name: body[name] for name in FIELDS if name in body}
    if not given:
        raise BadRequest(f"Missing required parameter - one of {', '.join(FIELDS)}")
    return given, body.get("base_revision")


@requires("editor")
@require_http_methods(["GET", "POST"])
def refine_focus(request, asset_id: str):
    asset = get_object_or_404(Asset, asset_id=asset_id)
    if request.method == "POST":
        try:
            if asset.resource_type != "image":
                raise BadRequest(f"{asset.public_id} is not an image")
            payload, base = _payload(request)
            REFINER.save(asset, payload, base_revision=base, user=request.user, source="refiner")
        except ApiError as exc:
            return error_response(exc.message, exc.status)
        asset.refresh_from_db()
        return JsonResponse(state(asset))
    chain = palette.text(palette.parse(request.GET.get("t", "")))
    return render(request, "studio/refiner/focus.html", {
        "asset": asset,
        "back": studio_url(asset, chain),
        "image": links.preview(asset),
        "state": state(asset),
        "here": request.path,
    })
