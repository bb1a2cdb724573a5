"""Admin API, upload presets: ``GET|POST upload_presets``, ``GET|PUT|DELETE upload_presets/<name>``.

The SDKs send a preset's settings as top-level upload parameters (``build_upload_params``);
every one of them is kept in ``settings`` as sent, and the Upload API applies them as
defaults (see ``upload.UploadApiView._with_preset``).

Two rules of Cloudinary's are kept here and on the Studio's preset screen:

- an unsigned upload never overwrites an existing asset, so a preset that is both
  ``unsigned`` and ``overwrite`` is refused (400) instead of letting anyone who knows
  its name replace any asset (the Upload API forces ``overwrite`` off for unsigned
  uploads too, for presets stored before this rule);
- ``disallow_public_id`` is kept in the preset's ``settings`` (as the SDKs' own tests
  read it back) and the Upload API refuses a ``public_id`` sent with the preset.
"""

from __future__ import annotations

import re
import secrets
import string

from django.db import IntegrityError, transaction
from rest_framework.response import Response

from core.errors import BadRequest, Conflict, NotFound

from ..models import UploadPreset
from . import admin_base as base
from .admin_base import AdminView
from .params import as_bool

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\- ]{0,254}$")
# Preset attributes and request plumbing, not upload parameters.
NOT_SETTINGS = {"name", "unsigned", "timestamp", "live", "api_key", "signature",
                "upload_preset", "next_cursor", "max_results"}
BOOLEAN_SETTINGS = ("overwrite", "disallow_public_id")


def preset_json(preset: UploadPreset) -> dict:
    return {"name": preset.name, "unsigned": preset.unsigned, "settings": dict(preset.settings or {})}


def settings_from(params: dict) -> dict:
    settings = {k: v for k, v in params.items() if k not in NOT_SETTINGS and v is not None and v != ""}
    for name in BOOLEAN_SETTINGS:  # stored as booleans, whatever spelling the client sent
        if name in settings:
            settings[name] = as_bool(settings[name], False, name)
    return settings


def unsigned_overwrite_error(unsigned: bool, settings: dict) -> str | None:
    """Why an unsigned preset may not have these settings (None when it may)."""
    if unsigned and as_bool((settings or {}).get("overwrite"), False, "overwrite"):
        return ("An unsigned upload preset cannot overwrite existing assets: anyone who knows its name "
                "could replace any asset. Set overwrite to false, or make the preset signed.")
    return None


def check_preset(unsigned: bool, settings: dict) -> None:
    message = unsigned_overwrite_error(unsigned, settings)
    if message:
        raise BadRequest(message)


def check_name(name: str) -> str:
    if not NAME.match(name) or name != name.strip():
        raise BadRequest(f"Invalid upload preset name {name!r}: letters, digits, '_', '-', '.' and spaces, "
                         "starting with a letter or digit, at most 255 characters")
    return name


def get_preset(name: str) -> UploadPreset:
    preset = UploadPreset.objects.filter(name=name).first()
    if preset is None:
        raise NotFound(f"Upload preset {name} not found")
    return preset


def random_name() -> str:
    return "".join(secrets.choice(string.ascii_lowercase + string.digits) for _ in range(8))


class PresetListView(AdminView):
    def get(self, request, cloud_name: str):
        params = self.params
        limit = base.max_results(params)
        rows, cursor = base.keyset_page(UploadPreset.objects.order_by("name"), params, "preset", "name", limit)
        body = {"presets": [preset_json(p) for p in rows]}
        if cursor:
            body["next_cursor"] = cursor
        return Response(body)

    def post(self, request, cloud_name: str):
        params = self.params
        name = check_name(str(params.get("name") or random_name()))
        unsigned, settings = as_bool(params.get("unsigned"), False, "unsigned"), settings_from(params)
        check_preset(unsigned, settings)
        try:
            with transaction.atomic():
                UploadPreset.objects.create(name=name, unsigned=unsigned, settings=settings)
        except IntegrityError:
            raise Conflict(f"Upload preset {name} already exists") from None
        return Response({"message": "created", "name": name})


class PresetView(AdminView):
    def get(self, request, cloud_name: str, name: str):
        return Response(preset_json(get_preset(name)))

    def put(self, request, cloud_name: str, name: str):
        params = self.params
        with transaction.atomic():
            preset = UploadPreset.objects.select_for_update().filter(name=name).first()
            if preset is None:
                raise NotFound(f"Upload preset {name} not found")
            preset.settings = {**(preset.settings or {}), **settings_from(params)}
            if params.get("unsigned") not in (None, ""):
                preset.unsigned = as_bool(params.get("unsigned"), False, "unsigned")
            check_preset(preset.unsigned, preset.settings)  # the preset as it would be saved
            preset.save()
        return Response({"message": "updated"})

    def delete(self, request, cloud_name: str, name: str):
        deleted, _ = UploadPreset.objects.filter(name=name).delete()
        if not deleted:
            raise NotFound(f"Upload preset {name} not found")
        return Response({"message": "deleted"})
