from django.apps import AppConfig


class RefinersConfig(AppConfig):
    name = "refiners"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import receivers  # noqa: F401 - connects the signal handlers
