"""ImageKit's text to image by path: ``/ik/<cloud>/[tr:<steps>/]ik-genimg-prompt-<text>/<path>/<file>.<ext>``.

ImageKit generates the image once and then serves it at that path: the public_id is
``<path>/<file>`` (the ``ik-genimg`` segment taken out), a later request with another prompt
gets the same image, and the URL's transformations apply to it like to any asset.  So the view
(transforms.imagekit.views) takes the segment out (`take`) and serves the asset when it exists;
only when it does not does `start` ask assets.generation.paths for the generation making it
(one per path, however many requests ask, a back-off after a failure) and answer ImageKit's
intermediate response while it runs, or the failure (its 502/504..., ``X-Cld-Error``,
``Retry-After`` until a new attempt may start).

The segment is ``ik-genimg``, ``ik-genimg-prompt-<text>`` (the path's percent-decoding is the
only decoding, done once by the server) or ``ik-genimg-prompte-<base64>`` (as ``bg-genfill``'s
``prompte``); the prompt is bounded by ``MAX_PROMPT`` and checked as the Image Generation API
checks one.  It may stand first or right after the ``tr:`` segment.

Bounds, since an anonymous client can trigger a generation: unsigned URLs count against the
deployment's ``DAM_IMAGEKIT_GENIMG_UNSIGNED_MONTHLY`` (one pseudo key, ``UNSIGNED_KEY``, whose
pending tasks are also capped by ``DAM_IMAGE_GENERATION_MAX_PENDING_PER_KEY``; 0 means signed
URLs only: 401), signed ones (``ik-s``) against the signing API key's general quota.  Model
and size are the API's defaults (nano-banana standard, 1:1 at 1K); the format is the
extension's when the API makes it (jpg, png, webp), else PNG, delivered converted.
"""

from __future__ import annotations

import re

from django.conf import settings

from assets.generation import api as generation_api
from assets.generation import paths
from assets.generation.errors import GenerationError
from assets.generation.request import parse
from core.errors import BadRequest, Unauthorized

from ..ai.lifecycle import ResultPending
from . import signatures
from .checks import base64_text

SEGMENT = "ik-genimg"
MAX_PROMPT = 1000  # characters of a prompt in a URL
UNSIGNED_KEY = "imagekit:unsigned"  # the pseudo API key unsigned generations count against
_BASE64_PART = re.compile(rf"^{SEGMENT}-prompte-([A-Za-z0-9+/]*)$")
FORMATS = {"jpg": "jpeg", "jpeg": "jpeg", "png": "png", "webp": "webp"}


def is_segment(segment: str) -> bool:
    return segment == SEGMENT or segment.startswith(SEGMENT + "-")


def take(rest: str) -> tuple[str, str | None]:
    """(the path without its ``ik-genimg`` segment, the segment or None).  The segment stands
    first or right after ``tr:``; a base64 prompt whose ``/`` the server decoded into a
    separator is joined back (its length is then no whole number of quads)."""
    parts = rest.split("/")
    at = 1 if parts[0].startswith("tr:") and len(parts) > 1 and is_segment(parts[1]) else 0
    if not is_segment(parts[at]):
        return rest, None
    while len(parts) > at + 2 and _BASE64_PART.match(parts[at]) and len(_BASE64_PART.match(parts[at])[1]) % 4:
        parts[at:at + 2] = [parts[at] + "/" + parts[at + 1]]
    if len(parts) < at + 2:
        raise BadRequest(f"Invalid URL: {SEGMENT} needs the file path it generates after it "
                         f"({SEGMENT}-prompt-<text>/<path>/<file>.<ext>)")
    segment = parts.pop(at)
    return "/".join(parts), segment


def prompt_of(segment: str) -> str | None:
    """The segment's prompt (None for a bare ``ik-genimg``); 400 for anything else."""
    if segment == SEGMENT:
        return None
    tail = segment[len(SEGMENT):]
    if tail.startswith("-prompt-"):
        text = tail[len("-prompt-"):]
    elif tail.startswith("-prompte-"):
        text = base64_text(SEGMENT, tail[len("-prompte-"):])
    else:
        raise BadRequest(f"Invalid {SEGMENT} segment: {SEGMENT}-prompt-<text> or {SEGMENT}-prompte-<base64>")
    if not text.strip():
        raise BadRequest(f"Empty {SEGMENT} prompt")
    if len(text) > MAX_PROMPT:
        raise BadRequest(f"{SEGMENT} prompt is {len(text)} characters long; at most {MAX_PROMPT}")
    return text


def start(meta: dict, cloud: str, rest: str, segment: str, public_id: str, extension: str | None,
          signed: bool) -> None:
    """No asset at `public_id`: raise ResultPending while its generation is started or runs (the
    view answers the intermediate response), or the ApiError of a refusal or a failure."""
    prompt = prompt_of(segment)
    if prompt is None:
        raise BadRequest(f"{SEGMENT} needs a prompt to generate {public_id}: {SEGMENT}-prompt-<text>")
    if signed:
        api_key, limit = signatures.signer(meta, cloud, rest), None
        if api_key is None:  # check() just accepted it; a key deactivated in between
            raise Unauthorized("Invalid signature")
    else:
        limit = settings.DAM_IMAGEKIT_GENIMG_UNSIGNED_MONTHLY
        if limit <= 0:
            raise Unauthorized(f"{SEGMENT} generates only from signed URLs (ik-s) here: "
                               "DAM_IMAGEKIT_GENIMG_UNSIGNED_MONTHLY is 0")
        api_key = UNSIGNED_KEY
    try:
        req = parse({"prompt": prompt, "format": FORMATS.get((extension or "").lower(), "png"), "async": True,
                     "target": {"target_type": "managed_asset", "public_id": public_id}})
        state = paths.for_path(req, api_key, limit)
    except GenerationError as error:
        raise _named(error, signed) from None
    if state.failed:
        raise generation_api.failure(state.task, {"Retry-After": str(max(1, state.retry_after))})
    raise ResultPending(f"The image at {public_id} is being generated", headers={"Retry-After": str(state.retry_after)})


def _named(error: GenerationError, signed: bool) -> GenerationError:
    """A refusal in this URL's words: the unsigned quota names its setting."""
    if not signed and error.code in ("quota_exceeded", "too_many_pending"):
        what = ("DAM_IMAGEKIT_GENIMG_UNSIGNED_MONTHLY generations this month" if error.code == "quota_exceeded"
                else "DAM_IMAGE_GENERATION_MAX_PENDING_PER_KEY generations pending")
        return GenerationError(f"{SEGMENT} from unsigned URLs: the deployment's {what} are used up; "
                               "retry later or sign the URL (ik-s)", status=error.status, category=error.category,
                               code=error.code, details=error.details, headers=error.headers)
    return error
