"""Structured metadata: field definitions (``MetadataField`` + ``DatasourceValue``) and
the values assets hold in ``Asset.metadata`` (``{field external_id: value}``).

Types and the stored value of each: ``string`` (text), ``integer`` (a number),
``date`` (``"YYYY-MM-DD"``), ``enum`` (the external_id of an active datasource value),
``set`` (a list of such external_ids). A field's ``validation`` is one rule or an
``and``/``or`` of rules: ``greater_than`` / ``less_than`` (``value``, ``equals`` to
include it; integer and date fields), ``strlen`` (``min``, ``max``; string fields).

Used by the Admin API's ``metadata_fields`` views (assets/api/admin_metadata.py), by
the Upload API's upload, explicit and ``metadata`` action and the Admin API's update
(values parsed by ``assets.api.params``), and by the Studio's metadata card. Every
refusal is a 400 naming the field, raised before anything is written; a field
definition is bounded (``MAX_*`` below).
"""

from __future__ import annotations

import json
import re
import secrets
from datetime import date

from django.db import transaction
from django.db.models import Max

from core.errors import BadRequest, NotFound

from .models import Asset, DatasourceValue, MetadataField

TYPES = ("string", "integer", "date", "enum", "set")
LIST_TYPES = ("enum", "set")
MAX_FIELDS = 500
MAX_DATASOURCE_VALUES = 3000
MAX_TEXT = 255  # external ids, labels, datasource values
MAX_STRING_VALUE = 1024  # a string field's value
MAX_SET_ITEMS = 3000
MAX_RULES = 20
INT_LIMIT = 2 ** 53  # what JSON clients read exactly
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_ID = re.compile(r"^[A-Za-z0-9_\-.:]+$")


# --- reading -------------------------------------------------------------------------------


def get_field(external_id: str) -> MetadataField:
    field = MetadataField.objects.filter(external_id=external_id).first()
    if field is None:
        raise NotFound(f"Metadata field {external_id} not found")
    return field


def datasource_json(field: MetadataField, inactive: bool = False) -> dict:
    """``{"values": [{"external_id", "value"[, "state"]}, ...]}`` in their order; inactive
    (deleted) values only with `inactive` (a field's own description lists them)."""
    values = []
    for item in field.datasource.all():
        if item.state != "active" and not inactive:
            continue
        entry = {"external_id": item.external_id, "value": item.value}
        if inactive:
            entry["state"] = item.state
        values.append(entry)
    return {"values": values}


def field_json(field: MetadataField) -> dict:
    data = {
        "type": field.type,
        "external_id": field.external_id,
        "label": field.label,
        "mandatory": field.mandatory,
        "default_value": field.default_value,
        "validation": field.validation,
        "restrictions": field.restrictions or {},
        "default_disabled": field.default_disabled,
    }
    if field.type in LIST_TYPES:
        data["allow_dynamic_list_values"] = field.allow_dynamic_list_values
        data["datasource"] = datasource_json(field, inactive=True)
    return data


def all_fields() -> list[MetadataField]:
    return list(MetadataField.objects.prefetch_related("datasource"))


# --- values --------------------------------------------------------------------------------


def _text(value, what: str, limit: int = MAX_TEXT, empty: bool = False) -> str:
    if not isinstance(value, (str, int)) or isinstance(value, bool):
        raise BadRequest(f"{what} must be text")
    text = str(value)
    if (not text and not empty) or len(text) > limit:
        raise BadRequest(f"{what} must be 1 to {limit} characters")
    return text


def _as_int(value, what: str) -> int:
    if isinstance(value, bool):
        raise BadRequest(f"{what} must be an integer")
    if isinstance(value, int):
        number = value
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    elif isinstance(value, str) and re.fullmatch(r"\s*[-+]?\d{1,16}\s*", value):
        number = int(value)
    else:
        raise BadRequest(f"{what} must be an integer")
    if abs(number) > INT_LIMIT:
        raise BadRequest(f"{what} is out of range")
    return number


