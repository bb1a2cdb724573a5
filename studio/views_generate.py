"""The Generate screen: ``/generate/`` (text to image in the browser, issue 17).

One domain path: the form becomes the Image Generation API's JSON body and goes through
``assets.generation.api.text_to_image`` with ``async: true``, so the screen's generations are
checked, bounded, counted and run exactly as the API's (the worker makes the image).  The screen
acts for the logged-in user, not an API key: its credential is ``user:<id>`` (role from the user's
group), so the monthly quota (``assets.generation.quota``, ``DAM_IMAGE_GENERATION_MONTHLY_QUOTA``)
and the pending-task bound are per user, and the tasks it makes are owned by that key.  Editors and
above generate (viewers get the 403 page, as on the other editor screens); each sees their own
recent tasks, an admin everyone's.

Without JavaScript the form POSTs and is redirected to the task's page (reload it to follow the
task).  With htmx the form's answer replaces the result area, which polls its state partial about
every second until the task is completed or failed.  An empty seed means "random": the screen picks
one so that the result's seed is known and can be reused.  The code snippets (cURL, Python
``requests``, Node ``fetch``) send the same body, synchronously (their answer holds the image);
every value from the form is written as a literal of the snippet's language (``studio.snippets``).
"""

from __future__ import annotations

import json
import secrets
import shlex
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth import get_user_model
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from assets.generation import api as generation
from assets.generation import backends, quota, request as gen_request, results
from assets.generation.errors import GenerationError
from assets.keys import Credential
from assets.links import base_url
from assets.models import Asset, GenerationTask

from . import links
from .roles import has_role, requires, role_of
from .snippets import js_literal, py_literal

RECENT = 20  # tasks listed
TERMINAL = ("completed", "failed")
CODE_TABS = (("curl", "cURL"), ("python", "Python"), ("node", "Node"), ("json", "JSON"))
DEFAULTS = {"prompt": "", "model": "nano-banana-1", "size_mode": "ratio", "aspect_ratio": "1:1", "resolution": "1K",
            "width": "1024", "height": "1024", "seed": "", "format": "png", "target": "temporary", "public_id": "",
            "folder": ""}


def credential_of(user) -> Credential:
    """The screen's credential for `user`: the quota and the tasks are keyed ``user:<id>``."""
    return Credential(key=f"user:{user.pk}", secret="", db_id=None, role=role_of(user) or "viewer")


def models() -> list[dict]:
    """Every model id the API knows, with whether a back-end serves it (or why not)."""
    out = []
    for family, tiers in backends.FAMILIES.items():
        for tier, model_id in tiers.items():
            try:
                backend = backends.for_model(family, model_id)
                served, problem = True, f"served by {backend.setting}"
            except GenerationError as error:
                served, problem = False, error.message
            out.append({"id": model_id, "family": family, "tier": tier, "served": served, "note": problem})
    return out


def _form_values(data) -> dict:
    values = {name: str(data.get(name, default)) for name, default in DEFAULTS.items()}
    values["prompt"] = values["prompt"][:gen_request.MAX_PROMPT + 1]
    return values


def _int(text: str, field: str):
    text = text.strip()
    try:
        return int(text)
    except ValueError:
        raise GenerationError(f"{field} must be a whole number", details={"field": field}) from None


def body_from_form(values: dict) -> dict:
    """The API's JSON body for the form's values (checked by the API itself afterwards)."""
    model_id = values["model"]
    if model_id not in backends.MODELS:
        raise GenerationError(f"Unknown model {model_id!r}", details={"field": "model"})
    family, tier = backends.MODELS[model_id]
    body: dict = {"prompt": values["prompt"], "model": {"family": family, "tier": tier}}
    if values["size_mode"] == "exact":
        body["image_size"] = {"width": _int(values["width"], "image_size.width"),
                              "height": _int(values["height"], "image_size.height")}
    else:
        body["image_size"] = {"aspect_ratio": values["aspect_ratio"], "resolution": values["resolution"]}
    if values["seed"].strip():
        body["seed"] = _int(values["seed"], "seed")
    body["format"] = values["format"]
    if values["target"] == "managed_asset":
        name, folder = values["public_id"].strip().strip("/"), values["folder"].strip().strip("/")
        target: dict = {"target_type": "managed_asset"}
        if folder and not name:
            raise GenerationError("A folder needs a public ID: the asset's name inside the folder",
                                  details={"field": "target.public_id"})
        if name:  # the folder is the public_id's path, as in the Upload API
            target["public_id"] = f"{folder}/{name}" if folder else name
        body["target"] = target
    else:
        body["target"] = {"target_type": "temporary"}
    return body


