"""WSGI entry point (the production server: config.wsgi:application).

Outermost, transforms.memo answers repeated delivery requests from a per-process memo
after one query; ChunkedBodyMiddleware gives Django a Content-Length for chunked bodies."""

import os

from django.core.wsgi import get_wsgi_application

from assets.chunked import ChunkedBodyMiddleware

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

_django = get_wsgi_application()

from transforms.memo import DeliveryMemo  # noqa: E402  (after django.setup())

application = DeliveryMemo(ChunkedBodyMiddleware(_django))
