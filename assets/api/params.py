"""Request parameters as the SDKs send them, flattened into one dict.

The Python SDK sends uploads as multipart with lists as ``key[]``; Admin API calls
as JSON bodies, or in the query string for GET (and, depending on the SDK version,
DELETE).  Every source is accepted; ``key[]`` becomes a list under ``key``.

Whatever a client sends, a parameter that reaches a view is well-formed in kind, so no
combination of values can end in a 500 (each rule is one place, answered with a 400):

- ``key`` and ``key[]`` together are ambiguous (which wins?) and refused;
- a parameter that is one value (``SCALAR_PARAMS``) refuses a list or an object, and a
  JSON number or boolean there becomes the text a form would have carried;
- no text may hold NUL (PostgreSQL cannot store it) or a lone surrogate (no encoding can);
- JSON, in the body or inside a parameter, is bounded (``bounded_json``);
- integers have a bounded number of digits (``as_int``); coordinates and regions are
  parsed, bounded and clipped by assets.focus (``focus_params``, ``save_focus``).
"""

from __future__ import annotations

import json
import math
import re
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime

from django.db import transaction

from core.errors import BadRequest

from .. import focus, ingest, metadata, metadata_fields, signals
from . import bounded_json

TRUE_VALUES = {"1", "true", "yes", "on"}
FALSE_VALUES = {"0", "false", "no", "off", ""}
# Parameters that are one value in every API call that reads them.  (Booleans are not
# listed: ``as_bool`` refuses anything else itself; ``tags`` is a list on upload and a
# boolean on listings.)
SCALAR_PARAMS = frozenset({
    "file", "public_id", "folder", "asset_folder", "type", "to_type", "from_public_id", "to_public_id",
    "to_folder", "filename_override", "display_name", "upload_preset", "command", "notification_url",
    "eager_notification_url", "callback", "signature", "signature_algorithm", "api_key", "timestamp",
    "prefix", "next_cursor", "max_results", "direction", "start_at", "key", "value", "name",
    "background_removal", "unsafe_update", "base_revision", "access_mode",
})
INT_DIGITS = 18  # every integer parameter fits in 64 bits
_INTEGER = re.compile(r"^[+-]?[0-9]{1,%d}$" % INT_DIGITS)


def collect(request) -> dict:
    params: dict = {}
    listed: set[str] = set()  # keys that came as ``key[]``
    plain: set[str] = set()  # keys that came as ``key``

    def put(key: str, values: list, as_list: bool):
        name = key[:-2] if as_list else key
        (listed if as_list else plain).add(name)
        if name in listed and name in plain:
            raise BadRequest(f"Parameter {name} given both as {name} and {name}[]: send one of them")
        if as_list:
            params.setdefault(name, [])
            params[name].extend(values)
        else:
            params[name] = values[-1] if values else ""

    def add_querydict(qd):
        for key in qd.keys():
            put(key, qd.getlist(key), key.endswith("[]"))

    add_querydict(request.query_params)
    data = request.data
    if hasattr(data, "getlist"):
        add_querydict(data)
    elif isinstance(data, dict):
        for key, value in data.items():
            if key.endswith("[]"):
                put(key, value if isinstance(value, list) else [value], True)
            else:
                put(key, [value], False)
    check_text(params)
    return scalars(params)


def scalars(params: dict) -> dict:
    """`params` with each one-value parameter checked (400 for a list or an object) and
    as text; also for stored parameters, such as an upload preset's."""
    for name in SCALAR_PARAMS & params.keys():
        params[name] = _scalar(name, params[name])
    return params


def _scalar(name: str, value):
    if isinstance(value, (list, tuple, dict)):
        raise BadRequest(f"Invalid value for {name}: expected a single value, not a list or an object")
    if isinstance(value, bool):  # as the SDKs write booleans, and as they are signed
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    return value


