from django.apps import AppConfig


class RefinersConfig(AppConfig):
    name = "refiners"
