from django.apps import AppConfig


class RefinersConfig(AppConfig):
    name = "refiners"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import background, base, receivers  # noqa: F401 - registers the refiners, connects the signals

        base.install()  # the engine asks the registry for each render's overrides (transforms.overrides)
