from django.apps import AppConfig

from assets.hooks import provide


class TransformsConfig(AppConfig):
    name = "transforms"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # AppConfig.ready: these import models, loadable only once every app is.
        from . import derived, derived_api, receivers  # noqa: F401  (connects the derived-cache receivers)
        from .ai import detect, faces, legacy, stages  # noqa: F401  (detect provides object gravities' detector)
        from .ai import receivers as ai_receivers  # noqa: F401  (AI results follow their asset)
        from .cloudinary import breakpoints, compose, eager, entry, named

        derived.first_render_stored.connect(named.record_stored, dispatch_uid="transforms.cloudinary.named.record_stored")

        stages.register_dialect("cloudinary", entry.from_text)  # how a worker reads a generative step's plan
        provide("renderings", derived_api)  # the Admin API's derived resources (assets.hooks)
        provide("background_removal", legacy)  # the legacy upload/update add-on
        provide("faces", faces)  # face detection for faces=true (upload, explicit)
        provide("eager", eager)  # an upload's eager transformations
        provide("breakpoints", breakpoints)  # responsive_breakpoints on upload and explicit
        provide("compose", compose)  # the Upload API's text, multi and sprite
