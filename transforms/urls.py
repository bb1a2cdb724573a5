from django.urls import path, re_path

from . import api_named
from .cloudinary.route import FILES_PATTERN, PATTERN
from .imagekit import route as imagekit_route
from .imagekit import views as imagekit_views
from .views import deliver, deliver_file

ADMIN = "v1_1/<str:cloud_name>/"

urlpatterns = [
    # The Admin API's named and dynamic transformations (no other API route starts so).
    path(ADMIN + "transformations", api_named.TransformationsView.as_view(), name="admin-transformations"),
    path(ADMIN + "transformations/<path:name>", api_named.TransformationsView.as_view(),
         name="admin-transformation"),
    re_path(PATTERN, deliver, name="delivery"),
    re_path(FILES_PATTERN, deliver_file, name="delivery-file"),
    re_path(imagekit_route.PATTERN, imagekit_views.deliver, name="delivery-imagekit"),  # /ik/<cloud>/...
]
