"""Free-text terms of a search expression (and the Library's plain search box).

A word matches an asset whose public_id, original filename or a context value contains
it (case-insensitively), or which has a tag or format equal to it.
"""

from __future__ import annotations

from django.db.models import Exists, OuterRef, Q, TextField
from django.db.models.functions import Cast

from ..models import AssetTag


def annotate(queryset):
    return queryset.alias(_context_text=Cast("context", TextField()))


def free_text_q(text: str, wildcard: bool = False) -> Q:
    """Rows matching the free-text ``text`` (a star stands for anything: it is dropped for 'contains')."""
    needle = text.replace("*", "") if wildcard else text
    if not needle:
        return Q()
    tagged = AssetTag.objects.filter(asset=OuterRef("pk"), name=needle)
    return (Q(public_id__icontains=needle) | Q(original_filename__icontains=needle) | Q(format=needle.lower())
            | Q(_context_text__icontains=needle) | Exists(tagged))
