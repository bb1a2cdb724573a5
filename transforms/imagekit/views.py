"""ImageKit delivery: ``GET|HEAD /ik/<cloud>/[tr:<steps>/]<path>[.<ext>][?tr=<steps>]``.

An ImageKit SDK is given ``http://<host>/ik/<cloud>`` as its ``urlEndpoint``.  Thin, as
transforms.views.deliver: the steps from the path (``tr:`` as the first segment) or the
query (``?tr=``; both at once is a 400: no source says how ImageKit combines them) read by
the dialect (`entry.from_steps`) -> the signature (``ik-s``/``ik-t``, transforms.imagekit.
signatures) -> the asset (the path without its extension is the public_id; the extension
picks the format unless ``f-`` does) -> `derived.open_file` -> transforms.answers.respond
(headers, conditional GET, memo).  Other query parameters (the SDKs' ``ik-sdk-version``,
``updatedAt``) are ignored.  The steps reach the dialect as sent (it splits before it
decodes): the raw query string's ``tr``; the path's ``tr:`` segment from the raw request
target when the server gives one, else decoded and re-escaped (a base64 ``ie-`` value whose
``%2F`` the server decoded into a separator is joined back).

An AI result still being computed (transforms.ai.lifecycle.ResultPending, Cloudinary's 423)
answers as ImageKit does: 200 with a small HTML page "The asset is currently being prepared",
``is-intermediate-response: true``, ``Retry-After`` and ``Cache-Control: no-store``; nothing
is stored or remembered for it.  Other errors: Cloudinary's JSON with ``X-Cld-Error``.

An ``ik-genimg-prompt-<text>`` segment (first, or after ``tr:``) is taken out of the path
(transforms.imagekit.genimg): the asset at the rest is served as usual; when there is none,
its generation is started or waited for (the intermediate response) or its failure answered.
"""

from __future__ import annotations

import functools
import re
from urllib.parse import unquote_plus, urlsplit

from django.conf import settings
from django.http import HttpResponse

from core.errors import ApiError, BadRequest, NotFound, Unauthorized

from .. import admission, derived
from ..ai.lifecycle import ResultPending
from ..answers import check_strict_before_render, error, find_or_fetch_mapped, respond
from ..cloudinary import entry as cloudinary_entry
from ..cloudinary.parser import DeliveryPath
from . import genimg, signatures
from .entry import from_steps, is_original

ALLOWED_METHODS = ("GET", "HEAD")
PATH_STEPS = "tr:"
INTERMEDIATE_HEADER = "is-intermediate-response"
INTERMEDIATE_PAGE = (
    "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Preparing</title></head>\n"
    "<body><p>The asset is currently being prepared. Please try again in {seconds} seconds.</p></body></html>\n"
)


def deliver(request, cloud: str, rest: str):
    if request.method not in ALLOWED_METHODS:
        return error(ApiError("Method not allowed", 405, {"Allow": ", ".join(ALLOWED_METHODS)}))
    try:
        if cloud != settings.DAM_CLOUD_NAME:
            raise NotFound(f"Invalid cloud_name {cloud}")
        path, segment = genimg.take(rest)  # ik-genimg-prompt-<text>/: the path names the asset
        if segment is not None:
            genimg.prompt_of(segment)  # a malformed segment is a 400 even once the image exists
        steps, name = _steps_and_name(request.META, cloud, path)
        signed = signatures.check(request.META, cloud, rest)
        public_id, extension = _split_name(name)
        parsed = DeliveryPath("upload", None, (), None, public_id, extension, ())
        original = is_original(steps)

        def find(plan):
            """The asset; none at an ``ik-genimg`` path starts (or waits for) its generation."""
            try:
                return find_or_fetch_mapped(parsed, plan)
            except NotFound:
                if segment is None:
                    raise
                if not original:
                    check_strict_before_render(plan, signed)  # a URL strict mode refuses starts nothing
                genimg.start(request.META, cloud, rest, segment, public_id, extension, signed)
                raise

        if original:  # orig-true: the stored file, whatever the extension says
            asset, _ = find(_plan("", None))
            resolved = _plan("", None).for_asset(asset)
            found, fh = _original(asset)
        else:
            requested = _plan(steps, extension)
            if requested.needs_signature and not signed:
                raise Unauthorized("A private or authenticated layer needs a signed URL")
            asset, requested = find(requested)
            resolved = requested.for_asset(asset, accept=request.META.get("HTTP_ACCEPT", ""),
                                           save_data=request.META.get("HTTP_SAVE_DATA", "").strip().lower() == "on")
            found, fh = derived.open_file(asset, resolved, signed=signed,
                                          before_render=lambda: check_strict_before_render(requested, signed),
                                          log_after_response=True, client=admission.client_address(request.META))
    except ResultPending as exc:
        return intermediate(request, exc)
    except ApiError as exc:
        return error(exc)
    memo = not signed and asset.type == "upload" and asset.public_id == public_id
    return respond(request, asset, resolved, found, fh, version=None, name=public_id.rsplit("/", 1)[-1], memo=memo)


