"""Sending any parameters to the Upload and Admin APIs, and checking what a refusal left.

Shared by the hostile-parameter regression table (test_api_hostile_params.py) and the
Hypothesis fuzz test (test_api_fuzz.py):

- `send` makes one call with the parameters as a JSON body, a urlencoded form, a
  multipart form or a query string; a JSON body is written by `to_json`, so it can hold
  what ``json.dumps`` will not write (repeated keys, ``1e400``, lone surrogates, nesting
  thousands deep: see `Raw` and `Pairs`);
- `snapshot` is everything a call could write: every row of the apps' models (API keys
  aside: a verified key records when it was last used) and every stored or spooled file;
- `check_answer` is the contract: never a 5xx, a 4xx carries Cloudinary's JSON error,
  a refusal left the snapshot as it was, and after a success every asset still has its
  original file.
"""

from __future__ import annotations

import io
import json
import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

from django.apps import apps
from django.conf import settings
from django.core.files.storage import storages
from django.test.client import BOUNDARY, MULTIPART_CONTENT, encode_multipart

from tests.admin_client import basic
from tests.conftest import CLOUD, make_image

SNAPSHOT_APPS = ("assets", "transforms", "refiners")
IMAGE = make_image(24, 16)


@dataclass(frozen=True)
class Raw:
    """JSON text written into a body as is: ``1e400``, ``NaN``, ``"\\ud800"``, ``[[[...]]]``."""

    text: str


@dataclass(frozen=True)
class Pairs:
    """A JSON object written with these (key, value) pairs in order, repeats included."""

    items: tuple


def to_json(value) -> str:
    if isinstance(value, Raw):
        return value.text
    if isinstance(value, Pairs):
        return "{" + ",".join(f"{json.dumps(str(k))}:{to_json(v)}" for k, v in value.items) + "}"
    if isinstance(value, dict):
        return to_json(Pairs(tuple(value.items())))
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(to_json(v) for v in value) + "]"
    return json.dumps(value)  # NaN and Infinity come out as those (invalid JSON) literals


def as_text(value) -> str:
    """A value as a form field carries it: text as is, anything structured as JSON text."""
    if isinstance(value, str):
        return value
    if isinstance(value, (Raw, Pairs, dict, list, tuple)):
        return to_json(value)
    return json.dumps(value)


def form_fields(params) -> list[tuple[str, str]]:
    """(key, text) pairs for a form or a query string; a list value repeats its key."""
    items = params.items if isinstance(params, Pairs) else params.items()
    fields = []
    for key, value in items:
        values = value if isinstance(value, list) else [value]
        fields.extend((str(key), as_text(v)) for v in values if v is not None)
    return fields


def send(client, method: str, path: str, params=None, kind: str = "json", key=None, file: bytes | None = None,
         headers: dict | None = None):
    """One call to ``/v1_1/<cloud>/<path>``; `key` adds HTTP Basic credentials; `file` is
    sent as the multipart ``file`` (kind is then multipart)."""
    url = f"/v1_1/{CLOUD}/{path}"
    extra = dict(headers or {})
    if key is not None:
        extra["HTTP_AUTHORIZATION"] = basic(key.key, key.secret)
    params = params if params is not None else {}
    method = method.upper()
    if file is not None:
        kind = "multipart"
    elif kind == "query" or method == "GET":
        query = urlencode(form_fields(params))
        return client.generic(method, url + ("?" + query if query else ""), **extra)
    elif kind == "json":
        return client.generic(method, url, to_json(params).encode("utf-8", "surrogatepass"),
                              content_type="application/json", **extra)
    elif kind == "form":
        return client.generic(method, url, urlencode(form_fields(params)),
                              content_type="application/x-www-form-urlencoded", **extra)
    if kind == "multipart":
        data: dict = {}
        for field, text in form_fields(params):
            data.setdefault(field, []).append(text)
        if file is not None:
            data["file"] = io.BytesIO(file)
            data["file"].name = "fuzz.jpg"
        return client.generic(method, url, encode_multipart(BOUNDARY, data), content_type=MULTIPART_CONTENT,
                              **extra)
    raise ValueError(kind)


def _files() -> frozenset[str]:
    found = []
    roots = [Path(storages[alias].location) for alias in ("default", "derived")]
    roots.append(Path(settings.VAR_DIR) / "chunks")
    for root in roots:
        for folder, _, names in os.walk(root):
            found.extend(f"{folder}/{name}" for name in names)
    return frozenset(found)


def snapshot() -> dict:
    """Every row of the API's models and every stored file, but API keys and the shared
    rate counters (assets.Counter: a refused call still counts against its key's limit)."""
    state: dict = {"files": _files()}
    for label in SNAPSHOT_APPS:
        for model in apps.get_app_config(label).get_models():
            if model.__name__ in ("ApiKey", "Counter"):
                continue
            state[model._meta.label] = sorted(model.objects.order_by("pk").values_list(), key=repr)
    return state


def describe_change(before: dict, after: dict) -> str:
    changed = []
    for name in before:
        if before[name] != after[name]:
            if isinstance(before[name], frozenset):
                changed.append(f"{name}: +{sorted(after[name] - before[name])} -{sorted(before[name] - after[name])}")
            else:
                changed.append(f"{name}: {before[name]!r} -> {after[name]!r}")
    return "; ".join(changed)


def check_answer(response, before: dict, what: str = "") -> None:
    """The contract every call keeps, whatever it was sent (see the module docstring)."""
    status = response.status_code
    body = response.content[:500]
    assert status < 500, f"{what}: {status} {body!r}"
    if status >= 400:
        assert response["Content-Type"].startswith("application/json"), f"{what}: {status} {body!r}"
        error = response.json().get("error")
        assert isinstance(error, dict) and isinstance(error.get("message"), str) and error["message"], \
            f"{what}: {status} {body!r}"
        after = snapshot()
        assert after == before, f"{what}: {status} {body!r} but wrote {describe_change(before, after)}"
    elif 200 <= status < 300:
        Asset = apps.get_model("assets", "Asset")
        for name in Asset.objects.values_list("storage_name", flat=True):
            assert storages["default"].exists(name), f"{what}: {status}, an asset lost its file {name}"


def seed(client, key) -> dict:
    """Something for every call to find: two assets (one with two backed-up versions, one
    with tags, context, faces and a derived image), an unsigned preset, a named transformation."""
    from tests.conftest import signed
    from transforms.cloudinary import named

    def upload(public_id: str, width: int, **params):
        payload = signed({"public_id": public_id, **params}, key)
        payload["file"] = io.BytesIO(make_image(width, 16))
        payload["file"].name = "seed.jpg"
        response = client.post(f"/v1_1/{CLOUD}/image/upload", payload)
        assert response.status_code == 200, response.content
        return response.json()

    one = upload("fuzz/one", 24, tags="red,blue", context="alt=seed", face_coordinates="1,2,3,4")
    upload("fuzz/two", 20, backup="true")
    two = upload("fuzz/two", 22, backup="true")
    assert client.get(f"/{CLOUD}/image/upload/w_10/fuzz/one.jpg").status_code == 200
    named.flush_log()  # the delivered transformation's row, written after the answer otherwise
    Preset = apps.get_model("assets", "UploadPreset")
    Preset.objects.create(name="fuzzpreset", unsigned=True, settings={"folder": "inbox", "tags": "preset"})
    named.create("fuzzname", "w_10,h_10,c_fill")
    derived = apps.get_model("transforms", "DerivedImage").objects.values_list("derived_id", flat=True).first()
    return {"asset_id": one["asset_id"], "version_id": two["version_id"], "derived_id": derived}
