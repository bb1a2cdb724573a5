from django.urls import re_path

from .views import deliver

# Only `/<cloud>/image/...`; first segments the rest of the site uses are never a cloud name.
RESERVED = r"v1_1|static|media|django-admin|admin|api|login|logout|library|studio|assets|refiners|transformations|health"

urlpatterns = [
    re_path(rf"^(?!(?:{RESERVED})/)(?P<cloud>[^/]+)/image/(?P<rest>[\s\S]+)$", deliver, name="delivery"),
]
