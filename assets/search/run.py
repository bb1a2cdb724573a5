"""Running a search: the expression's rows, sorted, one keyset page at a time, with counts.

``sort_by`` is a list of ``{field: "asc"|"desc"}`` (default ``created_at`` descending); the
primary key ends every ordering, so pages are stable. ``next_cursor`` is signed
(django.core.signing) over the sort, the expression and the last row's sort values: a
cursor from another search, or one made up, is refused with a clear message.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime

from django.core import signing
from django.db.models import Count, Q

from ..models import Asset
from .parser import ExpressionError, parse
from .query import annotate, to_q

MAX_RESULTS = 500
DEFAULT_RESULTS = 50
MAX_SORTS = 3
SORT_FIELDS = {"created_at": "created_at", "uploaded_at": "version", "public_id": "public_id",
               "filename": "public_id", "display_name": "public_id", "bytes": "bytes", "width": "width",
               "height": "height", "format": "format", "resource_type": "resource_type", "type": "type",
               "asset_id": "asset_id", "folder": "folder", "asset_folder": "folder", "last_updated": "updated_at"}
AGGREGATES = {"format": "format", "resource_type": "resource_type", "type": "type"}
AGGREGATE_CAP = 100  # values per aggregation (the most frequent)
SALT = "assets.search.cursor"


class SearchError(ValueError):
    """A search request the caller must fix (the API answers 400 with this message)."""


@dataclass
class Result:
    rows: list
    total_count: int
    next_cursor: str | None = None
    aggregations: dict = field(default_factory=dict)


def sort_spec(sort_by) -> list[tuple[str, bool]]:
    """[(column, descending)] from Cloudinary's ``sort_by`` list; id breaks ties."""
    items = sort_by or []
    if isinstance(items, dict):
        items = [items]
    if not isinstance(items, list) or len(items) > MAX_SORTS:
        raise SearchError(f"Invalid sort_by: a list of at most {MAX_SORTS} {{field: asc|desc}} items")
    spec: list[tuple[str, bool]] = []
    for item in items:
        if isinstance(item, str):
            item = {item: "desc"}
        if not isinstance(item, dict) or len(item) != 1:
            raise SearchError("Invalid sort_by item: each is {field: asc|desc}")
        (name, direction), = item.items()
        column = SORT_FIELDS.get(str(name))
        if column is None:
            raise SearchError(f"Invalid sort_by field {name!r}: one of {', '.join(sorted(SORT_FIELDS))}")
        direction = str(direction).strip().lower()
        if direction not in ("asc", "desc", "1", "-1"):
            raise SearchError(f"Invalid sort_by direction {direction!r}: asc or desc")
        if column not in [c for c, _ in spec]:
            spec.append((column, direction in ("desc", "-1")))
    if not spec:
        spec = [("created_at", True)]
    return spec + [("id", spec[-1][1])]


def _after_q(spec, values):
    condition = Q()
    for i in range(len(spec) - 1, -1, -1):
        column, desc = spec[i]
        step = Q(**{f"{column}__{'lt' if desc else 'gt'}": values[i]})
        if i < len(spec) - 1:
            step |= Q(**{column: values[i]}) & condition
        condition = step
    return condition


def _fingerprint(expression: str, spec) -> str:
    return hashlib.sha256(repr((expression, spec)).encode()).hexdigest()[:16]


def _dump(value):
    return {"t": value.isoformat()} if isinstance(value, datetime) else value


def _load(value):
    return datetime.fromisoformat(value["t"]) if isinstance(value, dict) else value


def encode_cursor(expression: str, spec, row) -> str:
    values = [_dump(getattr(row, column)) for column, _ in spec]
    return signing.dumps([_fingerprint(expression, spec), values], salt=SALT, compress=True)


def decode_cursor(cursor: str, expression: str, spec) -> list:
    try:
        fingerprint, values = signing.loads(str(cursor), salt=SALT)
        values = [_load(v) for v in values]
    except (signing.BadSignature, ValueError, TypeError, KeyError):
        raise SearchError("Invalid next_cursor") from None
    if fingerprint != _fingerprint(expression, spec) or len(values) != len(spec):
        raise SearchError("Invalid next_cursor: it belongs to another search (expression or sort_by)")
    return values


def aggregations(queryset, names) -> dict:
    out = {}
    for name in names:
        column = AGGREGATES.get(name) if isinstance(name, str) else None
        if column is None:
            raise SearchError(f"Invalid aggregate {name!r}: one of {', '.join(AGGREGATES)}")
        counts = (queryset.order_by().values(column).annotate(n=Count("id")).order_by("-n", column)
                  [:AGGREGATE_CAP])
        out[name] = {row[column]: row["n"] for row in counts}
    return out


def matching(expression: str, now=None):
    """Every asset the expression selects (a queryset; raises ExpressionError)."""
    return annotate(Asset.objects.all()).filter(to_q(parse(expression), now))


def search(expression: str = "", sort_by=None, max_results: int = DEFAULT_RESULTS, next_cursor: str | None = None,
           aggregate=(), prefetch=("tags",), count: bool = True) -> Result:
    if not 1 <= max_results <= MAX_RESULTS:
        raise SearchError(f"Invalid max_results {max_results}: 1 to {MAX_RESULTS}")
    try:
        rows = matching(expression or "")
    except ExpressionError as exc:
        raise SearchError(f"Invalid expression {expression!r}: {exc}") from None
    spec = sort_spec(sort_by)
    total = rows.count() if count else -1
    aggs = aggregations(rows, aggregate) if aggregate else {}
    page = rows
    if next_cursor:
        page = page.filter(_after_q(spec, decode_cursor(next_cursor, expression or "", spec)))
    order = [f"-{c}" if desc else c for c, desc in spec]
    found = list(page.order_by(*order).prefetch_related(*prefetch)[: max_results + 1])
    more = len(found) > max_results
    found = found[:max_results]
    cursor = encode_cursor(expression or "", spec, found[-1]) if more and found else None
    return Result(found, total, cursor, aggs)
