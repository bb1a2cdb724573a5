"""A parsed search expression (assets.search.parser) -> a Django ``Q`` on ``Asset``.

Fields (Cloudinary's names): ``public_id``, ``filename`` (the last segment of the
public_id), ``original_filename``, ``folder`` / ``asset_folder`` (``a/*``: a and below),
``asset_id``, ``resource_type``, ``type``, ``format``, ``tags``, ``context.<key>`` (and
``context:<key>``: has the key), ``metadata.<external_id>`` (Asset.metadata), ``bytes``
(units b, kb, mb, gb; 1kb = 1024 bytes), ``width``, ``height``, ``pixels``,
``created_at``, ``uploaded_at`` (the current version's upload time: Asset.version is its
Unix time) and ``last_updated`` (absolute dates or relative ones: ``1d`` = one day ago;
units h, d, w, m (30 days), y (365 days)). A term without a field is free text
(assets.search.text). Unknown fields and values of the wrong kind raise ExpressionError.
"""

from __future__ import annotations

import math
import re
from datetime import datetime, timedelta, timezone

from django.db import connection
from django.db.models import BigIntegerField, BooleanField, ExpressionWrapper, F, Q
from django.db.models.expressions import RawSQL

from ..models import Asset, AssetTag
from . import text
from .parser import WILDCARD, And, ExpressionError, Not, Or, Range, Term, Value, parse

EXACT_FIELDS = {"public_id": "public_id", "asset_id": "asset_id", "resource_type": "resource_type",
                "type": "type", "format": "format", "original_filename": "original_filename"}
LOWERED = {"format", "resource_type", "type"}
NUMBER_FIELDS = {"bytes": "bytes", "width": "width", "height": "height", "pixels": "_pixels"}
DATE_FIELDS = {"created_at": "created_at", "last_updated": "updated_at", "uploaded_at": "version"}
FOLDER_FIELDS = {"folder", "asset_folder"}
SIZE_UNITS = {"b": 1, "kb": 1024, "mb": 1024 ** 2, "gb": 1024 ** 3}
TIME_UNITS = {"h": timedelta(hours=1), "d": timedelta(days=1), "w": timedelta(weeks=1),
              "m": timedelta(days=30), "y": timedelta(days=365)}
KEY = re.compile(r"^[A-Za-z0-9_\-]{1,128}$")
JSON_FIELD = Asset._meta.get_field("metadata")
COMPARE = {"<": "lt", ">": "gt", "<=": "lte", ">=": "gte"}


def annotate(queryset):
    """What ``to_q`` may refer to besides the model's own fields."""
    return text.annotate(queryset).alias(
        _pixels=ExpressionWrapper(F("width") * F("height"), output_field=BigIntegerField()))


def to_q(node, now: datetime | None = None) -> Q:
    now = now or datetime.now(timezone.utc)
    return _Compiler(now).q(node) if node is not None else Q()


def expression_q(expression: str, now: datetime | None = None) -> Q:
    return to_q(parse(expression), now)


