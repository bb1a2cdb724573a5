"""A short way through Django for delivery URLs.

``GET``/``HEAD /<cloud>/image/...`` needs none of the middleware the site's pages need
(sessions, authentication, CSRF, messages, htmx): it reads only the path and a few
headers.  Placed right after ``RequestIdMiddleware``, this sends such requests straight
to the delivery view and gives the answer the headers the skipped security middleware
would have added, so delivery answers the same with or without it.  Other methods (a
``POST`` meets CSRF as before) and every other path go through the whole stack.

The URL is matched with the delivery routes' own patterns (transforms.cloudinary.route, and
transforms.imagekit.route for ``/ik/<cloud>/...``), so the short way and the URLconf never
disagree about what is a delivery URL.
"""

from __future__ import annotations

from django.middleware.clickjacking import XFrameOptionsMiddleware
from django.middleware.security import SecurityMiddleware

from .cloudinary.route import DELIVERY
from .imagekit import views as imagekit_views
from .imagekit.route import DELIVERY as IMAGEKIT_DELIVERY
from .views import deliver

_METHODS = frozenset(("GET", "HEAD"))


class DeliveryMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response
        self.routes = ((DELIVERY, deliver), (IMAGEKIT_DELIVERY, imagekit_views.deliver))
        self.security = SecurityMiddleware(get_response)
        self.frame_options = XFrameOptionsMiddleware(get_response)

    def __call__(self, request):
        if request.method in _METHODS:
            path = request.path_info[1:]
            for route, view in self.routes:
                match = route.match(path)
                if match is not None:
                    return self._deliver(request, view, match)
        return self.get_response(request)

    def _deliver(self, request, view, match):
        request.get_host()  # ALLOWED_HOSTS, as CommonMiddleware checks it (DisallowedHost: 400)
        redirect = self.security.process_request(request)  # SECURE_SSL_REDIRECT
        if redirect is not None:
            return redirect
        response = view(request, match["cloud"], match["rest"])
        response = self.security.process_response(request, response)
        return self.frame_options.process_response(request, response)