def _steps_and_name(meta: dict, cloud: str, rest: str) -> tuple[str, str]:
    """(the steps as sent, the decoded path after them).  The dialect splits the steps
    before it decodes their values (transforms.imagekit.grammar), so they are handed over
    with their escapes: from the raw request target or query string.  Raises BadRequest
    for steps given twice."""
    query_steps = [_query_value(item.partition("=")[2])
                   for item in meta.get("QUERY_STRING", "").split("&") if item.partition("=")[0] == "tr"]
    path_steps = None
    if rest.startswith(PATH_STEPS):
        path_steps = _raw_path_steps(meta, cloud)
        decoded, rest = _decoded_path_steps(rest)
        if path_steps is None:  # the server gives no raw target: the decoded text, escaped once more
            path_steps = decoded[len(PATH_STEPS):].replace("%", "%25")
        if not rest:
            raise BadRequest("Invalid URL: missing file path after tr:")
    if len(query_steps) > 1:
        raise BadRequest("Invalid URL: tr given more than once in the query")
    if path_steps is not None and query_steps:
        raise BadRequest("Invalid URL: transformations both in the path (tr:) and the query (?tr=)")
    if path_steps is not None and not path_steps:
        raise BadRequest("Invalid URL: empty tr:")
    return (path_steps if path_steps is not None else (query_steps[0] if query_steps else "")), rest


_WHOLE_ESCAPED = re.compile(r"%(?:2C|3A)", re.IGNORECASE)


def _query_value(value: str) -> str:
    """A ``tr`` query value as sent, for the dialect: ``+`` is a space; a value escaped
    whole (npm ``imagekit`` 6 writes it through URLSearchParams: ``,`` as ``%2C``, ``:`` as
    ``%3A``) is decoded once, which leaves the escapes of its values."""
    if "," not in value and ":" not in value and _WHOLE_ESCAPED.search(value):
        return unquote_plus(value)
    return value.replace("+", "%20")


def _decoded_path_steps(rest: str) -> tuple[str, str]:
    """(the ``tr:`` segment, the path after it) of the decoded path.  The browser SDK escapes
    a base64 value (``ie-``) with encodeURIComponent, and the decoded path shows its ``/``
    as a separator: while the segment ends in an ``ie-`` value whose length is not a whole
    number of base64 quads (the SDKs pad it), the next segment is part of it."""
    parts = rest.split("/")
    while len(parts) > 2:
        last = parts[0].rsplit(",", 1)[-1].rsplit(":", 1)[-1]
        if not (last.startswith("ie-") and len(last[3:]) % 4):
            break
        parts[0:2] = [parts[0] + "/" + parts[1]]
    return parts[0], "/".join(parts[1:])


def _raw_path_steps(meta: dict, cloud: str) -> str | None:
    """The ``tr:`` segment as sent, when the server hands over the raw target
    (gunicorn's RAW_URI, uWSGI/Apache's REQUEST_URI)."""
    raw = meta.get("RAW_URI") or meta.get("REQUEST_URI")
    if not raw:
        return None
    raw_path = raw.split("?", 1)[0]
    if "://" in raw_path:
        raw_path = urlsplit(raw_path).path
    prefix = f"/ik/{cloud}/"
    if not raw_path.startswith(prefix):
        return None
    after = raw_path[len(prefix):]
    if genimg.is_segment(after.partition("/")[0]):  # ik-genimg-prompt-<text>/tr:<steps>/...
        after = after.partition("/")[2]
    if not after.startswith(PATH_STEPS):
        return None
    return after[len(PATH_STEPS):].partition("/")[0]


def _split_name(name: str) -> tuple[str, str | None]:
    """``folder/sub/photo.jpg`` -> ``("folder/sub/photo", "jpg")``; no extension -> None."""
    if any(part == "" for part in name.split("/")):
        raise BadRequest("Invalid URL: empty path segment")
    head, slash, last = name.rpartition("/")
    stem, dot, suffix = last.rpartition(".")
    if dot and stem and suffix:
        return head + slash + stem, suffix
    return name, None


def _read(steps: str, extension: str | None):
    if not steps:  # no transformation: the original, or its conversion to the extension's format
        return cloudinary_entry.from_text("", extension)
    return from_steps(steps, extension)


_plan_pure = functools.lru_cache(maxsize=4096)(_read)


def _plan(steps: str, extension: str | None):
    """The Plan of the steps; a pure function of the text unless it names a named
    transformation (``n-``, read from the database), so remembered per process."""
    return _read(steps, extension) if "n-" in steps else _plan_pure(steps, extension)


def _original(asset):
    found = derived.original(asset)
    try:
        return found, found.open()
    except FileNotFoundError:
        raise NotFound(f"Resource not found - {asset.public_id}") from None


def intermediate(request, exc: ResultPending) -> HttpResponse:
    """ImageKit's answer while an AI transformation is computed: 200, HTML, never cached."""
    seconds = exc.headers.get("Retry-After", "5")
    response = HttpResponse(b"" if request.method == "HEAD" else INTERMEDIATE_PAGE.format(seconds=seconds),
                            content_type="text/html; charset=utf-8")
    response[INTERMEDIATE_HEADER] = "true"
    response["Cache-Control"] = "no-store"
    response["Retry-After"] = seconds
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Access-Control-Allow-Origin"] = "*"
    response["Access-Control-Expose-Headers"] = f"{INTERMEDIATE_HEADER}, Retry-After"
    return response
