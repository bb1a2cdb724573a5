"""Admin API, upload mappings: ``GET|POST|PUT|DELETE upload_mappings`` (assets.mappings).

- ``GET upload_mappings``: ``{"mappings": [{folder, template}], "next_cursor"?}`` in folder order;
  with ``folder=<name>``: that mapping, ``{folder, template}`` (404 if none);
- ``POST`` with ``folder`` and ``template``: created (409 if the folder is mapped already);
- ``PUT`` with ``folder`` and ``template``: updated; ``DELETE`` with ``folder``: deleted.

Changing a mapping needs an admin key (the server fetches from its template).
"""

from __future__ import annotations

from django.db import IntegrityError, transaction
from rest_framework.response import Response

from core.errors import Conflict, NotFound

from .. import mappings
from ..models import UploadMapping
from . import admin_base as base


def mapping_json(mapping: UploadMapping) -> dict:
    return {"folder": mapping.folder, "template": mapping.template}


def _get(folder: str) -> UploadMapping:
    found = UploadMapping.objects.filter(folder=folder).first()
    if found is None:
        raise NotFound(f"Mapping not found - {folder}")
    return found


class UploadMappingsView(base.AdminView):
    def get(self, request, cloud_name: str):
        params = self.params
        if params.get("folder") not in (None, ""):
            return Response(mapping_json(_get(mappings.check_folder(params.get("folder")))))
        rows, cursor = base.keyset_page(UploadMapping.objects.order_by("folder"), params, "map", "folder",
                                        base.max_results(params))
        body = {"mappings": [mapping_json(m) for m in rows]}
        if cursor:
            body["next_cursor"] = cursor
        return Response(body)

    def post(self, request, cloud_name: str):
        folder = mappings.check_folder(self.params.get("folder"))
        template = mappings.check_template(self.params.get("template"))
        try:
            with transaction.atomic():
                UploadMapping.objects.create(folder=folder, template=template)
        except IntegrityError:
            raise Conflict(f"Folder {folder} is already mapped") from None
        return Response({"message": "created", "folder": folder})

    def put(self, request, cloud_name: str):
        folder = mappings.check_folder(self.params.get("folder"))
        template = mappings.check_template(self.params.get("template"))
        if not UploadMapping.objects.filter(folder=folder).update(template=template):
            raise NotFound(f"Mapping not found - {folder}")
        return Response({"message": "updated"})

    def delete(self, request, cloud_name: str):
        folder = mappings.check_folder(self.params.get("folder"))
        if not UploadMapping.objects.filter(folder=folder).delete()[0]:
            raise NotFound(f"Mapping not found - {folder}")
        return Response({"message": "deleted"})
