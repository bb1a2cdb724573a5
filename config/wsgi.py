"""WSGI entry point (the production server: config.wsgi:application, served by granian).

Outermost, config.accesslog writes the access log (DAM_ACCESS_LOG); then transforms.memo
answers repeated delivery requests from a per-process memo after one query;
config.server cleans what granian puts in the environ; assets.bodyguard receives request
bodies within bounds (admission, size, time, rate) before Django runs, and de-chunks
chunked ones.  A worker sweeps the temporary files that dead workers left (assets.tempfiles)
when it starts."""

import os

from django.core.wsgi import get_wsgi_application

from config import accesslog
from config.server import GranianEnviron

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

_django = get_wsgi_application()

from assets import tempfiles  # noqa: E402  (after django.setup())
from assets.bodyguard import BodyGuard  # noqa: E402
from transforms.memo import DeliveryMemo  # noqa: E402

tempfiles.sweep()
application = accesslog.wrap(DeliveryMemo(GranianEnviron(BodyGuard(_django))))
