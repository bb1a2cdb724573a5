from django.contrib import admin
from django.urls import include, path, re_path

from core.responses import not_found

urlpatterns = [
    path("django-admin/", admin.site.urls),
    path("", include("assets.api.urls")),
    path("", include("assets.generation.urls")),  # /v2/generate/... (Image Generation API)
    path("", include("refiners.urls")),
    path("", include("studio.urls")),
    path("", include("transforms.urls")),
    re_path(r"^v1_1(/|$)", not_found),  # after every API route: an unmatched API path answers JSON
]

# Screens get styled pages inside the layout; API and other non-HTML callers keep JSON errors.
handler403 = "studio.errors.permission_denied"
handler404 = "studio.errors.page_not_found"
handler500 = "studio.errors.server_error"
