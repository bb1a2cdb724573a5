"""Limits on an asset's tags and context, one set for every way in.

Tags and context arrive from anonymous clients (unsigned uploads add tags and context
to a preset's), from the Upload API (upload, explicit, tags, context, rename), the
Admin API's update and the Studio; each stores them in the database and returns them
in every listing, so each is bounded:

- tags: at most ``DAM_MAX_TAGS`` per asset (Cloudinary's documented 1000), each at most
  ``DAM_MAX_TAG_LENGTH`` characters (Cloudinary's documented 255, which is also the
  column's size);
- context: keys of 1 to ``DAM_MAX_CONTEXT_KEY_LENGTH`` characters, values of at most
  ``DAM_MAX_CONTEXT_VALUE_LENGTH``, and at most ``DAM_MAX_CONTEXT_BYTES`` for all keys
  and values together (UTF-8).

Beyond a limit the call is a 400 naming it, before anything is written; callers that
change several assets do so in one transaction, so none is left half-changed.
"""

from __future__ import annotations

from django.conf import settings

from core.errors import BadRequest


def _short(text: str) -> str:
    return repr(text[:40]) + ("…" if len(text) > 40 else "")


def check_tag_names(tags: list[str]) -> list[str]:
    """`tags` (in order, duplicates dropped) when each is short enough; 400 otherwise."""
    limit = settings.DAM_MAX_TAG_LENGTH
    for tag in tags:
        if len(tag) > limit:
            raise BadRequest(f"Tag {_short(tag)} is longer than {limit} characters")
    return list(dict.fromkeys(tags))


def check_tags(tags: list[str]) -> list[str]:
    """The tags an asset would have, checked for length and count; 400 beyond a limit."""
    tags = check_tag_names(tags)
    limit = settings.DAM_MAX_TAGS
    if len(tags) > limit:
        raise BadRequest(f"Too many tags: at most {limit} per asset ({len(tags)} given)")
    return tags


def check_context(context: dict) -> dict:
    """The context an asset would have, checked for key, value and total size; 400 beyond."""
    key_limit, value_limit = settings.DAM_MAX_CONTEXT_KEY_LENGTH, settings.DAM_MAX_CONTEXT_VALUE_LENGTH
    total = 0
    for key, value in context.items():
        key, value = str(key), str(value)
        if not key or len(key) > key_limit:
            raise BadRequest(f"Context key {_short(key)} must be 1 to {key_limit} characters")
        if len(value) > value_limit:
            raise BadRequest(f"Context value of {_short(key)} is longer than {value_limit} characters")
        total += len(key.encode("utf-8")) + len(value.encode("utf-8"))
    if total > settings.DAM_MAX_CONTEXT_BYTES:
        raise BadRequest(f"Context too large: {total} bytes of keys and values, at most "
                         f"{settings.DAM_MAX_CONTEXT_BYTES}")
    return context
