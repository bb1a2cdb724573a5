"""Admin API, transformations: ``GET|POST|PUT|DELETE /v1_1/<cloud>/transformations[/<name>]``.

As the SDKs call it (cloudinary.api.transformations / transformation /
create_transformation / update_transformation / delete_transformation): the
transformation is named by the ``transformation`` parameter (a name, ``t_<name>``, or
a transformation string), or by the path in the newer ``transformations/<name>`` form.

- GET, no transformation: list ``{"transformations": [{"name", "allowed_for_strict", "used",
  "named"}], "next_cursor"}`` filtered by ``named=true|false``.
- GET one: ``{"name", "allowed_for_strict", "used", "named", "info": [components as dicts],
  "derived": [...], "next_cursor"}``.
- POST ``{name, transformation}``: create a named transformation (409 when it exists).
- PUT ``{transformation, allowed_for_strict, unsafe_update}``: update (a new definition
  removes the derived images built with the old one).
- DELETE ``{transformation}``: delete it and its derived images.
"""

from __future__ import annotations

import math

from rest_framework.response import Response

from assets.api import admin_base as base
from assets.api.admin_base import AdminView
from assets.api.params import as_bool
from core.errors import BadRequest

from .cloudinary import named
from .cloudinary.parser import is_transformation
from .derived_api import derived_url
from .models_named import Transformation

# URL keys -> the names the SDKs use (cloudinary.utils.generate_transformation_string).
LONG_NAMES = {
    "a": "angle", "ac": "audio_codec", "af": "audio_frequency", "ar": "aspect_ratio", "b": "background",
    "bo": "border", "br": "bit_rate", "c": "crop", "co": "color", "cs": "color_space", "d": "default_image",
    "dl": "delay", "dn": "density", "dpr": "dpr", "du": "duration", "e": "effect", "eo": "end_offset",
    "f": "fetch_format", "fl": "flags", "fn": "custom_function", "fps": "fps", "g": "gravity", "h": "height",
    "if": "if", "ki": "keyframe_interval", "l": "overlay", "o": "opacity", "p": "prefix", "pg": "page",
    "q": "quality", "r": "radius", "so": "start_offset", "sp": "streaming_profile", "t": "transformation",
    "u": "underlay", "vc": "video_codec", "vs": "video_sampling", "w": "width", "x": "x", "y": "y", "z": "zoom",
}


def _value(text: str):
    """A number when `text` is one JSON can carry (an int as written, or a finite float), else the text."""
    for kind in (int, float):
        try:
            number = kind(text)
        except ValueError:  # also int() of more than 4300 digits
            continue
        if kind is float and not math.isfinite(number):  # "1e400", "nan": JSON has no such number
            return text
        return number if str(number) == text or kind is float else text
    return text


def info(text: str) -> list[dict]:
    """A transformation string as Cloudinary's ``info``: one dict per component."""
    out = []
    for component in named.split_text(text):
        item: dict = {}
        for token in component.split(","):
            key, _, value = token.partition("_")
            if token.startswith("$"):
                item[key] = _value(value)
                continue
            long = LONG_NAMES.get(key, key)
            if key == "fl":
                item[long] = value.split(".")
            elif key in ("if", "e", "l", "u", "t", "bo", "b", "co"):
                item[long] = value
            else:
                item[long] = _value(value)
        out.append(item)
    return out


def summary(row: Transformation) -> dict:
    return {"name": row.display_name, "allowed_for_strict": row.allowed_for_strict, "used": row.used,
            "named": row.named}


def derived_json(rows, request) -> list[dict]:
    out = []
    for row in rows:
        asset = row.asset
        url, secure_url = derived_url(asset, row, request)
        out.append({"public_id": asset.public_id, "resource_type": asset.resource_type, "type": asset.type,
                    "format": row.format, "url": url, "secure_url": secure_url, "bytes": row.bytes,
                    "id": row.derived_id})
    return out


class TransformationsView(AdminView):
    def _identifier(self, name: str | None) -> str:
        value = name if name else self.params.get("transformation")
        if isinstance(value, (list, tuple)):
            value = "/".join(str(v) for v in value)
        return str(value or "").strip()

    def get(self, request, cloud_name: str, name: str | None = None):
        identifier = self._identifier(name)
        if identifier:
            return self._detail(request, named.find(identifier))
        params = self.params
        limit = base.max_results(params)
        queryset = Transformation.objects.order_by("id")
        if params.get("named") not in (None, ""):
            queryset = queryset.filter(named=as_bool(params.get("named"), False, "named"))
        rows, cursor = base.keyset_page(queryset, params, "transformations", "id", limit)
        body = {"transformations": [summary(r) for r in rows]}
        if cursor:
            body["next_cursor"] = cursor
        return Response(body)

    def _detail(self, request, row: Transformation):
        params = self.params
        limit = base.max_results(params)
        queryset = named.derived_queryset(row).select_related("asset").order_by("id")
        rows, cursor = base.keyset_page(queryset, params, "transformation-derived", "id", limit)
        body = summary(row)
        body["used"] = row.used or bool(rows)
        body["info"] = info(row.text)
        body["derived"] = derived_json(rows, request)
        if cursor:
            body["next_cursor"] = cursor
        return Response(body)

    def post(self, request, cloud_name: str, name: str | None = None):
        params = self.params
        new_name = name or params.get("name")
        definition = params.get("transformation")
        if name and not definition:
            definition = params.get("unsafe_update")
        allowed = as_bool(params.get("allowed_for_strict"), True, "allowed_for_strict")
        named.create(new_name, definition, allowed_for_strict=allowed)
        return Response({"message": "created"})

    def put(self, request, cloud_name: str, name: str | None = None):
        params = self.params
        identifier = self._identifier(name)
        if not identifier:
            raise BadRequest("Missing required parameter - transformation")
        allowed = params.get("allowed_for_strict")
        allowed = None if allowed in (None, "") else as_bool(allowed, False, "allowed_for_strict")
        definition = params.get("unsafe_update")
        definition = None if definition in (None, "") else str(definition)
        try:
            row = named.find(identifier)
        except named.NotFound:
            if definition is not None or allowed is None:
                raise
            row = _new_dynamic(identifier)  # allowing a dynamic transformation before it is ever delivered
        named.update(row, definition=definition, allowed_for_strict=allowed)
        return Response({"message": "updated"})

    def delete(self, request, cloud_name: str, name: str | None = None):
        named.delete(named.find(self._identifier(name)))
        return Response({"message": "deleted"})


def _new_dynamic(text: str) -> Transformation:
    components = named.split_text(text)
    if not components or not all(is_transformation(c) for c in components):
        raise BadRequest(f"Invalid transformation: {text}")
    canonical = named.canonical(text)
    row, _ = Transformation.objects.get_or_create(
        key=named.transformation_key(False, canonical), defaults=dict(named=False, name=canonical, text=canonical))
    return row
