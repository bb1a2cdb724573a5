"""The Media Library's query: search, filters, sort and keyset pagination, and the folder tree.

Pages are keyset-paginated (``after`` is an opaque cursor holding the last row's sort
values, ``before`` the first row's, for Previous), never OFFSET, so a deep page costs what
the first one does. ``start`` (the 1-based position of the page's first row, carried in the
pager's links) only labels the page ("Showing 49–96 of 1,234"); it is never used to query.  Every sort ends
with the primary key, so the order is total and stable under inserts.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, field

from django.db.models import Count, Exists, OuterRef, Q, TextField
from django.db.models.functions import Cast

from assets.api import bounded_json
from assets.models import Asset, AssetTag, Folder
from core.errors import BadRequest

from . import metadata_form

PAGE_SIZE = 48
COUNT_CAP = 1000  # a filtered query counts up to here ("1000+"): a full count is a full scan
# name -> (label, fields); a leading "-" is descending. The last field is always id.
SORTS = {
    "newest": ("Newest first", ("-id",)),
    "oldest": ("Oldest first", ("id",)),
    "name": ("Name (A–Z)", ("public_id", "id")),
    "size": ("Largest first", ("-bytes", "-id")),
}
TYPES = ("upload", "private", "authenticated")


@dataclass
class Query:
    folder: str = ""
    q: str = ""
    format: str = ""
    type: str = ""
    tag: str = ""
    faces: bool = False  # only assets with at least one face (Asset.face_count, kept by assets.focus)
    metadata: dict = field(default_factory=dict)  # md_<external_id>=value filters (studio.metadata_form)
    sort: str = "newest"
    after: str = ""
    before: str = ""
    start: int = 1  # the position of the page's first row, as the pager's link said (a label only)
    errors: list[str] = field(default_factory=list)

    @classmethod
    def from_request(cls, request, folder: str = "") -> "Query":
        get = request.GET
        query = cls(folder=folder, q=get.get("q", "").strip()[:200], format=get.get("format", "").strip().lower(),
                    type=get.get("type", "").strip(), tag=get.get("tag", "").strip(),
                    faces=get.get("faces", "") in ("1", "on", "true"),
                    sort=get.get("sort", "newest"), after=get.get("after", ""),
                    before="" if get.get("after") else get.get("before", ""))
        query.metadata, problems = metadata_form.parse_filters(get)
        query.errors.extend(problems)
        start = get.get("start", "1")
        query.start = int(start) if start.isdigit() and len(start) < 10 else 1
        if query.sort not in SORTS:
            query.errors.append(f"Unknown sort {query.sort!r}: showing newest first.")
            query.sort = "newest"
        if query.type and query.type not in TYPES:
            query.errors.append(f"Unknown type {query.type!r}: showing every type.")
            query.type = ""
        return query

    def params(self, **changes) -> dict:
        """The query string of this query with ``changes`` (empty values dropped)."""
        values = {"q": self.q, "format": self.format, "type": self.type, "tag": self.tag,
                  "faces": "1" if self.faces else "", "sort": "" if self.sort == "newest" else self.sort,
                  **{f"md_{k}": v for k, v in self.metadata.items()}, **changes}
        return {k: v for k, v in values.items() if v}

    @property
    def filtered(self) -> bool:
        return bool(self.q or self.format or self.type or self.tag or self.faces or self.metadata)


def search_q(text: str) -> Q:
    """public_id, original filename or a context value containing ``text``; a tag or format equal to it."""
    tagged = AssetTag.objects.filter(asset=OuterRef("pk"), name=text)
    return (Q(public_id__icontains=text) | Q(original_filename__icontains=text) | Q(format=text.lower())
            | Q(_context_text__icontains=text) | Exists(tagged))


def queryset(query: Query):
    rows = Asset.objects.all()
    if query.folder:
        rows = rows.filter(folder=query.folder)
    if query.format:
        rows = rows.filter(format=query.format)
    if query.type:
        rows = rows.filter(type=query.type)
    if query.faces:
        rows = rows.filter(face_count__gt=0)
    if query.tag:
        rows = rows.filter(Exists(AssetTag.objects.filter(asset=OuterRef("pk"), name=query.tag)))
    rows = metadata_form.filter_rows_q(rows, query.metadata)
    if query.q:
        rows = rows.alias(_context_text=Cast("context", TextField())).filter(search_q(query.q))
    return rows


# --- keyset cursors ----------------------------------------------------------------


def encode_cursor(sort: str, values: list) -> str:
    raw = json.dumps([sort, values], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, sort: str) -> list | None:
    if not cursor:
        return None
    try:
        got_sort, values = bounded_json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)), "cursor")
    except (binascii.Error, ValueError, TypeError, BadRequest):  # a cursor not made here: the first page
        return None
    fields = SORTS[sort][1]
    if got_sort != sort or not isinstance(values, list) or len(values) != len(fields):
        return None
    return values


def reverse(fields: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(f[1:] if f.startswith("-") else "-" + f for f in fields)


def after_q(fields: tuple[str, ...], values: list) -> Q:
    """Rows strictly after ``values`` in the order of ``fields`` (a lexicographic keyset)."""
    condition = Q()
    for i in range(len(fields) - 1, -1, -1):
        name = fields[i].lstrip("-")
        op = "lt" if fields[i].startswith("-") else "gt"
        step = Q(**{f"{name}__{op}": values[i]})
        if i < len(fields) - 1:
            step |= Q(**{name: values[i]}) & condition
        condition = step
    return condition


@dataclass
class Page:
    rows: list
    next_cursor: str | None
    total: int
    first: bool
    capped: bool = False
    prev_cursor: str | None = None
    start: int = 1  # 1-based position of rows[0] (from the query's start, kept within the total)

    @property
    def end(self) -> int:
        return self.start + len(self.rows) - 1


def page(query: Query, size: int = PAGE_SIZE, count: bool = True) -> Page:
    rows = queryset(query)
    total, capped = -1, False
    if count and query.filtered:
        total = rows.order_by()[: COUNT_CAP + 1].count()
        capped = total > COUNT_CAP
        total = min(total, COUNT_CAP)
    elif count:
        total = rows.count()
    fields = SORTS[query.sort][1]
    position = decode_cursor(query.after, query.sort)
    backwards = decode_cursor(query.before, query.sort) if position is None else None
    if (query.after and position is None) or (query.before and backwards is None):
        query.errors.append("That page link is out of date: showing the first page.")
    if backwards is not None:  # the page before a row: read backwards from it, then turn round
        found = list(rows.filter(after_q(reverse(fields), backwards)).order_by(*reverse(fields))
                     .prefetch_related("tags")[: size + 1])
        earlier = len(found) > size
        found = found[:size][::-1]
        first = not earlier
        more = bool(found)  # the row the cursor holds comes after this page
    else:
        if position is not None:
            rows = rows.filter(after_q(fields, position))
        found = list(rows.order_by(*fields).prefetch_related("tags")[: size + 1])
        more = len(found) > size
        found = found[:size]
        first = position is None

    def cursor(row) -> str:
        return encode_cursor(query.sort, [getattr(row, f.lstrip("-")) for f in fields])

    start = 1 if first else max(query.start, 2)
    if total >= 0 and not capped and found:
        start = min(start, max(total - len(found) + 1, 1))
    return Page(found, cursor(found[-1]) if more and found else None, total, first, capped,
                cursor(found[0]) if not first and found else None, start)


# --- folders -------------------------------------------------------------------------


@dataclass
class FolderNode:
    path: str
    name: str
    depth: int
    count: int  # assets directly in it
    total: int  # assets in it and below


def folder_tree() -> list[FolderNode]:
    """Every folder in path order (parents before children), with asset counts."""
    direct = dict(Asset.objects.exclude(folder="").values_list("folder").annotate(n=Count("id")).order_by())
    paths = set(Folder.objects.values_list("path", flat=True)) | set(direct)
    totals: dict[str, int] = {}
    for path, n in direct.items():
        parts = path.split("/")
        for i in range(1, len(parts) + 1):
            prefix = "/".join(parts[:i])
            totals[prefix] = totals.get(prefix, 0) + n
            paths.add(prefix)
    return [FolderNode(p, p.rsplit("/", 1)[-1], p.count("/"), direct.get(p, 0), totals.get(p, 0))
            for p in sorted(paths, key=lambda p: p.split("/"))]


def formats() -> list[str]:
    return list(Asset.objects.order_by("format").values_list("format", flat=True).distinct())
