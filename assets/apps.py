from django.apps import AppConfig


class AssetsConfig(AppConfig):
    name = "assets"
    verbose_name = "Assets"

    def ready(self):
        from . import receivers  # noqa: F401  (queues the image metadata of stored versions)
