"""The answer to a delivery, shared by both dialects' views (transforms.views for
Cloudinary's URLs, transforms.imagekit.views for ImageKit's): headers, the memo's offer,
the conditional GET and the streamed file (`respond`), the asset a path names (fetched
through an upload mapping when missing: `find_or_fetch_mapped`), and errors as Cloudinary's JSON with
an ``X-Cld-Error`` header (`error`).  It sits beside the ImageKit dialect in the import
layers (below the HTTP modules) so that dialect's view can call it; `Candidate` lives here
for the same reason (transforms.memo reads it)."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.db import connections
from django.http import FileResponse, HttpResponse
from django.utils.cache import get_conditional_response
from django.utils.http import content_disposition_header, http_date, quote_etag

from assets import mappings
from core.errors import ApiError, NotFound
from core.responses import error_response

from . import derived
from .cloudinary import lookup
from .cloudinary.named import check_strict
from .encode import mime_type

ENVIRON_KEY = "dam.memo"
STREAM_BLOCK = 256 * 1024  # bytes per piece of a streamed file (Django's default: 4 KiB)


@dataclass(frozen=True)
class Candidate:
    """What the view says an answer was built from (set on environ[ENVIRON_KEY])."""

    alias: str  # database alias of the asset row
    asset_id: int
    type: str
    public_id: str
    version: int
    version_id: str
    vary: tuple[str, ...]  # request headers the answer varies on (its Vary header)
    etag: str  # the answer's ETag header value (quoted)
    size: int  # body size of a 200
    derived_id: int | None = None  # the derived row served; None: the original
    updated_at: object = None  # the original's, adapted for the database (originals only)
    asset_etag: str = ""


def respond(request, asset, resolved, found: derived.Deliverable, fh, *, version: int | None, name: str,
            memo: bool):
    """The answer for an opened deliverable (`derived.open_file`): headers (ETag, Cache-Control by `version`, Vary, CORS,
    Content-Disposition for fl_attachment), the memo's offer when `memo` (an unsigned URL
    naming the asset by its own public_id), then the conditional GET (304/412), HEAD, or the
    file streamed.  `name`: the download's file name without its format."""
    headers = headers_for(version, asset, found)
    if resolved.vary:
        headers["Vary"] = ", ".join(resolved.vary)
    if memo:
        offer_to_memo(request, asset, resolved, found, headers["ETag"])
    filename = f"{name}.{found.format}"
    if resolved.attachment:
        stem = resolved.attachment if isinstance(resolved.attachment, str) else name
        filename = f"{stem}.{found.format}"
        headers["Content-Disposition"] = content_disposition_header(True, filename)
    plain = with_headers(HttpResponse(content_type=mime_type(found.format)), headers)
    conditional = get_conditional_response(
        request, etag=headers["ETag"], last_modified=int(found.last_modified.timestamp()), response=plain
    )
    if conditional is not plain or request.method == "HEAD":  # 304/412, or no body wanted
        fh.close()
        if conditional is not plain:
            return conditional
        response = plain
        response["Content-Length"] = str(found.size)
        if not response.has_header("Content-Disposition"):
            response["Content-Disposition"] = content_disposition_header(False, filename)
        return response
    response = FileResponse(fh, content_type=mime_type(found.format), filename=filename)
    response.block_size = STREAM_BLOCK  # servers without wsgi.file_wrapper (granian) get the file in these
    if not response.has_header("Content-Length"):
        response["Content-Length"] = str(found.size)
    return with_headers(response, headers)


def offer_to_memo(request, asset, resolved, found: derived.Deliverable, etag: str) -> None:
    """Tell transforms.memo (the WSGI wrapper in config.wsgi) what this answer was built
    from, when that is all it depends on: the asset row (found by its own public_id) and
    the derived row, or the original.  An answer whose rendering reads anything else
    (layers, tags or context, coordinates, a cut-out) is never remembered."""
    if found.derived is not None:
        if derived.dependencies(asset, resolved.steps):
            return
        extra = {"derived_id": found.derived.pk}
    else:
        connection = connections[asset._state.db or "default"]
        extra = {"updated_at": connection.ops.adapt_datetimefield_value(asset.updated_at), "asset_etag": asset.etag}
    request.META[ENVIRON_KEY] = Candidate(
        alias=asset._state.db or "default", asset_id=asset.pk, type=asset.type, public_id=asset.public_id,
        version=asset.version, version_id=asset.version_id, vary=tuple(resolved.vary), etag=etag, size=found.size,
        **extra)


def headers_for(version: int | None, asset, found: derived.Deliverable) -> dict[str, str]:
    if asset.type != "upload":
        max_age = int(settings.DAM_DELIVERY_PRIVATE_MAX_AGE)
        cache_control = f"private, max-age={max_age}"
    elif version is not None and version == asset.version:
        # The URL names the current version: it will never answer anything else.
        cache_control = f"public, max-age={int(settings.DAM_DELIVERY_MAX_AGE)}, immutable"
    else:
        # No version, or another one (any number is accepted, as a cache-buster): keep it short.
        cache_control = f"public, max-age={int(settings.DAM_DELIVERY_UNVERSIONED_MAX_AGE)}"
    headers = {
        "ETag": quote_etag(found.etag),
        "Last-Modified": http_date(found.last_modified.timestamp()),
        "Cache-Control": cache_control,
        "X-Content-Type-Options": "nosniff",
    }
    if asset.type == "upload":
        headers["Access-Control-Allow-Origin"] = "*"
    if found.format == "svg":
        headers["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'; sandbox"
    return headers


def with_headers(response, headers: dict[str, str]):
    for name, value in headers.items():
        response[name] = value
    return response


def error(exc: ApiError):
    response = error_response(exc.message, exc.status, exc.headers)
    header = "".join(ch if " " <= ch < "\x7f" else ch.encode("unicode_escape").decode() for ch in exc.message)
    response["X-Cld-Error"] = header
    response["Cache-Control"] = "no-store"
    return response


def find_or_fetch_mapped(parsed, requested):
    """The asset the path names; for a missing one in an upload-mapped folder, fetched
    from the mapping's template first (assets.mappings)."""
    try:
        return lookup.find_asset(parsed, requested)
    except NotFound:
        if parsed.type != "upload" or mappings.fetch_mapped(parsed.public_id, parsed.extension or "") is None:
            raise
    return lookup.find_asset(parsed, requested)


def check_strict_before_render(requested, signed: bool) -> None:
    """Strict transformations (transforms.cloudinary.named): 401 for an unsigned dynamic transformation.
    Both dialects' plans carry the Cloudinary text of their meaning (``n-<name>`` as ``t_<name>``)."""
    if requested.transformation:
        check_strict(requested.transformation, requested.named, signed=signed)
