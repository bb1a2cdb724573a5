from django.urls import path

from . import views

urlpatterns = [
    path("v1_1/<str:cloud_name>/refiners/<str:name>/<str:type>/<path:public_id>", views.RefinerView.as_view(),
         name="refiner"),
]
