"""Request parameters as the SDKs send them, flattened into one dict.

The Python SDK sends uploads as multipart with lists as ``key[]``; Admin API calls
as JSON bodies, or in the query string for GET (and, depending on the SDK version,
DELETE).  Every source is accepted; ``key[]`` becomes a list under ``key``.
"""

from __future__ import annotations

import json

from .errors import BadRequest

TRUE_VALUES = {"1", "true", "yes", "on"}
FALSE_VALUES = {"0", "false", "no", "off", ""}


def collect(request) -> dict:
    params: dict = {}

    def add_querydict(qd):
        for key in qd.keys():
            values = qd.getlist(key)
            if key.endswith("[]"):
                params.setdefault(key[:-2], [])
                params[key[:-2]].extend(values)
            else:
                params[key] = values[-1] if values else ""

    add_querydict(request.query_params)
    data = request.data
    if hasattr(data, "getlist"):
        add_querydict(data)
    elif isinstance(data, dict):
        for key, value in data.items():
            params[key[:-2] if key.endswith("[]") else key] = value
    return params


def as_bool(value, default: bool = False, name: str = "parameter") -> bool:
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in TRUE_VALUES:
        return True
    if text in FALSE_VALUES:
        return False
    raise BadRequest(f"Invalid boolean value for {name}: {value!r}")


def as_int(value, default: int | None = None, name: str = "parameter", minimum: int | None = None,
           maximum: int | None = None) -> int | None:
    if value in (None, ""):
        return default
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise BadRequest(f"Invalid integer value for {name}: {value!r}") from None
    if minimum is not None and number < minimum or maximum is not None and number > maximum:
        raise BadRequest(f"Value of {name} must be between {minimum} and {maximum}, got {number}")
    return number


def as_list(value) -> list[str]:
    """A list from a list, a JSON array, or a comma-separated string."""
    if value in (None, ""):
        return []
    if isinstance(value, (list, tuple)):
        out: list[str] = []
        for item in value:
            out.extend(as_list(item) if isinstance(item, str) and "," in item else [str(item)])
        return [v for v in (s.strip() for s in out) if v]
    text = str(value).strip()
    if text.startswith("["):
        try:
            loaded = json.loads(text)
        except ValueError:
            raise BadRequest(f"Invalid list value: {text!r}") from None
        return as_list(loaded)
    return [v for v in (s.strip() for s in text.split(",")) if v]


def _split_unescaped(text: str, sep: str) -> list[str]:
    parts, current, escaped = [], [], False
    for ch in text:
        if escaped:
            current.append(ch)
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch == sep:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    parts.append("".join(current))
    return parts


def as_context(value) -> dict[str, str]:
    """Context as ``k=v|k2=v2`` (``\\|`` and ``\\=`` escaped), a JSON object, or a dict."""
    if value in (None, ""):
        return {}
    if isinstance(value, dict):
        return {str(k): v if isinstance(v, str) else json.dumps(v) for k, v in value.items()}
    text = str(value)
    if text.lstrip().startswith("{"):
        try:
            return as_context(json.loads(text))
        except ValueError:
            raise BadRequest(f"Invalid context value: {text!r}") from None
    out = {}
    for pair in _split_unescaped(text, "|"):
        if not pair:
            continue
        # split on the first unescaped '='
        pieces = _split_unescaped(pair.replace("\\\\", "\x00"), "=")
        key = pieces[0].replace("\x00", "\\")
        if not key:
            raise BadRequest(f"Invalid context value: {text!r}")
        out[key] = "=".join(pieces[1:]).replace("\x00", "\\")
    return out


def as_coordinates(value) -> list[list[int]] | None:
    """``x,y,w,h|x,y,w,h`` or a list of lists into a list of [x, y, w, h]."""
    if value is None:
        return None
    if value == "":
        return []
    if isinstance(value, str):
        rows = [r for r in value.split("|") if r.strip()]
        value = [r.split(",") for r in rows]
    try:
        boxes = [[int(float(n)) for n in row] for row in value]
    except (TypeError, ValueError):
        raise BadRequest(f"Invalid coordinates: {value!r}") from None
    if any(len(b) != 4 or b[2] < 0 or b[3] < 0 for b in boxes):
        raise BadRequest(f"Invalid coordinates: {value!r}; expected x,y,width,height")
    return boxes


def apply_metadata(asset, params: dict) -> None:
    """Tags, context, face and custom coordinates given in `params` replace the asset's
    (the Upload API's ``explicit`` and the Admin API's update share this)."""
    from django.db import transaction

    from .. import ingest, metadata, signals

    changed = []
    with transaction.atomic():
        if params.get("tags") is not None:
            ingest.set_tags(asset, as_list(params.get("tags")))  # 400 past the limits, in the transaction
        if params.get("context") is not None:
            asset.context = metadata.check_context(as_context(params.get("context")))
            changed.append("context")
        for field in ("face_coordinates", "custom_coordinates"):
            value = as_coordinates(params.get(field))
            if value is not None:
                setattr(asset, field, value)
                changed.append(field)
        if changed:
            asset.save(update_fields=changed + ["updated_at"])
            signals.asset_metadata_changed.send(type(asset), asset=asset, fields=tuple(changed))