def _as_date(value, what: str) -> str:
    if not isinstance(value, str) or not _DATE.match(value.strip()):
        raise BadRequest(f"{what} must be a date as YYYY-MM-DD")
    try:
        return date.fromisoformat(value.strip()).isoformat()
    except ValueError:
        raise BadRequest(f"{what} must be a date as YYYY-MM-DD") from None


def _comparable(field_type: str, value, what: str):
    if field_type == "integer":
        return _as_int(value, what)
    if field_type == "date":
        return date.fromisoformat(_as_date(value, what))
    raise BadRequest(f"{what}: greater_than and less_than apply to integer and date fields")


def check_validation(field_type: str, rule, depth: int = 0):
    """`rule` when it is a well-formed validation for a field of `field_type`; 400 otherwise."""
    if rule is None:
        return None
    if not isinstance(rule, dict) or depth > 3:
        raise BadRequest("validation must be an object (greater_than, less_than, strlen, and, or)")
    kind = rule.get("type")
    if kind in ("and", "or"):
        rules = rule.get("rules")
        if not isinstance(rules, list) or not rules or len(rules) > MAX_RULES:
            raise BadRequest(f"validation {kind} needs 1 to {MAX_RULES} rules")
        for item in rules:
            check_validation(field_type, item, depth + 1)
    elif kind in ("greater_than", "less_than"):
        _comparable(field_type, rule.get("value"), f"validation {kind} value")
        if not isinstance(rule.get("equals", False), bool):
            raise BadRequest(f"validation {kind} equals must be true or false")
    elif kind == "strlen":
        if field_type != "string":
            raise BadRequest("validation strlen applies to string fields")
        low, high = rule.get("min"), rule.get("max")
        if low is None and high is None:
            raise BadRequest("validation strlen needs min or max")
        low = 0 if low is None else _as_int(low, "validation strlen min")
        high = MAX_STRING_VALUE if high is None else _as_int(high, "validation strlen max")
        if low < 0 or high < low:
            raise BadRequest("validation strlen needs 0 <= min <= max")
    else:
        raise BadRequest(f"Invalid validation type {kind!r}: greater_than, less_than, strlen, and or or")
    return rule


def _passes(field_type: str, rule: dict, value) -> bool:
    kind = rule["type"]
    if kind == "and":
        return all(_passes(field_type, r, value) for r in rule["rules"])
    if kind == "or":
        return any(_passes(field_type, r, value) for r in rule["rules"])
    if kind == "strlen":
        low, high = rule.get("min"), rule.get("max")
        return (low is None or len(value) >= int(low)) and (high is None or len(value) <= int(high))
    mine = value if field_type == "integer" else date.fromisoformat(value)
    bound = _comparable(field_type, rule["value"], "validation value")
    if kind == "greater_than":
        return mine > bound or (bool(rule.get("equals")) and mine == bound)
    return mine < bound or (bool(rule.get("equals")) and mine == bound)


def _ids_of(field_type: str, value, what: str) -> list[str]:
    if isinstance(value, str) and value.strip().startswith("[") and field_type == "set":
        try:  # a set sent as k=["a","b"] in the pipe-separated form
            value = json.loads(value)
        except ValueError:
            raise BadRequest(f"{what} must be a list of datasource external_ids") from None
    items = value if isinstance(value, list) else [value]
    if field_type == "enum" and len(items) != 1:
        raise BadRequest(f"{what} must be one datasource external_id")
    if len(items) > MAX_SET_ITEMS:
        raise BadRequest(f"{what}: at most {MAX_SET_ITEMS} values")
    return list(dict.fromkeys(_text(v, what) for v in items))


