"""The Generative AI Refiner's REST API (Admin API auth: viewer keys GET only, editor+ write).

- ``POST .../refiners/generative/<type>/<public_id>/variations`` ``{"transformation", "count"
  (1-8), "prompt"?}`` -> 202 ``{"id", "status": "pending"}``: the variations are queued.
- ``GET .../variations/<id>`` -> ``{"id", "status": "pending|processing|complete|failed",
  "variations": [{"id", "seed", "url", "status", "error"?}]}``: ``url`` delivers that variation.
- ``PUT .../refiners/generative/<type>/<public_id>`` ``{"transformation", "variation"}``
  chooses it (the chosen entry back); ``GET`` -> ``{"chosen": [{"transformation",
  "variation", "url"}]}``; ``DELETE`` ``{"transformation"}`` drops one choice (404 if none).
400 for a bad body or a text without a generative step or with variables, 404 for an unknown
asset, batch or variation, 409 when the asset changed or the variation is not complete, 429
beyond refiners.generative.store.MAX_PER_TRANSFORMATION variations of one text.
"""

from __future__ import annotations

from rest_framework.response import Response

from assets.api.admin_base import AdminView

from ..views import get_asset
from . import store


class ChosenView(AdminView):
    def get(self, request, cloud_name: str, type: str, public_id: str):
        return Response(store.chosen_dict(get_asset(type, public_id), request))

    def put(self, request, cloud_name: str, type: str, public_id: str):
        asset = get_asset(type, public_id)
        chosen = store.choose(asset, self.params.get("transformation"), self.params.get("variation"))
        return Response({"transformation": chosen.transformation, "variation": str(chosen.result_id),
                         "seed": chosen.seed, "prompt": chosen.prompt,
                         "url": store.url_of(asset, chosen.transformation, request)})

    def delete(self, request, cloud_name: str, type: str, public_id: str):
        asset = get_asset(type, public_id)
        store.unchoose(asset, self.params.get("transformation"))
        return Response(store.chosen_dict(asset, request))


class VariationsView(AdminView):
    def post(self, request, cloud_name: str, type: str, public_id: str):
        asset = get_asset(type, public_id)
        found = store.generate(asset, self.params.get("transformation"), self.params.get("count", 1),
                               self.params.get("prompt"))
        return Response({"id": found.pk, "status": "pending"}, status=202)


class BatchView(AdminView):
    def get(self, request, cloud_name: str, type: str, public_id: str, batch_id: str):
        asset = get_asset(type, public_id)
        return Response(store.batch_dict(asset, store.batch(asset, batch_id), request))
