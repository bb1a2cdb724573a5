from django.apps import AppConfig


class StudioConfig(AppConfig):
    name = "studio"

    def ready(self):
        # Django's own admin log-in is throttled like the Studio's (studio.login).
        from django.contrib import admin

        from .login import AdminLoginForm  # AppConfig.ready: a form on the auth models

        admin.site.login_form = AdminLoginForm
