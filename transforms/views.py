"""Delivery: ``GET|HEAD /<cloud>/image/<type>/[s--SIG--/][<transformation>/][v<version>/]<public_id>[.<ext>]``.

Thin: parse -> check the signature -> plan (named transformations expanded) -> find
the asset -> resolve format and quality for this request -> ask the
derived cache for a file (strict mode is checked before rendering a missing one) ->
headers (``Vary`` for f_auto/q_auto, ``Content-Disposition``
for fl_attachment).  Errors leave as Cloudinary's JSON with an ``X-Cld-Error``.

``deliver_file``: ``/<cloud>/raw|video/...``, the stored file as it is (no engine).
"""

from __future__ import annotations

import dataclasses
import functools
import logging

from django.conf import settings
from django.core.files.storage import storages
from django.http import FileResponse, HttpResponse, JsonResponse
from django.utils.cache import get_conditional_response
from django.utils.http import content_disposition_header, http_date, quote_etag

from assets.fileinfo import VIDEO_MIME
from core.errors import ApiError, BadRequest, NotFound, Unauthorized

from . import admission, derived
from .answers import STREAM_BLOCK, check_strict_before_render, find_or_fetch_mapped, respond
from .answers import error as _error
from .answers import with_headers as _with_headers
from .cloudinary import breakpoints, entry, lookup, parser, signatures
from .cloudinary.named import check_strict

log = logging.getLogger(__name__)
ALLOWED_METHODS = ("GET", "HEAD")


def deliver(request, cloud: str, rest: str):
    if request.method not in ALLOWED_METHODS:
        return _error(ApiError("Method not allowed", 405, {"Allow": ", ".join(ALLOWED_METHODS)}))
    try:
        if cloud != settings.DAM_CLOUD_NAME:
            raise NotFound(f"Invalid cloud_name {cloud}")
        if ":json" in rest:  # w_auto:breakpoints...:json answers the breakpoints' JSON
            answer = _breakpoints_json(request, rest)
            if answer is not None:
                return answer
        parsed, requested = _parse(rest)
        signatures.check(request.META, parsed)
        signed = parsed.signature is not None
        if requested.needs_signature and not signed:  # checked before the cache, which may hold it
            raise Unauthorized("A private or authenticated layer needs a signed URL")
        asset, requested = find_or_fetch_mapped(parsed, requested)
        resolved = requested.for_asset(asset, accept=request.META.get("HTTP_ACCEPT", ""),
                                       save_data=request.META.get("HTTP_SAVE_DATA", "").strip().lower() == "on")
        # Strict mode refuses to *render* a dynamic transformation; what is already stored
        # (eager renderings, say) is served, as Cloudinary does.
        found, fh = derived.open_file(asset, resolved, signed=signed,
                                      before_render=lambda: check_strict_before_render(requested, signed),
                                      log_after_response=True, client=admission.client_address(request.META))
    except ApiError as exc:
        return _error(exc)
    memo = parsed.signature is None and asset.type == "upload" and asset.public_id == parsed.public_id
    return respond(request, asset, resolved, found, fh, version=parsed.version, name=parsed.filename, memo=memo)


# Raw files a browser may show inline from the delivery origin: none of these runs script.
# Anything else (HTML, SVG, XML, JavaScript, unknown) is application/octet-stream and an attachment.
RAW_INLINE_TYPES = {
    "txt": "text/plain; charset=utf-8", "csv": "text/csv; charset=utf-8", "json": "application/json",
    "pdf": "application/pdf", "zip": "application/zip", "gz": "application/gzip", "mp3": "audio/mpeg",
    "wav": "audio/wav", "ogg": "audio/ogg", "woff": "font/woff", "woff2": "font/woff2", "ttf": "font/ttf",
}
FILE_CSP = "default-src 'none'; media-src 'self'; style-src 'unsafe-inline'; sandbox"


def deliver_file(request, cloud: str, resource_type: str, rest: str):
    """``GET|HEAD /<cloud>/raw|video/<type>/[s--SIG--/][v<version>/]<public_id>``: the stored
    file as it is.  No transformation applies yet (400 naming why) but ``fl_attachment[:<name>]``
    (a download); a raw file is served inline only as a type that cannot run script
    (RAW_INLINE_TYPES), else as a download."""
    if request.method not in ALLOWED_METHODS:
        return _error(ApiError("Method not allowed", 405, {"Allow": ", ".join(ALLOWED_METHODS)}))
    try:
        if cloud != settings.DAM_CLOUD_NAME:
            raise NotFound(f"Invalid cloud_name {cloud}")
        parsed = parser.parse(rest)
        signatures.check(request.META, parsed)
        download = _attachment_only(parsed.transformations)
        if parsed.transformations and download is None:
            raise BadRequest("Video transformations are not supported yet" if resource_type == "video"
                             else "Transformations are not supported for raw files")
        asset = lookup.find_file(parsed, resource_type)
        if not asset.storage_name:
            raise NotFound(f"Resource not found - {asset.public_id}")
        try:
            fh = storages["default"].open(asset.storage_name, "rb")
        except (FileNotFoundError, OSError):
            raise NotFound(f"Resource not found - {asset.public_id}") from None
    except ApiError as exc:
        return _error(exc)
    name = asset.public_id.rsplit("/", 1)[-1]
    if download:  # fl_attachment:<name>: the download's name, the file's own extension kept
        name = download + (f".{name.rpartition('.')[2]}" if resource_type == "raw" and "." in name else "")
    if resource_type == "video":
        content_type, attachment = VIDEO_MIME.get(asset.format, "application/octet-stream"), False
        filename = f"{name}.{asset.format}"
    else:
        extension = name.rpartition(".")[2].lower() if "." in name else ""
        content_type = RAW_INLINE_TYPES.get(extension, "application/octet-stream")
        attachment, filename = extension not in RAW_INLINE_TYPES, name
    attachment = attachment or download is not None
    headers = _file_headers(parsed, asset)
    if content_type == "application/pdf":  # a sandboxed document cannot show the browser's PDF viewer
        del headers["Content-Security-Policy"]
    headers["Content-Disposition"] = content_disposition_header(attachment, filename)
    plain = _with_headers(HttpResponse(content_type=content_type), headers)
    conditional = get_conditional_response(request, etag=headers["ETag"],
                                           last_modified=int(asset.updated_at.timestamp()), response=plain)
    if conditional is not plain or request.method == "HEAD":
        fh.close()
        if conditional is plain:
            plain["Content-Length"] = str(asset.bytes)
        return conditional
    response = FileResponse(fh, content_type=content_type)
    response.block_size = STREAM_BLOCK
    response["Content-Length"] = str(asset.bytes)
    return _with_headers(response, headers)


