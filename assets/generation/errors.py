"""The Image Generation API's errors: ``{"error": {"category", "code", "message", "details"},
"request_id"}``.

Categories are Cloudinary's (user_error, auth_error, rate_limit_error, server_error).  Statuses
400/401/403/404/429 are the documented ones; for a back-end's failure this server answers 502
(bad answer, errors) and 504 (time-out), and 503 for a back-end setting that cannot be read.
"""

from __future__ import annotations

from core.errors import ApiError


class GenerationError(ApiError):
    def __init__(self, message: str, *, status: int = 400, category: str = "user_error", code: str = "invalid_request",
                 details: dict | None = None, headers: dict | None = None):
        super().__init__(message, status=status, headers=headers)
        self.category, self.code, self.details = category, code, details or {}

    def as_json(self) -> dict:
        return {"category": self.category, "code": self.code, "message": self.message, "details": self.details}


def invalid(message: str, field: str | None = None, **details) -> GenerationError:
    """A 400 user_error about the request body (``details.field`` names the field)."""
    if field:
        details = {"field": field, **details}
    return GenerationError(message, details=details)


CATEGORY_OF_STATUS = {401: ("auth_error", "unauthorized"), 403: ("auth_error", "forbidden"),
                      404: ("user_error", "not_found"), 420: ("rate_limit_error", "rate_limited"),
                      429: ("rate_limit_error", "rate_limited")}


def from_api_error(error: ApiError) -> GenerationError:
    """Any other layer's ApiError (auth, ingest...) in this API's shape."""
    if isinstance(error, GenerationError):
        return error
    status = 429 if error.status == 420 else error.status
    if status >= 500:
        category, code = "server_error", "internal_error"
    else:
        category, code = CATEGORY_OF_STATUS.get(status, ("user_error", "invalid_request"))
    return GenerationError(error.message, status=status, category=category, code=code, headers=error.headers)
