"""``folders/search``: the same expression language over folders.

Fields: ``name`` (the last path segment), ``path`` (``a/*``: below a), ``id`` /
``external_id`` (the folder's external id is an MD5 of its path, so it is matched in
Python over at most ``MAX_SCAN`` paths), ``created_at``; free text matches the path.
"""

from __future__ import annotations

from datetime import datetime, timezone

from django.db.models import Q

from ..models import Folder
from .parser import ExpressionError, Range, Term, parse
from .query import _Compiler, prefix_q

FIELDS = ("name", "path", "created_at")


class _FolderCompiler(_Compiler):
    def term(self, term: Term) -> Q:
        value = term.value
        field = (term.field or "").lower()
        if not field:
            needle = value.plain.replace("*", "")
            return Q(path__icontains=needle) if needle else Q()
        if field == "created_at":
            start, end = self.moment(value, term.position)
            if term.op in (":", "="):
                return Q(created_at__gte=start) & (Q(created_at__lt=end) if end != start else Q())
            op = {"<": "lt", ">": "gt", "<=": "lte", ">=": "gte"}[term.op]
            return Q(**{f"created_at__{op}": {"gt": end, "gte": start, "lt": start, "lte": end}[op]})
        self.only_equality(term)
        if field == "path":
            if value.text.endswith("/\x00*") and value.text.count("\x00*") == 1:
                return prefix_q("path", value.text[:-2])
            return self.string_q("path", value) if value.has_wildcard else Q(path=value.plain.strip("/"))
        if field == "name":
            if value.has_wildcard:
                return self.pattern_q("path", "(.*/)?" + self.regex(value.text))
            return Q(path=value.plain) | Q(path__endswith="/" + value.plain)
        raise ExpressionError(f"Unknown folder field {term.field!r}: one of {', '.join(FIELDS)}", term.position)

    def range_(self, node: Range) -> Q:
        if node.field.lower() != "created_at":
            raise ExpressionError(f"Field {node.field!r} has no range", node.position)
        result = Q()
        if node.low.plain != "*":
            start, end = self.moment(node.low, node.position)
            result &= Q(**{f"created_at__{'gte' if node.low_inclusive else 'gt'}":
                           start if node.low_inclusive else end})
        if node.high.plain != "*":
            start, end = self.moment(node.high, node.position)
            result &= Q(**{f"created_at__{'lte' if node.high_inclusive else 'lt'}":
                           end if node.high_inclusive else start})
        return result


def folders(expression: str, now=None):
    """The Folder rows the expression selects (raises ExpressionError)."""
    node = parse(expression or "")
    if node is None:
        return Folder.objects.all()
    return Folder.objects.filter(_FolderCompiler(now or datetime.now(timezone.utc)).q(node))

