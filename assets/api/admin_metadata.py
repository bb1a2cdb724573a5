"""Admin API: structured metadata fields (``/v1_1/<cloud>/metadata_fields...``), as the
SDKs call them (JSON bodies; assets.metadata_fields holds the rules):

- ``GET|POST metadata_fields``: list (``{"metadata_fields": [...]}``), create;
- ``GET|PUT|DELETE metadata_fields/<external_id>``: one field, update, delete (``{"message": "ok"}``);
- ``PUT metadata_fields/<id>/datasource``: add or rename values; ``DELETE`` the same path
  with ``external_ids``: soft-delete them; ``POST .../datasource_restore``: restore them;
  ``POST .../datasource/order`` (``order_by=value``, ``direction``): sort them. Each
  answers the active values, ``{"values": [{"external_id", "value"}, ...]}``;
- ``PUT metadata_fields/order`` (``order_by`` label, external_id or created_at): the
  order fields are listed in.
"""

from __future__ import annotations

from rest_framework.response import Response

from .. import metadata_fields as md
from .admin_base import AdminView


def _field_body(request) -> dict:
    data = request.data
    if hasattr(data, "dict"):  # a form body: flat fields only
        return data.dict()
    return data if isinstance(data, dict) else {}


class FieldsView(AdminView):
    def get(self, request, cloud_name: str):
        return Response({"metadata_fields": [md.field_json(f) for f in md.all_fields()]})

    def post(self, request, cloud_name: str):
        field = md.create_field(_field_body(request))
        return Response(md.field_json(md.get_field(field.external_id)))


class FieldView(AdminView):
    def get(self, request, cloud_name: str, external_id: str):
        return Response(md.field_json(md.get_field(external_id)))

    def put(self, request, cloud_name: str, external_id: str):
        md.update_field(md.get_field(external_id), _field_body(request))
        return Response(md.field_json(md.get_field(external_id)))

    def delete(self, request, cloud_name: str, external_id: str):
        md.delete_field(md.get_field(external_id))
        return Response({"message": "ok"})


class FieldsOrderView(AdminView):
    def put(self, request, cloud_name: str):
        md.order_fields(self.params.get("order_by"), self.params.get("direction"))
        return Response({"metadata_fields": [md.field_json(f) for f in md.all_fields()]})


class DatasourceView(AdminView):
    def put(self, request, cloud_name: str, external_id: str):
        md.update_datasource(md.get_field(external_id), _field_body(request).get("values"))
        return Response(md.datasource_json(md.get_field(external_id)))

    def delete(self, request, cloud_name: str, external_id: str):
        md.set_state(md.get_field(external_id), self.params.get("external_ids"), "inactive")
        return Response(md.datasource_json(md.get_field(external_id)))


class DatasourceRestoreView(AdminView):
    def post(self, request, cloud_name: str, external_id: str):
        md.set_state(md.get_field(external_id), self.params.get("external_ids"), "active")
        return Response(md.datasource_json(md.get_field(external_id)))


class DatasourceOrderView(AdminView):
    def post(self, request, cloud_name: str, external_id: str):
        md.order_datasource(md.get_field(external_id), self.params.get("order_by"), self.params.get("direction"))
        return Response(md.datasource_json(md.get_field(external_id)))
