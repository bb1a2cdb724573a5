"""Structured metadata in the Studio: the asset page's card (one widget per field type:
text, number, date, select, checkboxes; server-side validation through
assets.metadata_fields) and the Library's ``md_<external_id>`` filters."""

from __future__ import annotations

from django.db import transaction
from django.db.models import Q
from django.db.models.fields.json import KeyTextTransform, KeyTransform

from assets import metadata_fields
from assets.models import Asset
from core.errors import BadRequest

MAX_FILTER_FIELDS = 10  # fields offered in the Library's Filters panel
MAX_FILTERS = 10  # md_ parameters read from one query


def _hint(field, rule) -> str:
    if not rule:
        return ""
    kind = rule.get("type")
    if kind in ("and", "or"):
        return f" {kind} ".join(h for h in (_hint(field, r) for r in rule.get("rules") or []) if h)
    if kind == "strlen":
        low, high = rule.get("min"), rule.get("max")
        if low is not None and high is not None:
            return f"{low} to {high} characters"
        return f"at least {low} characters" if low is not None else f"at most {high} characters"
    words = {("greater_than", False): ("after", "more than"), ("greater_than", True): ("on or after", "at least"),
             ("less_than", False): ("before", "less than"), ("less_than", True): ("on or before", "at most")}
    word = words.get((kind, bool(rule.get("equals"))))
    if not word:
        return ""
    return f"{word[0] if field.type == 'date' else word[1]} {rule.get('value')}"


def _display(field, value) -> str:
    if value in (None, "", []):
        return ""
    if field.type in metadata_fields.LIST_TYPES:
        names = {d.external_id: d.value for d in field.datasource.all()}
        ids = value if isinstance(value, list) else [value]
        return ", ".join(names.get(i, i) for i in ids)
    return str(value)


def rows(asset: Asset, posted: dict | None = None, errors: dict | None = None) -> list[dict]:
    """One dict per field: its widget's current value (the posted one after an error),
    choices for enum and set, a hint from its validation, its error."""
    stored = asset.metadata or {}
    out = []
    for field in metadata_fields.all_fields():
        key = field.external_id
        value = posted[key] if posted is not None and key in posted else stored.get(key)
        selected = set(value if isinstance(value, list) else [] if value in (None, "") else [str(value)])
        choices = [{"id": d.external_id, "value": d.value, "selected": d.external_id in selected}
                   for d in field.datasource.all() if d.state == "active" or d.external_id in selected]
        hint = _hint(field, field.validation)
        out.append({
            "external_id": key, "label": field.label, "type": field.type, "mandatory": field.mandatory,
            "readonly": bool((field.restrictions or {}).get("readonly_ui")),
            "value": "" if value is None or isinstance(value, list) else value,
            "display": _display(field, stored.get(key)),
            "choices": choices, "hint": hint[:1].upper() + hint[1:] if hint else "",
            "error": (errors or {}).get(key, ""),
        })
    return out


def save(asset: Asset, data) -> tuple[dict, dict]:
    """Apply the card's form (``md_<external_id>``; a set's checkboxes as a list) to the
    asset: (the posted values, {external_id: error}); nothing is written when any fails."""
    fields = {f.external_id: f for f in metadata_fields.all_fields()}
    posted, given, errors = {}, {}, {}
    for key, field in fields.items():
        if (field.restrictions or {}).get("readonly_ui"):
            continue
        name = f"md_{key}"
        if field.type == "set":
            if f"{name}__present" not in data:
                continue
            value = [v for v in data.getlist(name) if v]
        else:
            if name not in data:
                continue
            value = data.get(name, "").strip()
        posted[key] = value
        if value in ("", []):
            if field.mandatory:
                errors[key] = f"{field.label} is required."
            else:
                given[key] = ""
            continue
        try:
            given[key] = metadata_fields.clean_value(field, value, field.label)
        except BadRequest as exc:
            errors[key] = exc.message
    if not errors:
        with transaction.atomic():
            locked = Asset.objects.select_for_update().get(pk=asset.pk)
            metadata_fields.set_asset_metadata(locked, given)
        asset.refresh_from_db()
    return posted, errors


# --- the Library's filters -------------------------------------------------------------------


def parse_filters(get) -> tuple[dict, list[str]]:
    """``md_<external_id>=value`` query parameters of known fields: ({external_id: value}, problems)."""
    wanted = {k[3:]: v.strip()[:200] for k, v in get.items() if k.startswith("md_") and v.strip()}
    if not wanted:
        return {}, []
    known = {f.external_id: f for f in metadata_fields.all_fields()}
    out, problems = {}, []
    for key, value in list(wanted.items())[:MAX_FILTERS]:
        field = known.get(key)
        if field is None:
            problems.append(f"Unknown metadata field {key!r}: not filtered on it.")
        elif field.type == "integer" and not value.lstrip("-").isdigit():
            problems.append(f"{field.label}: {value!r} is not a whole number; not filtered on it.")
        else:
            out[key] = value
    return out, problems


def filter_rows_q(rows, filters: dict):
    """`rows` narrowed to assets whose metadata matches every filter: text contains the
    value (any case), a number or date or enum equals it, a set includes it. JSON key
    lookups that SQLite and PostgreSQL both run."""
    if not filters:
        return rows
    fields = {f.external_id: f for f in metadata_fields.all_fields()}
    for index, (key, value) in enumerate(filters.items()):
        field = fields.get(key)
        if field is None:
            continue
        name = f"_md{index}"
        if field.type == "string":
            rows = rows.alias(**{name: KeyTextTransform(key, "metadata")}).filter(**{f"{name}__icontains": value})
        elif field.type == "integer":
            rows = rows.alias(**{name: KeyTransform(key, "metadata")}).filter(**{name: int(value)})
        elif field.type in ("date", "enum"):
            rows = rows.alias(**{name: KeyTransform(key, "metadata")}).filter(**{name: value})
        else:  # a set: its JSON text holds the id in quotes
            rows = rows.alias(**{name: KeyTextTransform(key, "metadata")}).filter(
                Q(**{f"{name}__contains": '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'}))
    return rows


def filter_rows(current: dict) -> list[dict]:
    """The Filters panel's metadata controls: the first fields, with the current values."""
    out = []
    for field in metadata_fields.all_fields()[:MAX_FILTER_FIELDS]:
        value = current.get(field.external_id, "")
        out.append({"external_id": field.external_id, "label": field.label, "type": field.type, "value": value,
                    "choices": [{"id": d.external_id, "value": d.value, "selected": d.external_id == value}
                                for d in field.datasource.all() if d.state == "active"]})
    return out
