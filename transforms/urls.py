import re

from django.urls import re_path

from .views import deliver

# Only `/<cloud>/image/...`; first segments the rest of the site uses are never a cloud name.
RESERVED = r"v1_1|static|media|django-admin|admin|api|login|logout|library|studio|assets|refiners|transformations|health"
PATTERN = rf"^(?!(?:{RESERVED})/)(?P<cloud>[^/]+)/image/(?P<rest>[\s\S]+)$"
DELIVERY = re.compile(PATTERN)  # also transforms.middleware's (GET/HEAD skip the site's middleware)

urlpatterns = [
    re_path(PATTERN, deliver, name="delivery"),
]