def clean_value(field: MetadataField, value, what: str | None = None, *, create: bool = False,
                check_only: bool = False):
    """`value` as stored for `field` (validated, typed); 400 with the reason otherwise.
    `create`: a field allowing dynamic list values gains unknown ones (else they are refused);
    with `check_only` they are accepted but not added yet (a check before anything is written)."""
    what = what or f"Metadata field {field.external_id}"
    if field.type == "string":
        clean = _text(value, what, MAX_STRING_VALUE)
    elif field.type == "integer":
        clean = _as_int(value, what)
    elif field.type == "date":
        clean = _as_date(value, what)
    else:
        ids = _ids_of(field.type, value, what)
        active = {d.external_id for d in field.datasource.all() if d.state == "active"}
        unknown = [i for i in ids if i not in active]
        if unknown and not (create and field.allow_dynamic_list_values):
            raise BadRequest(f"{what}: {unknown[0]!r} is not an active value of its datasource")
        if unknown and not check_only:
            _add_values(field, [{"external_id": i, "value": i} for i in unknown])
        return ids[0] if field.type == "enum" else ids
    if field.validation and not _passes(field.type, field.validation, clean):
        raise BadRequest(f"{what}: value {clean!r} is invalid (it fails the field's validation)")
    return clean


def clean_metadata(given: dict, *, fields: dict[str, MetadataField] | None = None,
                   check_only: bool = False) -> dict:
    """Values given by external_id (text from ``k=v|k2=v2``, or JSON values) checked
    against their fields: ``{external_id: value}``, None for a value to remove ("")."""
    fields = fields if fields is not None else {f.external_id: f for f in all_fields()}
    out: dict = {}
    for key, value in given.items():
        field = fields.get(key)
        if field is None:
            raise BadRequest(f"Metadata field {key} does not exist")
        if value in ("", None, []):
            if field.mandatory:
                raise BadRequest(f"Metadata field {key} is mandatory: it cannot be cleared")
            out[key] = None
            continue
        out[key] = clean_value(field, value, create=True, check_only=check_only)
    return out


def _still_valid(field: MetadataField | None, value) -> bool:
    if field is None:
        return False
    try:
        clean_value(field, value)
    except BadRequest:
        return False
    return True


def merged(current: dict, cleaned: dict, *, new_asset: bool = False, clear_invalid: bool = False,
           fields: dict[str, MetadataField] | None = None) -> dict:
    """An asset's metadata after `cleaned` (from clean_metadata) is applied: None removes
    a value; a new asset gets the default values of fields it was not given (unless
    ``default_disabled``); `clear_invalid` drops stored values that no longer validate."""
    fields = fields if fields is not None else {f.external_id: f for f in all_fields()}
    result = dict(current or {})
    if clear_invalid:
        result = {k: v for k, v in result.items() if k in cleaned or _still_valid(fields.get(k), v)}
    for key, value in cleaned.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = value
    if new_asset:
        for field in fields.values():
            if field.external_id not in result and field.default_value is not None and (
                    field.mandatory or not field.default_disabled):
                result[field.external_id] = field.default_value
    return result


def set_asset_metadata(asset: Asset, given: dict, *, new_asset: bool = False, clear_invalid: bool = False) -> None:
    """Check `given` and write the asset's merged metadata (call inside a transaction)."""
    fields = {f.external_id: f for f in all_fields()}
    cleaned = clean_metadata(given, fields=fields)
    value = merged(asset.metadata, cleaned, new_asset=new_asset, clear_invalid=clear_invalid, fields=fields)
    if value != asset.metadata:
        asset.metadata = value
        asset.save(update_fields=["metadata", "updated_at"])


# --- field definitions --------------------------------------------------------------------


def _new_id() -> str:
    return secrets.token_hex(8)


def _bool(value, what: str) -> bool:
    if isinstance(value, bool):
        return value
    if value in ("true", "1", 1):
        return True
    if value in ("false", "0", 0, None, ""):
        return False
    raise BadRequest(f"{what} must be true or false")


def _check_default(field: MetadataField) -> None:
    """The field's default value is one of its values (``"default_value is invalid"``)."""
    if field.default_value is None:
        if field.mandatory:
            raise BadRequest("default_value is required for a mandatory field")
        return
    try:
        field.default_value = clean_value(field, field.default_value, "default_value")
    except BadRequest as error:
        raise BadRequest(f"default_value is invalid: {error.message}") from None


