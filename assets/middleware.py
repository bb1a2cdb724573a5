"""Every response carries an ``X-Request-Id`` (the caller's, when it sent a sane one)."""

import re
import uuid

# A caller's id is kept only when it matches (transforms.memo applies the same rule).
SANE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class RequestIdMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        given = request.headers.get("X-Request-Id", "")
        request.request_id = given if SANE_REQUEST_ID.match(given) else uuid.uuid4().hex
        response = self.get_response(request)
        response["X-Request-Id"] = request.request_id
        return response
