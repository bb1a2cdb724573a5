"""Django's 403/404/500 handlers (``handler403`` & co. in ``config/urls.py``).

A browser asking for a screen (its ``Accept`` names ``text/html``, and the path is not the
``/v1_1/`` API) gets a page inside the site's layout with a way back; every other caller
(API clients, htmx and fetch calls, image requests) gets Cloudinary's JSON error body
with the same status, as before. Delivery never reaches these: its middleware and view
answer their own errors with an ``X-Cld-Error`` header.

The 500 page is rendered without the request's context (no user, no session lookups), so
a failing database or session store cannot fail it a second time.
"""

from __future__ import annotations

from django.http import HttpResponse
from django.template import loader

from core.responses import error_response

MESSAGES = {
    403: "You do not have permission to do this.",
    404: "There is nothing at this address.",
    500: "Something went wrong on the server.",
}


def wants_page(request) -> bool:
    """A screen: not the API, and the client accepts HTML (a browser's navigation does)."""
    return not request.path.startswith("/v1_1/") and "text/html" in request.headers.get("Accept", "")


def _json(request, status: int) -> HttpResponse:
    return error_response(f"{MESSAGES[status]} ({request.path})" if status == 404 else MESSAGES[status], status)


def permission_denied(request, exception=None):
    if not wants_page(request):
        return _json(request, 403)
    body = loader.render_to_string("403.html", {"message": str(exception or "") or MESSAGES[403]}, request)
    return HttpResponse(body, status=403)


def page_not_found(request, exception=None):
    if not wants_page(request):
        return _json(request, 404)
    return HttpResponse(loader.render_to_string("404.html", {"path": request.path}, request), status=404)


def server_error(request):
    if not wants_page(request):
        return _json(request, 500)
    return HttpResponse(loader.render_to_string("500.html"), status=500)
