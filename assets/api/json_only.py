"""Django REST framework hooks that keep every ``/v1_1/`` answer Cloudinary's JSON.

- `JsonOnly`: content negotiation that ignores ``Accept`` (Cloudinary does): a browser's
  ``Accept: text/html`` gets the same JSON, not DRF's 406.
- `MethodsOnly`: ``OPTIONS`` answers the methods the route takes (also in ``Allow``), not
  DRF's self-description (view names and docstrings).
"""

from __future__ import annotations

from rest_framework.metadata import BaseMetadata
from rest_framework.negotiation import DefaultContentNegotiation


class JsonOnly(DefaultContentNegotiation):
    def select_renderer(self, request, renderers, format_suffix=None):
        renderer = renderers[0]
        return renderer, renderer.media_type


class MethodsOnly(BaseMetadata):
    def determine_metadata(self, request, view):
        return {"methods": list(view.allowed_methods)}
