"""HTTP for the Image Generation API: ``/v2/generate/<cloud>/...``, JSON in and out.

HTTP Basic ``api_key:api_secret`` (``assets.api.auth``); generating needs the editor role or above
(a viewer key gets 403), reading a task any role.  Plain Django views: every answer, errors
included, is this API's JSON whatever ``Accept`` says; an unknown path under ``/v2/generate/`` is a
JSON 404 (``not_found``), a wrong method a JSON 405.
"""

from __future__ import annotations

import json
import uuid

from django.http import HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from core.errors import ApiError

from .. import keys
from ..api import auth
from . import api, results
from .errors import GenerationError, from_api_error

MAX_BODY = 64 * 1024  # bytes of JSON a request may send


def _error(error: ApiError, request_id: str | None = None) -> JsonResponse:
    failure = from_api_error(error)
    response = JsonResponse({"error": failure.as_json(), "request_id": request_id or uuid.uuid4().hex},
                            status=failure.status)
    for name, value in failure.headers.items():
        response[name] = value
    if failure.status == 401:
        response["WWW-Authenticate"] = 'Basic realm="Image Generation API"'
    return response


def _method_not_allowed(allowed: str) -> JsonResponse:
    response = _error(GenerationError(f"Method not allowed: use {allowed}", status=405, code="method_not_allowed"))
    response["Allow"] = allowed
    return response


def _credential(request, cloud_name: str, write: bool) -> keys.Credential:
    auth.check_cloud(cloud_name)
    credential = auth.basic_credential(request)
    if credential is None:
        raise GenerationError("Must supply api_key and api_secret (HTTP Basic)", status=401, category="auth_error",
                              code="unauthorized")
    if write and credential.role == "viewer":
        raise GenerationError(f"API key {credential.key} has the viewer role: generating needs an editor or admin key",
                              status=403, category="auth_error", code="forbidden")
    keys.touch(credential)
    return credential


def _body(request) -> object:
    declared = request.META.get("CONTENT_LENGTH") or "0"
    if (declared.isdigit() and int(declared) > MAX_BODY) or len(request.body) > MAX_BODY:
        raise GenerationError(f"The request body is larger than {MAX_BODY} bytes", code="invalid_request")
    try:
        return json.loads(request.body or b"null")
    except (ValueError, UnicodeDecodeError):
        raise GenerationError("The request body is not valid JSON", code="invalid_json") from None


@csrf_exempt
def text_to_image(request, cloud_name: str):
    if request.method != "POST":
        return _method_not_allowed("POST")
    try:
        credential = _credential(request, cloud_name, write=True)
        status, body = api.text_to_image(_body(request), credential, request)
    except ApiError as error:
        return _error(error)
    return JsonResponse(body, status=status)


@csrf_exempt
def task(request, cloud_name: str, task_id: str):
    if request.method not in ("GET", "HEAD"):
        return _method_not_allowed("GET")
    try:
        credential = _credential(request, cloud_name, write=False)
        return JsonResponse(api.task_status(task_id, credential))
    except ApiError as error:
        return _error(error)


@csrf_exempt
def temporary(request, cloud_name: str, name: str):
    """A temporary image by its signed URL (no credential: the signature is the permission)."""
    if request.method not in ("GET", "HEAD"):
        return _method_not_allowed("GET")
    try:
        auth.check_cloud(cloud_name)
        row, data = results.open_temporary(name, request.GET.get("expires"), request.GET.get("signature"))
    except ApiError as error:
        return _error(error)
    response = HttpResponse(data, content_type=results.CONTENT_TYPES.get(row.format, "application/octet-stream"))
    response["Cache-Control"] = "private, max-age=300"
    response["X-Robots-Tag"] = "noindex"
    return response


@csrf_exempt
def not_found(request, *args, **kwargs):
    return _error(GenerationError(f"Not found: no Image Generation API call at {request.path}", status=404,
                                  code="not_found"))