def _attachment_only(transformations: tuple[str, ...]) -> str | None:
    """``fl_attachment`` (-> "") or ``fl_attachment:<name>`` (-> name) when it is the whole
    transformation (the one a raw or video file takes for now); None otherwise."""
    if len(transformations) != 1:
        return None
    flag, _, name = transformations[0].partition(":")
    if flag != "fl_attachment" or "," in name or "/" in name:
        return None
    return name


def _file_headers(parsed, asset) -> dict[str, str]:
    if asset.type != "upload":
        cache_control = f"private, max-age={int(settings.DAM_DELIVERY_PRIVATE_MAX_AGE)}"
    elif parsed.version is not None and parsed.version == asset.version:
        cache_control = f"public, max-age={int(settings.DAM_DELIVERY_MAX_AGE)}, immutable"
    else:
        cache_control = f"public, max-age={int(settings.DAM_DELIVERY_UNVERSIONED_MAX_AGE)}"
    headers = {"ETag": quote_etag(asset.etag), "Last-Modified": http_date(asset.updated_at.timestamp()),
               "Cache-Control": cache_control, "X-Content-Type-Options": "nosniff",
               "Content-Security-Policy": FILE_CSP}
    if asset.type == "upload":
        headers["Access-Control-Allow-Origin"] = "*"
    return headers


@functools.lru_cache(maxsize=4096)
def _parse_pure(rest: str):
    parsed = parser.parse(rest)
    return parsed, entry.from_path(parsed)


def _parse(rest: str):
    """(DeliveryPath, Plan) of the URL text.  Both are a pure function of the text unless it
    names a transformation (``t_``, read from the database): those are remembered per process."""
    if "t_" in rest:
        parsed = parser.parse(rest)
        return parsed, entry.from_path(parsed)
    return _parse_pure(rest)


_BREAKPOINTS_SEEN: dict = {}  # (version, transformation, format, settings) -> answer, per process
BREAKPOINTS_REMEMBERED = 512


def _breakpoints_json(request, rest: str):
    """``.../c_scale,w_auto:breakpoints_<min>_<max>_<KB>_<n>:json/<public_id>``: the widths as
    ``{"breakpoints": [...]}`` (None when no component asks for them).  The widths are
    measured by rendering (bounded by transforms.breakpoints.SAMPLES) and remembered per
    asset version."""
    parts = rest.split("/")
    at = next((i for i, part in enumerate(parts) if breakpoints.delivery_settings(part) is not None), None)
    if at is None:
        return None
    wanted = breakpoints.delivery_settings(parts[at])
    parsed, requested = _parse("/".join(parts[:at] + parts[at + 1:]))
    signatures.check(request.META, _signed_as_sent(parsed, parts, at))
    if requested.needs_signature and parsed.signature is None:
        raise Unauthorized("A private or authenticated layer needs a signed URL")
    signed = parsed.signature is not None
    if not signed:  # strict mode: the breakpoints component is itself a dynamic transformation
        check_strict("/".join((*parsed.transformations, parts[at])), requested.named, signed=False)
    asset, requested = lookup.find_asset(parsed, requested)
    key = (asset.version_id, parsed.transformation, parsed.extension, wanted)
    answer = _BREAKPOINTS_SEEN.get(key)
    if answer is None:
        answer = breakpoints.delivery_json(asset, parsed.transformation, parsed.extension, wanted)
        if len(_BREAKPOINTS_SEEN) >= BREAKPOINTS_REMEMBERED:
            _BREAKPOINTS_SEEN.pop(next(iter(_BREAKPOINTS_SEEN)))
        _BREAKPOINTS_SEEN[key] = answer
    response = JsonResponse(answer)
    if asset.type == "upload":
        response["Access-Control-Allow-Origin"] = "*"
    return response


def _signed_as_sent(parsed, parts: list[str], at: int):
    """A signed breakpoints URL signs its transformations as sent, the breakpoints one included."""
    if parsed.signature is None:
        return parsed
    first = next(i for i, part in enumerate(parts) if part.startswith("s--")) + 1
    transformations, signed = list(parsed.transformations), list(parsed.signed_components)
    transformations.insert(at - first, parts[at])
    signed.insert(at - first, parts[at])
    return dataclasses.replace(parsed, transformations=tuple(transformations), signed_components=tuple(signed))


