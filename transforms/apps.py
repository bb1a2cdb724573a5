from django.apps import AppConfig


class TransformsConfig(AppConfig):
    name = "transforms"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import receivers  # noqa: F401  (connects the derived-cache receivers)
        from .ai import receivers as ai_receivers  # noqa: F401  (cut-outs follow their asset)
