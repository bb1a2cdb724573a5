from django.apps import AppConfig


class ServerConfig(AppConfig):
    """The top layer as a Django app, for the start-up work that needs every layer loaded."""

    name = "config"
    verbose_name = "Server configuration"

    def ready(self):
        # Celery reads Django settings lazily, on first use.  Load them now, while they
        # are the real ones: a first use under a temporary settings override (tests)
        # would otherwise freeze an incomplete configuration.
        from config.celery import app  # AppConfig.ready: once Django's settings are loaded

        app.conf.broker_transport_options  # noqa: B018
