"""Cloudinary's error body as a plain Django response, for views outside Django REST
framework (delivery, the Studio's JSON calls, the catch-all 404 of ``/v1_1/...``)."""

from __future__ import annotations

from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt

from core.errors import error_body


def error_response(message: str, status: int, headers: dict | None = None) -> JsonResponse:
    response = JsonResponse(error_body(message), status=status)
    for key, value in (headers or {}).items():
        response[key] = value
    return response


@csrf_exempt  # API callers send no CSRF token: a POST must get this 404, not the CSRF 403 page
def not_found(request, *args, **kwargs) -> JsonResponse:
    """Any ``/v1_1/...`` path no API route matches (an empty public_id, tag or folder, an
    unknown call), whatever the method: Cloudinary's JSON 404, not Django's HTML page."""
    return error_response(f"Not found: no API call at {request.path}", 404)