def check_text(value, what: str = "parameter") -> None:
    """BadRequest when any text in `value` (keys and items of nested lists and dicts
    included) holds NUL or a lone surrogate.  Iterative: the nesting is already bounded,
    but the walk need not rely on it."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, (list, tuple)):
            stack.extend(item)
        elif isinstance(item, str):
            if "\x00" in item:
                raise BadRequest(f"Invalid {what}: NUL characters are not allowed ({item[:50]!r})")
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                raise BadRequest(f"Invalid {what}: lone surrogate characters are not allowed") from None


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
    """An integer from text of at most INT_DIGITS ASCII digits, or a whole JSON number;
    BadRequest otherwise (a 400-digit number, ``1e400``, ``1.5``, ``true``, a list)."""
    if value in (None, ""):
        return default
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) < 10**INT_DIGITS:
        number = value
    elif isinstance(value, float) and math.isfinite(value) and value.is_integer() and abs(value) < 10**INT_DIGITS:
        number = int(value)
    elif isinstance(value, str) and _INTEGER.match(value.strip()):
        number = int(value.strip())
    else:
        shown = repr(value) if len(repr(value)) <= 60 else repr(value)[:57] + "..."
        raise BadRequest(f"Invalid integer value for {name}: {shown}")
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
        return as_list(bounded_json.loads(text, "list value"))
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
    if isinstance(value, (list, tuple)):
        raise BadRequest("Invalid context value: expected key=value pairs or an object, not a list")
    text = str(value)
    if text.lstrip().startswith("{"):
        loaded = bounded_json.loads(text, "context value")
        if not isinstance(loaded, dict):
            raise BadRequest("Invalid context value: expected key=value pairs or an object")
        return as_context(loaded)
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


def focus_params(params: dict) -> dict:
    """The focus areas an upload, explicit or update gives, parsed (400 for a malformed
    one, naming it) before anything is stored: ``{"face_coordinates": boxes, ...}`` with
    only what is given (an empty value clears that store)."""
    out = {}
    for field in ("face_coordinates", "custom_coordinates"):
        boxes = focus.parse_boxes(params.get(field), field)
        if boxes is not None:
            out[field] = boxes
    regions = focus.parse_regions(params.get("regions"), "regions")
    if regions is not None:
        out["regions"] = regions
    return out


def save_focus(asset, given: dict, source: str, user=None):
    """Clip what `focus_params` parsed to `asset`'s image (400 naming the field for a box
    outside it) and write it as one focus-areas revision (assets.focus); None when nothing
    was given. Call it inside the transaction that must fail with it."""
    if not given:
        return None
    values = {}
    if "face_coordinates" in given:
        values["faces"] = focus.clip_boxes(given["face_coordinates"], asset.width, asset.height, "face_coordinates")
    if "custom_coordinates" in given:
        values["custom"] = focus.clip_boxes(given["custom_coordinates"], asset.width, asset.height,
                                            "custom_coordinates")
    if "regions" in given:
        values["regions"] = focus.clip_regions(given["regions"], asset.width, asset.height, "regions")
    return focus.save(asset, **values, source=source, user=user)


def apply_metadata(asset, params: dict, source: str = "update") -> None:
    """Tags, context, face and custom coordinates and regions given in `params` replace
    the asset's (the Upload API's ``explicit``, `source` "explicit", and the Admin API's
    update, "update", share this); all or nothing."""
    changed = []
    given = focus_params(params)  # 400 for a malformed box or region before anything is written
    access = access_fields(params)  # so is a bad access_mode or access_control
    with transaction.atomic():
        for name, value in access.items():
            setattr(asset, name, value)
            changed.append(name)
        if params.get("tags") is not None:
            ingest.set_tags(asset, as_list(params.get("tags")))  # 400 past the limits, in the transaction
        if params.get("context") is not None:
            asset.context = metadata.check_context(as_context(params.get("context")))
            changed.append("context")
        if params.get("metadata") is not None:  # structured metadata: given fields change, "" clears one
            metadata_fields.set_asset_metadata(asset, as_context(params.get("metadata")),
                                               clear_invalid=as_bool(params.get("clear_invalid"), False))
        save_focus(asset, given, source)  # a revision of its own; it announces what it changed
        if changed:
            asset.save(update_fields=changed + ["updated_at"])
            signals.asset_metadata_changed.send(type(asset), asset=asset, fields=tuple(changed))


# --- dates, access mode and access control ---------------------------------------------

_OFFSET = re.compile(r"\s*(?:GMT|UTC)?\s*([+-])(\d{2}):?(\d{2})$")
# JavaScript's Date.prototype.toString(): "Sat Dec 05 2026 06:27:24 GMT+0100 (Central European Standard Time)"
_JS_DATE = re.compile(r"^(?:[A-Za-z]{3},?\s+)?([A-Za-z]{3})\s+(\d{1,2})\s+(\d{4})\s+(\d{1,2}:\d{2}(?::\d{2})?)"
                      r"\s*(?:GMT|UTC)?\s*([+-]\d{4})?(?:\s*\(.*\))?$")
_MONTHS = {m: i for i, m in enumerate("jan feb mar apr may jun jul aug sep oct nov dec".split(), 1)}


def parse_moment(value, name: str = "start_at") -> datetime:
    """A moment (aware, UTC) from the texts the SDKs send: ISO 8601 (``2019-02-22T16:20:57.000Z``,
    ``2018-02-22 16:20:57 +0200``, a bare date), JavaScript's ``Date.toString()``, RFC 2822
    (``toUTCString()``), or Unix seconds. A text without a zone is UTC. 400 otherwise."""
    text = str(value).strip()
    if len(text) > 100:  # no date is longer; the patterns below need not scan a long text
        raise BadRequest(f"Invalid {name}: too long for a date")
    moment = None
    if re.fullmatch(r"[0-9]{1,12}", text):
        try:
            moment = datetime.fromtimestamp(int(text), tz=timezone.utc)
        except (OverflowError, OSError, ValueError):
            raise BadRequest(f"Invalid {name} {text!r}: out of range") from None
    if moment is None:
        iso_text = _OFFSET.sub(lambda m: f"{m[1]}{m[2]}:{m[3]}", text.replace("Z", "+00:00")) \
            if re.match(r"^\d{4}-\d{2}-\d{2}", text) else ""
        try:
            moment = datetime.fromisoformat(iso_text) if iso_text else None
        except ValueError:
            moment = None
    if moment is None:
        js = _JS_DATE.match(text)
        if js and js[1].lower() in _MONTHS:
            clock = js[4] if js[4].count(":") == 2 else js[4] + ":00"
            offset = js[5] or "+0000"
            try:
                moment = datetime.strptime(f"{js[3]}-{_MONTHS[js[1].lower()]:02d}-{int(js[2]):02d} {clock} {offset}",
                                           "%Y-%m-%d %H:%M:%S %z")
            except ValueError:
                moment = None
    if moment is None and len(text) <= 64:
        try:
            moment = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            moment = None
    if moment is None:
        shown = text if len(text) <= 60 else text[:57] + "..."
        raise BadRequest(f"Invalid {name} {shown!r}: expected a date such as 2024-05-01T12:00:00Z")
    moment = moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
    try:
        return moment.astimezone(timezone.utc)
    except OverflowError:
        raise BadRequest(f"Invalid {name} {text!r}: out of range") from None


ACCESS_MODES = ("public", "authenticated")
ACCESS_TYPES = ("anonymous", "token")
MAX_ACCESS_RULES = 20


def as_access_mode(value) -> str | None:
    """``access_mode``: public or authenticated; None when not given."""
    if value in (None, ""):
        return None
    if value not in ACCESS_MODES:
        raise BadRequest(f"Invalid access_mode {value!r}: must be public or authenticated")
    return value


def as_access_control(value) -> list[dict] | None:
    """``access_control``: a JSON list (or one object) of ``{access_type: anonymous|token,
    start, end}``, as the SDKs send it (``[{"access_type":"anonymous","start":"2019-02-22T16:20:57.000Z"}]``);
    times come back as ISO UTC text. None when not given; "" or [] clears it."""
    if value is None:
        return None
    if isinstance(value, str):
        if not value.strip():
            return []
        value = bounded_json.loads(value, "access_control")
    if isinstance(value, dict):
        value = [value]
    if not isinstance(value, list) or len(value) > MAX_ACCESS_RULES:
        raise BadRequest(f"Invalid access_control: expected a list of at most {MAX_ACCESS_RULES} "
                         "{access_type, start, end} objects")
    rules = []
    for item in value:
        if isinstance(item, str):
            item = bounded_json.loads(item, "access_control")
        if not isinstance(item, dict):
            raise BadRequest("Invalid access_control: each rule is an object {access_type, start, end}")
        unknown = sorted(set(item) - {"access_type", "start", "end", "key"})
        if unknown:
            raise BadRequest(f"Invalid access_control: unknown key(s) {', '.join(map(str, unknown))}")
        access_type = item.get("access_type")
        if access_type not in ACCESS_TYPES:
            raise BadRequest(f"Invalid access_control: access_type must be anonymous or token, got {access_type!r}")
        rule: dict = {"access_type": access_type}
        for bound in ("start", "end"):
            if item.get(bound) not in (None, ""):
                rule[bound] = parse_moment(item[bound], f"access_control {bound}").strftime("%Y-%m-%dT%H:%M:%SZ")
        if "start" in rule and "end" in rule and rule["end"] < rule["start"]:
            raise BadRequest("Invalid access_control: end is before start")
        if access_type == "token" and item.get("key") not in (None, ""):
            rule["key"] = str(item["key"])[:255]
        rules.append(rule)
    return rules


def access_fields(params: dict) -> dict:
    """The asset fields ``access_mode`` and ``access_control`` in `params` set (400 for a bad one)."""
    out = {}
    mode = as_access_mode(params.get("access_mode"))
    if mode is not None:
        out["access_mode"] = mode
    control = as_access_control(params.get("access_control"))
    if control is not None:
        out["access_control"] = control or None
    return out
