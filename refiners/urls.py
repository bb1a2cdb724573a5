from django.urls import path

from . import views
from .generative import views as generative

PREFIX = "v1_1/<str:cloud_name>/refiners"

urlpatterns = [
    # the Generative AI Refiner's own shape (before the generic pattern, whose public_id is a path)
    path(f"{PREFIX}/generative/<str:type>/<path:public_id>/variations/<str:batch_id>", generative.BatchView.as_view(),
         name="refiner-generative-batch"),
    path(f"{PREFIX}/generative/<str:type>/<path:public_id>/variations", generative.VariationsView.as_view(),
         name="refiner-generative-variations"),
    path(f"{PREFIX}/generative/<str:type>/<path:public_id>", generative.ChosenView.as_view(),
         name="refiner-generative"),
    path(f"{PREFIX}/<str:name>/<str:type>/<path:public_id>", views.RefinerView.as_view(), name="refiner"),
]
