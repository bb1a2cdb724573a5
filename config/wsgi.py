"""WSGI entry point (the production server: config.wsgi:application, served by granian).

Outermost, config.accesslog writes the access log (DAM_ACCESS_LOG); then transforms.memo
answers repeated delivery requests from a per-process memo after one query;
config.server cleans what granian puts in the environ; ChunkedBodyMiddleware gives
Django a Content-Length for chunked bodies."""

import os

from django.core.wsgi import get_wsgi_application

from assets.chunked import ChunkedBodyMiddleware
from config import accesslog
from config.server import GranianEnviron

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

_django = get_wsgi_application()

from transforms.memo import DeliveryMemo  # noqa: E402  (after django.setup())

application = accesslog.wrap(DeliveryMemo(GranianEnviron(ChunkedBodyMiddleware(_django))))
