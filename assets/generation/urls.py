from django.urls import path, re_path

from . import views

urlpatterns = [
    path("v2/generate/<str:cloud_name>/text_to_image", views.text_to_image, name="generate-text-to-image"),
    path("v2/generate/<str:cloud_name>/tasks/<str:task_id>", views.task, name="generate-task"),
    re_path(r"^v2/generate/(?P<cloud_name>[^/]+)/temporary/(?P<name>[0-9a-f]{32}\.(?:png|jpg|webp))$",
            views.temporary, name="generate-temporary"),
    re_path(r"^v2/generate(/|$)", views.not_found),  # an unknown call answers this API's JSON
]
