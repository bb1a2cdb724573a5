from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("django-admin/", admin.site.urls),
    path("", include("assets.api.urls")),
    path("", include("refiners.urls")),
    path("", include("studio.urls")),
    path("", include("transforms.urls")),
]
