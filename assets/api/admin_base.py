"""What every Admin API view shares: HTTP Basic auth, rate-limit headers, cursors,
page sizes, and the optional hooks into the transforms app.

``GET|POST|PUT|DELETE /v1_1/<cloud>/...``: the cloud name must be ours, the caller
sends ``api_key:api_secret`` as HTTP Basic, and every response (errors included,
once the key is known) carries the ``X-FeatureRateLimit-*`` headers the SDKs read.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
from datetime import datetime, timezone

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import CharField, F, Func, Q
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.views import APIView

from core.errors import BadRequest

from . import auth, bounded_json
from .bounded_json import BoundedJSONParser
from .params import as_int, check_text, collect

log = logging.getLogger(__name__)

RESOURCE_TYPES = ("image", "video", "raw")
DELIVERY_TYPES = ("upload", "private", "authenticated", "fetch")
DEFAULT_MAX_RESULTS = 10


class AdminView(APIView):
    """Base view: authenticate in ``initial``, add the rate-limit headers on the way out."""

    parser_classes = [BoundedJSONParser, FormParser, MultiPartParser]
    authentication_classes: list = []
    permission_classes: list = []

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        auth.check_cloud(kwargs.get("cloud_name", ""))
        check_text(kwargs, "path")  # public_ids, tags and names from the path reach the database too
        self.credential = auth.admin_credential(request)
        match = getattr(request, "resolver_match", None)
        auth.check_role(self.credential, request.method, match.url_name if match else None)
        self.params = collect(request)

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        for key, value in (getattr(request, "rate_limit_headers", None) or {}).items():
            response[key] = value
        return response


# --- parameters ---------------------------------------------------------------------


def check_resource_type(resource_type: str) -> str:
    if resource_type not in RESOURCE_TYPES:
        raise BadRequest(f"Invalid resource type {resource_type!r}: must be one of {', '.join(RESOURCE_TYPES)}")
    return resource_type


def check_type(type_: str) -> str:
    if type_ not in DELIVERY_TYPES:
        raise BadRequest(f"Invalid type {type_!r}: must be one of {', '.join(DELIVERY_TYPES)}")
    return type_


def max_results(params: dict, default: int = DEFAULT_MAX_RESULTS) -> int:
    return as_int(params.get("max_results"), default, "max_results", 1, settings.DAM_API_MAX_RESULTS)


def descending(params: dict, default: bool) -> bool:
    value = params.get("direction")
    if value in (None, ""):
        return default
    text = str(value).strip().lower()
    if text in ("desc", "-1"):
        return True
    if text in ("asc", "1"):
        return False
    raise BadRequest(f"Invalid direction {value!r}: asc, desc, 1 or -1")


def id_list(value, name: str = "public_ids", limit: int = 1000) -> list[str]:
    """A list of ids from ``key[]`` values, a JSON array or a comma-separated string.

    Items of a real list are kept whole (a public_id may contain a comma).
    """
    if value in (None, ""):
        return []
    if isinstance(value, (list, tuple)):
        items = [str(v) for v in value if v not in (None, "")]
    else:
        text = str(value).strip()
        if text.startswith("["):
            return id_list(bounded_json.loads(text, f"{name} value"), name, limit)
        items = [s.strip() for s in text.split(",") if s.strip()]
    if len(items) > limit:
        raise BadRequest(f"Too many {name}: at most {limit} per call")
    return list(dict.fromkeys(items))


def parse_time(value, name: str = "start_at") -> datetime | None:
    if value in (None, ""):
        return None
    text = str(value).strip().replace("Z", "+00:00")
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise BadRequest(f"Invalid {name} {value!r}: expected yyyy-mm-dd hh:mm:ss") from None
    moment = moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
    try:
        return moment.astimezone(timezone.utc)  # as the database compares it; year 0 or 10000 overflows here
    except OverflowError:
        raise BadRequest(f"Invalid {name} {value!r}: out of range") from None


def prefix_q(field: str, prefix: str) -> Q:
    """``field`` starts with ``prefix``, case-sensitively and able to use an index.

    SQLite's LIKE ignores case, so there the prefix is also written as a range,
    which is both exact and served by the (type, public_id) index.
    """
    q = Q(**{f"{field}__startswith": prefix})
    if connection.vendor == "sqlite":
        q &= Q(**{f"{field}__gte": prefix, f"{field}__lt": prefix + "\U0010ffff"})
    return q


def of_type(queryset, type_: str, ordered_by_id: bool = True):
    """``filter(type=type_)`` for listings ordered by id.

    On SQLite the (type, public_id) index would be chosen for the equality and every
    row of that type sorted by id; a unary ``+`` keeps the walk on the primary key.
    """
    if ordered_by_id and connection.vendor == "sqlite":
        return queryset.alias(_type_unindexed=Func(F("type"), template="+%(expressions)s",
                                                   output_field=CharField())).filter(_type_unindexed=type_)
    return queryset.filter(type=type_)


# --- cursors -------------------------------------------------------------------------


def encode_cursor(kind: str, value) -> str:
    raw = json.dumps([kind, value], separators=(",", ":")).encode("utf-8")
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode_cursor(cursor, kind: str):
    """The position stored in ``cursor`` for a listing of ``kind``; None without a cursor."""
    if cursor in (None, ""):
        return None
    text = str(cursor)
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        got_kind, value = bounded_json.loads(raw, "next_cursor")
        check_text(value, "next_cursor")  # its text reaches a query: no NUL, no lone surrogate
    except (binascii.Error, ValueError, TypeError, BadRequest):
        raise BadRequest(f"Invalid next_cursor {text!r}") from None
    if got_kind != kind:
        raise BadRequest("Invalid next_cursor: it belongs to another listing or ordering")
    return value


def page(queryset, limit: int):
    """The first ``limit`` rows and whether more follow."""
    rows = list(queryset[: limit + 1])
    return rows[:limit], len(rows) > limit


def keyset_page(queryset, params: dict, kind: str, field: str, limit: int, *, flat: bool = False):
    """One page of `queryset` (already ordered by `field`) after ``params["next_cursor"]``:
    (rows, the cursor for the next page or None).  `flat`: rows are the field's values."""
    after = decode_cursor(params.get("next_cursor"), kind)
    if after is not None:
        target = queryset.model._meta.get_field(field)
        try:
            if isinstance(after, (list, dict, bool)):
                raise ValueError(after)
            after = target.to_python(after)
        except (ValueError, TypeError, ValidationError):
            raise BadRequest("Invalid next_cursor") from None
        queryset = queryset.filter(**{f"{field}__gt": after})
    rows, more = page(queryset, limit)
    if not (more and rows):
        return rows, None
    return rows, encode_cursor(kind, rows[-1] if flat else getattr(rows[-1], field))
