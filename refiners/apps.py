from django.apps import AppConfig

from assets.hooks import provide


class RefinersConfig(AppConfig):
    name = "refiners"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # AppConfig.ready: the refiners' modules import models, loadable only once every app is.
        from . import background, base, focus, receivers  # noqa: F401 - registers the refiners, connects the signals

        base.install()  # the engine asks the registry for each render's overrides (transforms.overrides)
        provide("refiners", base)  # the Admin API's resource details list the revisions (assets.hooks)
