"""The ImageKit delivery URL's shape, ``/ik/<cloud>/<rest>``: one compiled pattern that the
URLconf (transforms.urls), the short way through Django (transforms.middleware) and the
per-process answer memo (transforms.memo) all match with, beside transforms.cloudinary.route.
An ImageKit SDK is given ``http://<host>/ik/<cloud>`` as its ``urlEndpoint``; ``ik`` is a
reserved first segment of the Cloudinary route, so no cloud is named so."""

import re

from ..cloudinary.route import IMAGEKIT_PREFIX as PREFIX
PATTERN = rf"^{PREFIX}/(?P<cloud>[^/]+)/(?P<rest>[\s\S]+)$"
DELIVERY = re.compile(PATTERN)
