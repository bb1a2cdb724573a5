"""Django REST framework's exception handler: every API error leaves in Cloudinary's
JSON shape.  The error types themselves are core.errors (framework-free)."""

from __future__ import annotations

import logging

from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.http import Http404
from rest_framework import exceptions as drf_exceptions
from rest_framework.response import Response

from core.errors import ApiError, error_body

log = logging.getLogger(__name__)


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
