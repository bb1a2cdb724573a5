"""Cloudinary's error shape: ``{"error": {"message": ...}}`` with a meaningful status.

The error types every layer raises.  Plain Python: the web framework that turns them
into responses lives above (core.responses for Django views, assets.api.errors for
Django REST framework's exception handler).
"""

from __future__ import annotations


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
