from django.apps import AppConfig


class AssetsConfig(AppConfig):
    name = "assets"
    verbose_name = "Assets"

    def ready(self):
        # Celery reads Django settings lazily, on first use.  Load them now, while they
        # are the real ones: a first use under a temporary settings override (tests)
        # would otherwise freeze an incomplete configuration.
        from config.celery import app

        app.conf.broker_transport_options  # noqa: B018