def api_url(request) -> str:
    return f"{base_url(request)}/v2/generate/{settings.DAM_CLOUD_NAME}/text_to_image"


def snippets(url: str, body: dict) -> dict:
    """{"curl", "python", "node", "json"}: the same request as code; every value a literal of its
    language (shell: one ``shlex.quote``d argument; Python: ``py_literal``; JS: ``js_literal``)."""
    text = json.dumps(body, indent=2, ensure_ascii=False)
    curl = ("curl -u \"$CLOUDINARY_API_KEY:$CLOUDINARY_API_SECRET\" \\\n"
            "  -H 'Content-Type: application/json' \\\n"
            f"  -d {shlex.quote(text)} \\\n"
            f"  {shlex.quote(url)}")
    python = ("import os\n\nimport requests\n\n"
              f"response = requests.post(\n    {py_literal(url)},\n"
              "    auth=(os.environ[\"CLOUDINARY_API_KEY\"], os.environ[\"CLOUDINARY_API_SECRET\"]),\n"
              f"    json={py_literal(body)},\n    timeout=300,\n)\n"
              "response.raise_for_status()\nprint(response.json())")
    node = ("const auth = Buffer.from(process.env.CLOUDINARY_API_KEY + \":\" + "
            "process.env.CLOUDINARY_API_SECRET).toString(\"base64\");\n\n"
            f"fetch({js_literal(url)}, {{\n  method: \"POST\",\n"
            "  headers: {Authorization: \"Basic \" + auth, \"Content-Type\": \"application/json\"},\n"
            f"  body: JSON.stringify({js_literal(body)}),\n}})\n"
            "  .then((response) => response.json())\n"
            "  .then((answer) => console.log(JSON.stringify(answer, null, 2)));")
    return {"curl": curl, "python": python, "node": node, "json": text}


def _code(request, values: dict) -> dict:
    try:
        body = body_from_form(values)
    except GenerationError as error:
        return {"problem": error.message}
    return snippets(api_url(request), body)


def _tasks_for(user):
    rows = GenerationTask.objects.order_by("-created_at", "-id")
    if not has_role(user, "admin"):
        rows = rows.filter(api_key=credential_of(user).key)
    return rows


def _task(request, task_id: str) -> GenerationTask:
    task = _tasks_for(request.user).filter(task_id=str(task_id)[:64]).first()
    if task is None:
        raise Http404("No such generation task")
    return task


def _relative(url: str) -> str:
    """A result URL as a path on this server (the worker wrote it with its own base URL)."""
    parts = urlsplit(url or "")
    return parts.path + (f"?{parts.query}" if parts.query else "")


def task_view(request, task: GenerationTask) -> dict:
    """What the page shows of a task: its request, state, error, and the result's preview."""
    req = task.request or {}
    view = {"task": task, "prompt": req.get("prompt", ""), "model": req.get("model_id", ""),
            "size": f"{req.get('width')}×{req.get('height')}", "format": req.get("format", ""),
            "target": req.get("target_type", ""), "seed": req.get("seed"), "done": task.status in TERMINAL,
            "error": (task.error or {}).get("message", ""), "result": None}
    for entry in ((task.result or {}).get("assets") or [])[:1]:
        storage = entry.get("storage") or {}
        result = {"width": entry.get("width"), "height": entry.get("height"), "seed": entry.get("seed"),
                  "model": (entry.get("model") or {}).get("id", view["model"]), "format": entry.get("format"),
                  "kind": storage.get("storage_type"), "src": "", "asset": None,
                  "expires_at": storage.get("expires_at")}
        if result["kind"] == "managed_asset":
            asset = Asset.objects.filter(asset_id=storage.get("asset_id")).first()
            if asset is not None:
                result.update(asset=asset, src=links.path(asset), public_id=asset.public_id,
                              asset_url=reverse("asset", args=[asset.asset_id]),
                              studio_url=reverse("studio", args=[asset.asset_id]))
            else:
                result["gone"] = "The asset has since been deleted."
        else:
            row = task.temporaries.order_by("-id").first()
            if row is not None and not results.expired().filter(pk=row.pk).exists():
                result["src"] = _relative(results.temporary_url(row, request))
            else:
                result["gone"] = "This temporary image has expired."
        view["result"] = result
    return view