def _add_values(field: MetadataField, values) -> None:
    """Add or rename datasource values (by external_id; one without gets a new id)."""
    if not isinstance(values, list):
        raise BadRequest("datasource values must be a list of {external_id, value}")
    existing = {d.external_id: d for d in field.datasource.all()}
    position = max((d.position for d in existing.values()), default=-1)
    for item in values:
        if not isinstance(item, dict):
            raise BadRequest("datasource values must be a list of {external_id, value}")
        value = _text(item.get("value"), "datasource value")
        external_id = item.get("external_id")
        external_id = _new_id() if external_id in (None, "") else _text(external_id, "datasource external_id")
        state = item.get("state", None)
        if state not in (None, "active", "inactive"):
            raise BadRequest("datasource value state must be active or inactive")
        row = existing.get(external_id)
        if row is None:
            position += 1
            row = DatasourceValue(field=field, external_id=external_id, value=value, state=state or "active",
                                  position=position)
            existing[external_id] = row
        else:
            row.value = value
            if state:
                row.state = state
        row.save()
    if len(existing) > MAX_DATASOURCE_VALUES:
        raise BadRequest(f"A datasource holds at most {MAX_DATASOURCE_VALUES} values")
    seen: set[str] = set()
    for row in existing.values():
        if row.state == "active":
            if row.value in seen:
                raise BadRequest(f"Datasource value {row.value!r} is given twice")
            seen.add(row.value)
    if hasattr(field, "_prefetched_objects_cache"):
        field._prefetched_objects_cache.pop("datasource", None)


def _apply_definition(field: MetadataField, data: dict, creating: bool) -> None:
    if "label" in data or creating:
        field.label = _text(data.get("label") if data.get("label") not in (None, "") else field.external_id,
                            "label")
    if "mandatory" in data:
        field.mandatory = _bool(data["mandatory"], "mandatory")
    if "default_disabled" in data:
        field.default_disabled = _bool(data["default_disabled"], "default_disabled")
    if "allow_dynamic_list_values" in data:
        field.allow_dynamic_list_values = _bool(data["allow_dynamic_list_values"], "allow_dynamic_list_values")
    if "restrictions" in data:
        restrictions = data["restrictions"] or {}
        if not isinstance(restrictions, dict) or any(
                k != "readonly_ui" or not isinstance(v, bool) for k, v in restrictions.items()):
            raise BadRequest("restrictions must be an object such as {\"readonly_ui\": true}")
        field.restrictions = restrictions
    if "validation" in data:
        field.validation = check_validation(field.type, data["validation"])
    if "default_value" in data:
        field.default_value = None if data["default_value"] in ("", []) else data["default_value"]


def _payload(data) -> dict:
    if not isinstance(data, dict):
        raise BadRequest("Expected a JSON object")
    return data


def create_field(data: dict) -> MetadataField:
    data = _payload(data)
    field_type = data.get("type")
    if field_type not in TYPES:
        raise BadRequest(f"Invalid type {field_type!r}: must be one of {', '.join(TYPES)}")
    external_id = data.get("external_id")
    if external_id in (None, ""):
        external_id = _new_id()
    external_id = _text(external_id, "external_id")
    if not _ID.match(external_id):
        raise BadRequest("external_id may hold letters, digits, _, -, . and : only")
    if external_id == "order":  # the path metadata_fields/order reorders the fields
        raise BadRequest("external_id 'order' is reserved")
    with transaction.atomic():
        if MetadataField.objects.filter(external_id=external_id).exists():
            raise BadRequest(f"A field with external id {external_id} already exists")
        if MetadataField.objects.count() >= MAX_FIELDS:
            raise BadRequest(f"At most {MAX_FIELDS} metadata fields")
        position = (MetadataField.objects.aggregate(m=Max("position"))["m"] or 0) + 1
        field = MetadataField(external_id=external_id, type=field_type, position=position)
        _apply_definition(field, data, creating=True)
        field.save()
        if field_type in LIST_TYPES:
            source = data.get("datasource") or {}
            if not isinstance(source, dict):
                raise BadRequest("datasource must be an object with values")
            _add_values(field, source.get("values") or [])
        elif data.get("datasource"):
            raise BadRequest("datasource applies to enum and set fields")
        _check_default(field)
        field.save()
    return field


