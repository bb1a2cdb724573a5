from django.apps import AppConfig


class AssetsConfig(AppConfig):
    name = "assets"
    verbose_name = "Assets"

    def ready(self):
        from . import receivers  # noqa: F401  (queues the image metadata of stored versions)
        from .generation import tasks as _generation  # noqa: F401  (the worker registers its Celery tasks)
        from django.db.models.signals import post_migrate

        from .search import text  # the search index's triggers, back after a table rebuild

        post_migrate.connect(text.ensure_index, sender=self, dispatch_uid="assets.search.ensure_index")
