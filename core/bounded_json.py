"""JSON from clients, bounded: every request body and every parameter holding JSON text.

Python's ``json`` recurses once per nesting level, so ``[[[[...`` a few thousand deep
raises RecursionError (a 500) and a few hundred deep still reaches code that walks the
value recursively.  Here a value may nest at most ``MAX_DEPTH`` levels (a Cloudinary
parameter needs two or three), checked while decoding (the decoder stops at Python's
recursion limit, which is answered as too deep) and right after it, so no caller ever
walks a deeper value.  Numbers must be finite: ``NaN``, ``Infinity`` and ``1e400``
(which ``float`` turns into inf) are refused, so ``int()`` of a parsed number never
overflows; integers must fit 64 bits, so none overflows a database column or query.
Every failure is a BadRequest.  (Framework-free, so the engine may read client JSON too;
assets.api.bounded_json adds Django REST framework's body parser on top.)
"""

from __future__ import annotations

import json
import math

from .errors import BadRequest

MAX_DEPTH = 32


class _Refused(ValueError):
    pass


def _finite(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise _Refused(f"number {text} is out of range")
    return number


def _int64(text: str) -> int:
    # the length test first: int() of a few thousand digits is itself slow
    if len(text.lstrip("-")) > 19 or not -(2**63) <= int(text) < 2**63:
        raise _Refused(f"integer {text[:30]}{'...' if len(text) > 30 else ''} does not fit 64 bits")
    return int(text)


def _constant(name: str):
    raise _Refused(f"{name} is not a JSON number")


def _depth(value) -> int:
    """Nesting depth of a decoded value, without recursion (1 for a flat list or object)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if level > MAX_DEPTH:
            return level
        deepest = max(deepest, level)
        stack.extend((child, level + 1) for child in children if isinstance(child, (dict, list)))
    return deepest


def loads(text: str | bytes, what: str = "JSON"):
    """Decode client JSON; BadRequest naming `what` when it is malformed, nests deeper than
    MAX_DEPTH or holds a non-finite number."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError:
            raise BadRequest(f"Invalid {what}: not UTF-8") from None
    try:
        value = json.loads(text, parse_float=_finite, parse_int=_int64, parse_constant=_constant)
    except RecursionError:  # the decoder's own bound: Python's recursion limit, long before the C stack
        raise BadRequest(f"Invalid {what}: nested deeper than {MAX_DEPTH} levels") from None
    except ValueError as exc:
        raise BadRequest(f"Invalid {what}: {exc}") from None
    if _depth(value) > MAX_DEPTH:
        raise BadRequest(f"Invalid {what}: nested deeper than {MAX_DEPTH} levels")
    return value


