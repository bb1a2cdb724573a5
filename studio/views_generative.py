"""The Generative AI Refiner: ``/studio/<asset_id>/refine/generative/?t=<chain>``.

Opened from the Studio's Refiners section when the chain has a generative step (b_gen_fill
or an e_gen_* effect: refiners.generative.label_of asks transforms.ai.stages.find; the
button says the producer's label, "Generative fill"...).  The screen (static/dam/generative.js) asks for
1-8 variations with an optional prompt (disabled, with the reason, when no configured
back-end understands prompts or the step takes none), polls the batch while the worker
makes them, shows each one with a compare control (hold or toggle: the current result in
its place) and a thumbs-down that dismisses it; Transform again adds more.  "Update
Transformation" chooses the selected one for the chain's literal text and returns to the
Studio with the same chain, whose preview then shows it.  JSON calls use the session (CSRF
header, editor role) and the same store as the REST API (refiners.generative): POST
``generate`` {count, prompt} -> the batch; GET ``batch/<id>`` -> its state with preview
paths; POST ``choose`` {variation} -> {"back": the Studio URL}.
"""

from __future__ import annotations

from django.http import JsonResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from assets.api import bounded_json
from assets.models import Asset
from core.errors import ApiError, BadRequest
from core.responses import error_response
from refiners import generative
from transforms.ai import generation

from . import links, palette
from .roles import requires
from .views_studio import studio_url

MAX_BODY = 16 * 1024


def _prompt_state(producer) -> tuple[bool, str]:
    if not producer.takes_prompt:
        return False, f"{producer.label} takes no prompt: its variations differ by their seed."
    if generation.prompt_backend() is None:
        return False, ("No configured generation back-end understands prompts (to use one, "
                       f"{generation.PROMPT_SETTINGS}); variations differ by their seed.")
    return True, ""


def _chain(request) -> str:
    return palette.text(palette.parse(request.GET.get("t", "")))


def _body(request) -> dict:
    if request.content_type != "application/json" or len(request.body) > MAX_BODY:
        raise BadRequest('Invalid request: send a small JSON body')
    body = bounded_json.loads(request.body or b"null", "body")
    if not isinstance(body, dict):
        raise BadRequest("Invalid request: expected a JSON object")
    return body


def _batch_state(asset, found) -> dict:
    out = generative.batch_dict(asset, found)
    secret = links.signing_secret()
    plan = generative.plan_of(asset, found.transformation)
    for item in out["variations"]:
        text = None
        if item["seed"] is not None:
            text = generative.variation_text(plan, asset, item["seed"], item["prompt"] or None)
        item["src"] = links.path(asset, text, secret) if text and item["status"] == "done" else ""
    return out


@requires("editor")
@require_GET
def refine_generative(request, asset_id: str):
    asset = get_object_or_404(Asset, asset_id=asset_id)
    chain = _chain(request)
    context = {"asset": asset, "chain": chain, "back": studio_url(asset, chain), "problem": ""}
    try:
        _, _, producer = generative.step_of(asset, chain)
    except ApiError as exc:
        context["problem"] = exc.message
        return render(request, "studio/refiner/generative.html", context, status=400)
    takes_prompt, reason = _prompt_state(producer)
    secret = links.signing_secret()
    bust = generative.preview_token(asset, chain)
    context.update({
        "label": producer.label,
        "takes_prompt": takes_prompt,
        "prompt_reason": reason,
        "current": links.path(asset, chain, secret) + (f"?g={bust}" if bust else ""),
        "max_count": generative.MAX_PER_CALL,
        "config": {"generate": reverse("refine-generative-generate", args=[asset.asset_id]) + "?" +
                   request.GET.urlencode(),
                   "batch": reverse("refine-generative-batch", args=[asset.asset_id, "ID"]) + "?" +
                   request.GET.urlencode(),
                   "choose": reverse("refine-generative-choose", args=[asset.asset_id]) + "?" +
                   request.GET.urlencode(),
                   "back": studio_url(asset, chain)},
    })
    return render(request, "studio/refiner/generative.html", context)


@requires("editor")
@require_POST
def generate(request, asset_id: str):
    asset = get_object_or_404(Asset, asset_id=asset_id)
    try:
        body = _body(request)
        found = generative.generate(asset, _chain(request), body.get("count", 1), body.get("prompt") or None)
        return JsonResponse(_batch_state(asset, found), status=202)
    except ApiError as exc:
        return error_response(exc.message, exc.status)


@requires("editor")
@require_GET
def batch(request, asset_id: str, batch_id: str):
    asset = get_object_or_404(Asset, asset_id=asset_id)
    try:
        return JsonResponse(_batch_state(asset, generative.batch(asset, batch_id)))
    except ApiError as exc:
        return error_response(exc.message, exc.status)


@requires("editor")
@require_http_methods(["POST"])
def choose(request, asset_id: str):
    asset = get_object_or_404(Asset, asset_id=asset_id)
    chain = _chain(request)
    try:
        body = _body(request)
        generative.choose(asset, chain, body.get("variation"), user=request.user)
    except ApiError as exc:
        return error_response(exc.message, exc.status)
    return JsonResponse({"back": studio_url(asset, chain)})
