from django.apps import AppConfig

from assets.hooks import provide


class RefinersConfig(AppConfig):
    name = "refiners"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # AppConfig.ready: the refiners' modules import models, loadable only once every app is.
        from transforms.ai import stages

        # importing them registers the refiners and connects the signals
        from . import background, base, focus, generative, receivers  # noqa: F401

        stages.install_chooser(generative.chooser)  # a delivery's generative step gets the chosen variation
        base.install()  # the engine asks the registry for each render's overrides (transforms.overrides)
        provide("refiners", base)  # the Admin API's resource details list the revisions (assets.hooks)
