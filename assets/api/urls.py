from django.urls import path, re_path

from .upload import UploadApiView

urlpatterns = [
    path("v1_1/<str:cloud_name>/<str:resource_type>/<str:action>", UploadApiView.as_view(), name="upload-api"),
]
