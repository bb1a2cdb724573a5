"""The delivery URL's shape, ``/<cloud>/image/<rest>``: one compiled pattern that the
URLconf (transforms.urls), the short way through Django (transforms.middleware), the
per-process answer memo (transforms.memo) and the named-transformation log's flush
(transforms.cloudinary.named) all match with, so they never disagree about what is a
delivery URL.  It sits here, below all of them, so each imports it at module level."""

import re

# The first segment of ImageKit's delivery URLs, ``/ik/<cloud>/...`` (transforms.imagekit.route).
IMAGEKIT_PREFIX = "ik"

# Only `/<cloud>/image/...`; first segments the rest of the site uses are never a cloud name.
RESERVED = rf"v1_1|{IMAGEKIT_PREFIX}|static|media|django-admin|admin|api|login|logout|library|studio|assets|refiners|transformations|health"
PATTERN = rf"^(?!(?:{RESERVED})/)(?P<cloud>[^/]+)/image/(?P<rest>[\s\S]+)$"
DELIVERY = re.compile(PATTERN)

# Raw and video files, delivered as stored (transforms.views.deliver_file): ``/<cloud>/raw|video/...``.
FILES_PATTERN = rf"^(?!(?:{RESERVED})/)(?P<cloud>[^/]+)/(?P<resource_type>raw|video)/(?P<rest>[\s\S]+)$"


def is_delivery(path: str) -> bool:
    """Whether `path` (without its leading ``/``) is a delivery URL of either dialect: for code
    below the ImageKit dialect that only asks that (the named-transformation log's flush)."""
    return DELIVERY.match(path) is not None or path.startswith(IMAGEKIT_PREFIX + "/")