def update_field(field: MetadataField, data: dict) -> MetadataField:
    """Label, mandatory, default value, validation, restrictions (and a datasource's
    values) change; external_id and type do not (ignored, as Cloudinary does)."""
    data = _payload(data)
    with transaction.atomic():
        field = MetadataField.objects.select_for_update().get(pk=field.pk)
        _apply_definition(field, data, creating=False)
        source = data.get("datasource")
        if source and field.type in LIST_TYPES:
            if not isinstance(source, dict):
                raise BadRequest("datasource must be an object with values")
            _add_values(field, source.get("values") or [])
        _check_default(field)
        field.save()
    return field


def delete_field(field: MetadataField) -> None:
    """The field and every asset's value of it."""
    with transaction.atomic():
        for asset in Asset.objects.filter(metadata__has_key=field.external_id).only("id", "metadata"):
            asset.metadata.pop(field.external_id, None)
            Asset.objects.filter(pk=asset.pk).update(metadata=asset.metadata)
        field.delete()


def _list_field(field: MetadataField) -> MetadataField:
    if field.type not in LIST_TYPES:
        raise BadRequest(f"Metadata field {field.external_id} has no datasource (type {field.type})")
    return field


def _ids(value, what: str = "external_ids") -> list[str]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value or len(value) > MAX_DATASOURCE_VALUES:
        raise BadRequest(f"Missing required parameter - {what}")
    return [_text(v, what) for v in value]


def update_datasource(field: MetadataField, values) -> None:
    with transaction.atomic():
        _add_values(_list_field(field), values)
        _check_default(field)  # a renamed value cannot make the default stale (ids stay); still checked


def set_state(field: MetadataField, external_ids, state: str) -> None:
    """Soft-delete (``inactive``) or restore (``active``) datasource values; 404 for unknown ones."""
    ids = _ids(external_ids)
    with transaction.atomic():
        rows = {d.external_id: d for d in _list_field(field).datasource.all()}
        missing = [i for i in ids if i not in rows]
        if missing:
            raise NotFound(f"Datasource value {missing[0]} not found in metadata field {field.external_id}")
        if state == "inactive" and field.default_value is not None:
            default = field.default_value if isinstance(field.default_value, list) else [field.default_value]
            if set(default) & set(ids):
                raise BadRequest("A datasource value used as the field's default_value cannot be deleted")
        DatasourceValue.objects.filter(field=field, external_id__in=ids).update(state=state)
        if hasattr(field, "_prefetched_objects_cache"):
            field._prefetched_objects_cache.pop("datasource", None)
        if state == "active":
            _add_values(field, [])  # two active values with one text are refused


def _direction(direction) -> bool:
    if direction in (None, "", "asc"):
        return False
    if direction == "desc":
        return True
    raise BadRequest(f"Invalid direction {direction!r}: asc or desc")


def order_datasource(field: MetadataField, order_by, direction) -> None:
    if order_by != "value":
        raise BadRequest(f"Invalid order_by {order_by!r}: a datasource is ordered by value")
    reverse = _direction(direction)
    with transaction.atomic():
        rows = sorted(_list_field(field).datasource.all(), key=lambda d: d.value, reverse=reverse)
        for index, row in enumerate(rows):
            DatasourceValue.objects.filter(pk=row.pk).update(position=index)
    if hasattr(field, "_prefetched_objects_cache"):
        field._prefetched_objects_cache.pop("datasource", None)


def order_fields(order_by, direction) -> None:
    if order_by not in ("label", "external_id", "created_at"):
        raise BadRequest(f"Invalid order_by {order_by!r}: label, external_id or created_at")
    reverse = _direction(direction)
    with transaction.atomic():
        rows = sorted(MetadataField.objects.all(), key=lambda f: (getattr(f, order_by), f.pk), reverse=reverse)
        for index, row in enumerate(rows):
            MetadataField.objects.filter(pk=row.pk).update(position=index)