class _Compiler:
    def __init__(self, now: datetime):
        self.now = now

    def q(self, node) -> Q:
        if isinstance(node, And):
            result = Q()
            for child in node.nodes:
                result &= self.q(child)
            return result
        if isinstance(node, Or):
            result = self.q(node.nodes[0])
            for child in node.nodes[1:]:
                result |= self.q(child)
            return result
        if isinstance(node, Not):
            inner = self.q(node.node)
            if _reads_json(node.node):  # a missing key makes the test NULL, and NOT NULL is not true:
                return ~Q(pk__in=annotate(Asset.objects.all()).filter(inner).values("pk"))  # an anti-join
            return ~inner
        if isinstance(node, Range):
            return self.range_(node)
        return self.term(node)

    # --- terms ---
    def term(self, term: Term) -> Q:
        if term.field is None:
            return text.free_text_q(term.value.plain, term.value.has_wildcard)
        field = term.field.lower() if "." not in term.field else term.field
        if field in ("tags", "tag"):
            self.only_equality(term)
            return Q(pk__in=AssetTag.objects.filter(self.string_q("name", term.value)).values("asset_id"))
        if field in EXACT_FIELDS:
            self.only_equality(term)
            return self.string_q(EXACT_FIELDS[field], term.value, lower=field in LOWERED)
        if field == "filename":
            self.only_equality(term)
            value = term.value
            if value.has_wildcard:
                return self.pattern_q("public_id", "(.*/)?" + self.regex(value.text))
            return Q(public_id=value.plain) | Q(public_id__endswith="/" + value.plain)
        if field in FOLDER_FIELDS:
            self.only_equality(term)
            return self.folder_q(term.value)
        if field in NUMBER_FIELDS:
            number = self.number(term.value, field, term.position)
            return Q(**{self.lookup(NUMBER_FIELDS[field], term.op): number})
        if field in DATE_FIELDS:
            return self.date_term(field, term)
        if field.startswith("context.") or field.startswith("metadata."):
            column, key = field.split(".", 1)
            return self.json_q(column, self.key(key, term.position), term)
        if field == "context":
            self.only_equality(term)
            return Q(context__has_key=self.key(term.value.plain, term.position))
        raise ExpressionError(f"Unknown field {term.field!r}", term.position)

    def range_(self, node: Range) -> Q:
        field = node.field.lower() if "." not in node.field else node.field
        low_op = "gte" if node.low_inclusive else "gt"
        high_op = "lte" if node.high_inclusive else "lt"
        if field in NUMBER_FIELDS:
            name = NUMBER_FIELDS[field]
            result = Q()
            if node.low.plain != "*":
                result &= Q(**{f"{name}__{low_op}": self.number(node.low, field, node.position)})
            if node.high.plain != "*":
                result &= Q(**{f"{name}__{high_op}": self.number(node.high, field, node.position)})
            return result
        if field in DATE_FIELDS:
            result = Q()
            if node.low.plain != "*":
                start, end = self.moment(node.low, node.position)
                result &= self.date_q(field, low_op, start if node.low_inclusive else end)
            if node.high.plain != "*":
                start, end = self.moment(node.high, node.position)
                result &= self.date_q(field, high_op, end if node.high_inclusive else start)
            return result
        if field.startswith("metadata.") or field in EXACT_FIELDS:
            name = EXACT_FIELDS.get(field)
            if name is None:
                name = "metadata__" + self.key(field.split(".", 1)[1], node.position)
            result = Q()
            if node.low.plain != "*":
                result &= Q(**{f"{name}__{low_op}": self.scalar(node.low)})
            if node.high.plain != "*":
                result &= Q(**{f"{name}__{high_op}": self.scalar(node.high)})
            return result
        raise ExpressionError(f"Field {node.field!r} has no range", node.position)

    # --- helpers ---
    @staticmethod
    def only_equality(term: Term) -> None:
        if term.op not in (":", "="):
            raise ExpressionError(f"Field {term.field!r} takes ':' or '=', not {term.op!r}", term.position)

    @staticmethod
    def lookup(name: str, op: str) -> str:
        return name if op in (":", "=") else f"{name}__{COMPARE[op]}"

    @staticmethod
    def regex(text_: str) -> str:
        return "".join(".*" if part == WILDCARD else re.escape(part) for part in re.split(f"({re.escape(WILDCARD)})",
                                                                                          text_) if part)

    def pattern_q(self, name: str, pattern: str) -> Q:
        return Q(**{f"{name}__regex": f"^{pattern}$"})

    def string_q(self, name: str, value: Value, lower: bool = False) -> Q:
        plain = value.plain.lower() if lower else value.plain
        if not value.has_wildcard:
            return Q(**{name: plain})
        body = value.text.lower() if lower else value.text
        head, _, rest = body.partition(WILDCARD)
        if rest == "":  # one trailing star: a prefix, served by the column's index
            return prefix_q(name, head)
        return self.pattern_q(name, self.regex(body))

    def folder_q(self, value: Value) -> Q:
        plain = value.plain.strip("/")
        if value.text.endswith("/" + WILDCARD) and value.text.count(WILDCARD) == 1:
            base = value.text[: -len("/" + WILDCARD)].strip("/")
            return Q(folder=base) | prefix_q("folder", base + "/")
        if value.has_wildcard:
            return self.string_q("folder", value)
        return Q(folder=plain)

    def number(self, value: Value, field: str, position: int) -> int:
        match = re.fullmatch(r"(\d{1,15})(?:\.(\d{1,6}))?\s*([a-z]*)", value.plain.strip().lower())
        unit = match.group(3) if match else ""
        if not match or (unit and (field != "bytes" or unit not in SIZE_UNITS)):
            hint = " (units: b, kb, mb, gb)" if field == "bytes" else ""
            raise ExpressionError(f"Invalid number {value.plain!r} for {field}{hint}", position)
        amount = float(f"{match.group(1)}.{match.group(2) or 0}")
        return int(amount * SIZE_UNITS.get(unit or "b", 1))

    def moment(self, value: Value, position: int) -> tuple[datetime, datetime]:
        """The interval [start, end) a date value names: a day, a second, or a relative instant."""
        try:
            return self._moment(value.plain.strip())
        except (ValueError, OverflowError):
            raise ExpressionError(f"Invalid date {value.plain!r}: yyyy-mm-dd, an ISO time or a relative "
                                  "time such as 1d or 4w (years 1 to 9998)", position) from None

    def _moment(self, text_: str) -> tuple[datetime, datetime]:
        relative = re.fullmatch(r"(\d{1,5})([hdwmy])", text_.lower())
        if relative:
            instant = self.now - int(relative.group(1)) * TIME_UNITS[relative.group(2)]
            return instant, instant
        if text_.lower() == "now":
            return self.now, self.now
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text_):
            day = datetime.fromisoformat(text_).replace(tzinfo=timezone.utc)
            return day, day + timedelta(days=1)
        instant = datetime.fromisoformat(text_.replace("Z", "+00:00"))
        instant = (instant if instant.tzinfo else instant.replace(tzinfo=timezone.utc)).astimezone(timezone.utc)
        return instant, instant + timedelta(seconds=1)

    def date_term(self, field: str, term: Term) -> Q:
        start, end = self.moment(term.value, term.position)
        if term.op in (":", "="):
            if start == end:  # a relative time: since then
                return self.date_q(field, "gte", start)
            return self.date_q(field, "gte", start) & self.date_q(field, "lt", end)
        op = COMPARE[term.op]
        boundary = {"gt": end, "gte": start, "lt": start, "lte": end}[op]
        if op == "lte" and start != end:
            op = "lt"
        if op == "gt" and start != end:
            op = "gte"
        return self.date_q(field, op, boundary)

    @staticmethod
    def date_q(field: str, op: str, instant: datetime) -> Q:
        name = DATE_FIELDS[field]
        if name == "version":  # whole Unix seconds: round the instant the way the comparison needs
            seconds = instant.timestamp()
            value = math.floor(seconds) if op in ("gt", "lte") else math.ceil(seconds)
            return Q(**{f"version__{op}": value})
        return Q(**{f"{name}__{op}": instant})

    @staticmethod
    def key(key: str, position: int) -> str:
        if not KEY.fullmatch(key):
            raise ExpressionError(f"Invalid key {key!r}: letters, digits, '_' and '-'", position)
        if JSON_FIELD.get_lookup(key) or key.isdigit():
            raise ExpressionError(f"Key {key!r} can't be searched: it is a reserved word", position)
        return key

    @staticmethod
    def scalar(value: Value):
        plain = value.plain
        return int(plain) if re.fullmatch(r"-?\d{1,15}", plain) else plain

    def json_q(self, column: str, key: str, term: Term) -> Q:
        """``context.<key>`` / ``metadata.<key>``: the stored value equals (or compares to) the term's;
        a metadata set (a list of external ids) matches when it holds the value."""
        name = f"{column}__{key}"
        value = term.value
        if term.op not in (":", "="):
            return Q(**{f"{name}__{COMPARE[term.op]}": self.scalar(value)})
        if value.has_wildcard:
            return Q(**{f"{name}__regex": "^" + self.regex(value.text) + "$"})
        if column == "metadata":
            return self.metadata_equals(key, value.plain, self.scalar(value))
        return Q(**{name: value.plain}) & text.context_prefilter(value.plain)

    @staticmethod
    def metadata_equals(key: str, text_: str, scalar) -> Q:
        """The field's value is ``text_`` (or the number), or a set holding it: one containment test."""
        candidates = [text_] + ([scalar] if isinstance(scalar, int) else [])
        if connection.vendor == "postgresql":  # jsonb @>: a scalar contains itself, an array its items
            result = Q()
            for candidate in candidates:
                result |= Q(**{f"metadata__{key}__contains": candidate})
            return result
        marks = ", ".join(["%s"] * len(candidates))  # json_each walks an array, or yields a scalar once
        return Q(RawSQL(f'EXISTS (SELECT 1 FROM json_each("assets_asset"."metadata", %s) WHERE value IN ({marks}))',
                        [f'$."{key}"', *candidates], output_field=BooleanField()))


def _reads_json(node) -> bool:
    """Whether a subtree has a context.* or metadata.* term (NULL for rows without the key)."""
    if isinstance(node, (And, Or)):
        return any(_reads_json(n) for n in node.nodes)
    if isinstance(node, Not):
        return _reads_json(node.node)
    field = (node.field or "") if isinstance(node, (Term, Range)) else ""
    return field.startswith(("context.", "metadata."))


def prefix_q(field: str, prefix: str) -> Q:
    """``field`` starts with ``prefix``, case-sensitively and able to use an index (as admin_base.prefix_q)."""
    q = Q(**{f"{field}__startswith": prefix})
    if connection.vendor == "sqlite":
        q &= Q(**{f"{field}__gte": prefix, f"{field}__lt": prefix + "\U0010ffff"})
    return q

