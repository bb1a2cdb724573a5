"""The refiners' HTTP API for REST clients (Admin API auth: HTTP Basic API key/secret).

``GET|PUT|DELETE /v1_1/<cloud>/refiners/background_removal/<type>/<public_id>``:
the asset's current background mask; PUT ``{"strokes": [...], "base_revision": n}``
(JSON, or a form whose ``strokes`` is the JSON text) saves a new revision with the
complete list; DELETE saves one without strokes.  Answers refiners.background.as_dict;
404 unknown asset, 400 bad strokes, 409 when ``base_revision`` is not the current one.
Writes need an editor or admin key (like every Admin API write).
"""

from __future__ import annotations

from rest_framework.response import Response

from assets.api import admin_base as base
from assets.api.admin_base import AdminView
from assets.api.errors import BadRequest, NotFound
from assets.models import Asset

from . import background


def get_asset(type_: str, public_id: str) -> Asset:
    base.check_type(type_)
    asset = Asset.objects.filter(resource_type="image", type=type_, public_id=public_id).first()
    if asset is None:
        raise NotFound(f"Resource not found - {public_id}")
    return asset


class BackgroundMaskView(AdminView):
    def get(self, request, cloud_name: str, type: str, public_id: str):
        asset = get_asset(type, public_id)
        return Response(background.as_dict(background.current(asset), asset))

    def put(self, request, cloud_name: str, type: str, public_id: str):
        asset = get_asset(type, public_id)
        if "strokes" not in self.params:
            raise BadRequest("Missing required parameter - strokes")
        mask = background.save(asset, self.params["strokes"], base_revision=self.params.get("base_revision"))
        return Response(background.as_dict(mask, asset))

    post = put  # for clients that cannot send PUT

    def delete(self, request, cloud_name: str, type: str, public_id: str):
        asset = get_asset(type, public_id)
        mask = background.save(asset, [], base_revision=self.params.get("base_revision"))
        return Response(background.as_dict(mask, asset))
