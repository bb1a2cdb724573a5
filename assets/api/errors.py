"""Cloudinary's error shape: ``{"error": {"message": ...}}`` with a meaningful status."""

from __future__ import annotations

import logging

from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.http import Http404, JsonResponse
from rest_framework import exceptions as drf_exceptions
from rest_framework.response import Response

log = logging.getLogger(__name__)


class ApiError(Exception):
    status = 400

    def __init__(self, message: str, status: int | None = None, headers: dict | None = None):
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status
        self.headers = headers or {}


class BadRequest(ApiError):
    status = 400


class Unauthorized(ApiError):
    status = 401


class Forbidden(ApiError):
    status = 403


class NotFound(ApiError):
    status = 404


class Conflict(ApiError):
    status = 409


class RateLimited(ApiError):
    status = 420


def error_body(message: str) -> dict:
    return {"error": {"message": message}}


def error_response(message: str, status: int, headers: dict | None = None) -> JsonResponse:
    response = JsonResponse(error_body(message), status=status)
    for key, value in (headers or {}).items():
        response[key] = value
    return response


def not_found(request, *args, **kwargs) -> JsonResponse:
    """Any ``/v1_1/...`` path no API route matches (an empty public_id, tag or folder, an
    unknown call): Cloudinary's JSON 404, not Django's HTML page."""
    return error_response(f"Not found: no API call at {request.path}", 404)


def exception_handler(exc, context):
    """DRF exception handler: every error leaves as Cloudinary's JSON shape."""
    if isinstance(exc, ApiError):
        return Response(error_body(exc.message), status=exc.status, headers=exc.headers)
    if isinstance(exc, Http404):
        return Response(error_body(str(exc) or "Not found"), status=404)
    if isinstance(exc, RequestDataTooBig):
        return Response(error_body(f"Request body too large: {exc}"), status=413)
    if isinstance(exc, SuspiciousOperation):  # e.g. more form fields than DATA_UPLOAD_MAX_NUMBER_FIELDS
        return Response(error_body(f"Invalid request: {exc}"), status=400)
    if isinstance(exc, drf_exceptions.APIException):
        detail = exc.detail
        if isinstance(detail, dict):
            detail = "; ".join(f"{k}: {v}" for k, v in detail.items())
        elif isinstance(detail, list):
            detail = "; ".join(str(d) for d in detail)
        return Response(error_body(str(detail)), status=exc.status_code)
    log.exception("unhandled API error")
    return Response(error_body("General Error"), status=500)
