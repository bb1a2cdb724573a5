from django.urls import path

from . import views

urlpatterns = [
    path("v1_1/<str:cloud_name>/refiners/background_removal/<str:type>/<path:public_id>",
         views.BackgroundMaskView.as_view(), name="refiner-background-removal"),
]
