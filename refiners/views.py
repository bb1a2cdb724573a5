"""The refiners' HTTP API for REST clients (Admin API auth: HTTP Basic API key/secret),
one view for every refiner of the registry (refiners.base).

``GET|PUT|DELETE /v1_1/<cloud>/refiners/<name>/<type>/<public_id>``: the asset's
current revision; PUT (or POST) ``{"<payload>": ..., "base_revision": n}`` (JSON, or a
form whose payload field is the JSON text) saves a new revision; DELETE saves an empty
one.  For background_removal the payload is ``strokes`` (refiners.background); a
refiner whose `payload` is a tuple of fields gets the body's fields of those names as
one dict (focus_areas: ``{"faces": ..., "custom": ..., "regions": ...}``, any of them;
refiners.focus), and DELETE saves its `empty()`.  404 for
an unknown refiner or asset, 400 for a bad payload, 409 when ``base_revision`` is not
the current one.  Writes need an editor or admin key (like every Admin API write).
"""

from __future__ import annotations

from rest_framework.response import Response

from assets.api import admin_base as base
from assets.api.admin_base import AdminView
from assets.models import Asset
from core.errors import BadRequest, NotFound

from . import base as refiners


def get_asset(type_: str, public_id: str) -> Asset:
    base.check_type(type_)
    asset = Asset.objects.filter(resource_type="image", type=type_, public_id=public_id).first()
    if asset is None:
        raise NotFound(f"Resource not found - {public_id}")
    return asset


def get_refiner(name: str) -> refiners.Refiner:
    refiner = refiners.get(name)
    if refiner is None:
        raise NotFound(f"Unknown refiner {name!r}: use one of {', '.join(sorted(refiners.REFINERS))}")
    return refiner


def payload_of(refiner: refiners.Refiner, params: dict):
    """The refiner's payload from the request's parameters; 400 when it is missing."""
    if isinstance(refiner.payload, tuple):
        given = {name: params[name] for name in refiner.payload if name in params}
        if not given:
            raise BadRequest(f"Missing required parameter - one of {', '.join(refiner.payload)}")
        return given
    if refiner.payload not in params:
        raise BadRequest(f"Missing required parameter - {refiner.payload}")
    return params[refiner.payload]


class RefinerView(AdminView):
    def get(self, request, cloud_name: str, name: str, type: str, public_id: str):
        refiner, asset = get_refiner(name), get_asset(type, public_id)
        return Response(refiner.as_dict(refiner.current(asset), asset))

    def put(self, request, cloud_name: str, name: str, type: str, public_id: str):
        refiner, asset = get_refiner(name), get_asset(type, public_id)
        revision = refiner.save(asset, payload_of(refiner, self.params), base_revision=self.params.get("base_revision"))
        return Response(refiner.as_dict(revision, asset))

    post = put  # for clients that cannot send PUT

    def delete(self, request, cloud_name: str, name: str, type: str, public_id: str):
        refiner, asset = get_refiner(name), get_asset(type, public_id)
        revision = refiner.save(asset, refiner.empty(), base_revision=self.params.get("base_revision"))
        return Response(refiner.as_dict(revision, asset))