def _owners(views: list[dict]) -> None:
    """Who made each task, for an admin's list: a user's name, or the API key."""
    ids = {v["task"].api_key[5:] for v in views if v["task"].api_key.startswith("user:")}
    names = {str(pk): name for pk, name in get_user_model().objects.filter(
        pk__in=[i for i in ids if i.isdigit()]).values_list("pk", "username")}
    for view in views:
        key = view["task"].api_key
        view["owner"] = names.get(key[5:], key) if key.startswith("user:") else f"API key {key}"


def _recent(request) -> dict:
    """The recent tasks' section: the user's (an admin's: everyone's) and this month's usage."""
    usage = quota.current(credential_of(request.user).key)
    views = [task_view(request, t) for t in _tasks_for(request.user)[:RECENT]]
    if has_role(request.user, "admin"):
        _owners(views)
    return {"tasks": views,
            "all_users": has_role(request.user, "admin"), "quota": usage,
            "remaining": max(0, usage.limit - usage.used)}


def _page(request, values: dict, *, task=None, problem: str = "", status: int = 200):
    available = models()
    served = [m for m in available if m["served"]]
    if served and values["model"] not in {m["id"] for m in served}:
        values = {**values, "model": served[0]["id"]}
    context = {"values": values, "models": available, "served": served, "problem": problem,
               "aspect_ratios": list(gen_request.ASPECT_RATIOS), "resolutions": list(gen_request.RESOLUTIONS),
               "formats": ("png", "jpeg", "webp"), "min_side": gen_request.MIN_SIDE, "max_side": gen_request.MAX_SIDE,
               "max_prompt": gen_request.MAX_PROMPT, "code": _code(request, values), "code_tabs": CODE_TABS,
               "current": task_view(request, task) if task is not None else None, **_recent(request)}
    return render(request, "studio/generate.html", context, status=status)


def _values_of(task: GenerationTask) -> dict:
    """The form filled with a task's request (the same generation again, or a variation of it)."""
    req = task.request or {}
    values = dict(DEFAULTS, prompt=req.get("prompt", ""), model=req.get("model_id", DEFAULTS["model"]),
                  format=req.get("format", "png"), target=req.get("target_type", "temporary"),
                  size_mode="exact", width=str(req.get("width", "")), height=str(req.get("height", "")))
    if req.get("seed") is not None:
        values["seed"] = str(req["seed"])
    if req.get("public_id"):
        folder, _, name = req["public_id"].rpartition("/")
        values.update(public_id=name, folder=folder)
    return values


@requires("editor")
@require_http_methods(["GET", "POST"])
def generate_page(request):
    if request.method == "GET":
        return _page(request, _form_values(request.GET if "prompt" in request.GET else DEFAULTS))
    values = _form_values(request.POST)
    try:
        body = body_from_form(values)
        if "seed" not in body:  # "random": chosen here, so the result's seed is known
            body["seed"] = secrets.randbelow(gen_request.MAX_SEED + 1)
        _, answer = generation.text_to_image({**body, "async": True}, credential_of(request.user), request)
    except GenerationError as error:
        if request.htmx:
            return render(request, "studio/partials/generate_problem.html", {"problem": error.message}, status=422)
        return _page(request, values, problem=error.message, status=error.status)
    task = GenerationTask.objects.get(task_id=answer["data"]["task_id"])
    if request.htmx:
        response = render(request, "studio/partials/generate_task.html",
                          {"current": task_view(request, task), "oob_code": _code(request, _values_of(task)),
                           "code_tabs": CODE_TABS, "oob_recent": _recent(request)})
        response["HX-Push-Url"] = reverse("generate-task", args=[task.task_id])
        return response
    return redirect("generate-task", task_id=task.task_id)


@requires("editor")
@require_GET
def generate_task(request, task_id: str):
    task = _task(request, task_id)
    return _page(request, _values_of(task), task=task)


@requires("editor")
@require_GET
def generate_state(request, task_id: str):
    """The result area of a task (polled by htmx while the task runs; the recent list with it
    once it ends)."""
    task = _task(request, task_id)
    context = {"current": task_view(request, task)}
    if task.status in TERMINAL:
        context["oob_recent"] = _recent(request)
    return render(request, "studio/partials/generate_task.html", context)


@requires("editor")
@require_GET
def generate_code(request):
    """The snippets for the form as it is now (htmx, on every change of the form)."""
    return render(request, "studio/partials/generate_code.html",
                  {"code": _code(request, _form_values(request.GET)), "code_tabs": CODE_TABS})
