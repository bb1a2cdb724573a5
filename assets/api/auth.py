"""Who is calling: HTTP Basic for the Admin API; signed parameters or an unsigned
preset for the Upload API; the cloud name in the path must be ours."""

from __future__ import annotations

import base64
import binascii
import time
from datetime import datetime, timezone

from django.conf import settings

from core.errors import BadRequest, Forbidden, NotFound, RateLimited, Unauthorized

from .. import keys, signing, throttle
from .params import as_int

# The SDKs leave these out of the signature of their tags, context and metadata calls
# only (cloudinary.uploader._NON_SIGNABLE_NOTIFICATION_PARAMS); every other signed call,
# upload and explicit included, signs them, so there they must be signed: an unsigned
# notification_url would let anyone replaying a signed upload aim its notification.
NON_SIGNABLE_NOTIFICATION = ("notification_url", "batch_id")
NON_SIGNABLE_ACTIONS = frozenset({"tags", "context", "metadata"})
READ_METHODS = ("GET", "HEAD", "OPTIONS")
# Admin API routes (URL names) that only an admin key may change: upload presets, and
# upload mappings (they make the server fetch from a URL).
ADMIN_ONLY_ROUTES = frozenset({"admin-presets", "admin-preset", "admin-upload-mappings"})
# Admin API routes (URL names) that only read, whatever the method (the Search API is POSTed to).
READ_ROUTES = frozenset({"admin-search", "admin-folders-search"})


def check_cloud(cloud_name: str) -> None:
    if cloud_name != settings.DAM_CLOUD_NAME:
        raise NotFound(f"Invalid cloud_name {cloud_name}")


def basic_credential(request) -> keys.Credential | None:
    header = request.META.get("HTTP_AUTHORIZATION", "")
    if header.lower().startswith("bearer"):
        # The SDKs' oauth_token. This server issues no OAuth tokens, so none is valid: worded
        # as Cloudinary words a bad one (the npm SDK's test looks for "Invalid token").
        raise Unauthorized("Invalid token")
    if not header.lower().startswith("basic "):
        return None
    try:
        decoded = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
        api_key, _, api_secret = decoded.partition(":")
    except (binascii.Error, UnicodeDecodeError):
        raise Unauthorized("Invalid Authorization header") from None
    credential = keys.find_credential(api_key)
    if credential is None:
        raise Unauthorized(f"Unknown API key {api_key}")
    if not signing.hmac.compare_digest(credential.secret, api_secret):
        raise Unauthorized("api_secret mismatch")
    return credential


def admin_credential(request) -> keys.Credential:
    credential = basic_credential(request)
    if credential is None:
        raise Unauthorized("Must supply api_key")
    rate_limit(request, credential)
    keys.touch(credential)
    return credential


def check_role(credential: keys.Credential | None, method: str = "POST", route: str | None = None) -> None:
    """What a key's role allows: viewer keys only read (GET Admin API calls); editor keys
    do everything but change upload presets (and API keys, which have no API); admin keys
    do everything. 403 otherwise."""
    if credential is None or method.upper() in READ_METHODS or route in READ_ROUTES:
        return
    if credential.role == "viewer":
        raise Forbidden(f"API key {credential.key} has the viewer role: it may only read (GET Admin API calls)")
    if credential.role != "admin" and route in ADMIN_ONLY_ROUTES:
        raise Forbidden(f"API key {credential.key} has the {credential.role} role: "
                        "only an admin key may change upload presets and upload mappings")


def rate_limit(request, credential: keys.Credential) -> None:
    """Admin API calls per key per clock hour, counted in the database so that every web
    process shares one count (assets.throttle), reported in X-FeatureRateLimit-* headers."""
    limit = settings.DAM_API_RATE_LIMIT
    window = throttle.hit(f"api:{credential.key}", 3600)
    used = window.count
    reset = datetime.fromtimestamp(window.ends, tz=timezone.utc)
    request.rate_limit_headers = {
        "X-FeatureRateLimit-Limit": str(limit),
        "X-FeatureRateLimit-Remaining": str(max(0, limit - used)),
        "X-FeatureRateLimit-Reset": reset.strftime("%a, %d %b %Y %H:%M:%S GMT"),
    }
    if used > limit:
        raise RateLimited(f"Rate Limit Exceeded: {limit} calls per hour", status=420,
                          headers=request.rate_limit_headers)


def signed_credential(params: dict, action: str = "") -> keys.Credential | None:
    """The credential behind a signed Upload API `action` request, or None when it is unsigned.

    Raises for a signature that does not verify, a stale timestamp or an unknown key.
    """
    signature = params.get("signature")
    api_key = params.get("api_key")
    if not signature:
        return None
    if not api_key:
        raise Unauthorized("Must supply api_key")
    credential = keys.find_credential(str(api_key))
    if credential is None:
        raise Unauthorized(f"Unknown API key {api_key}")
    timestamp = params.get("timestamp")
    if not timestamp:
        raise BadRequest("Missing required parameter - timestamp")
    ts = as_int(timestamp, name="timestamp")  # at most 18 digits: a 400-digit one is a 400, not an overflow
    if abs(time.time() - ts) > settings.DAM_SIGNATURE_MAX_AGE:
        raise BadRequest(f"Stale request - reported time is {_reported_time(ts)} which is out of range")
    to_sign = {k: v for k, v in params.items() if k not in signing.UNSIGNED_PARAMS}
    candidates = [to_sign]
    if action in NON_SIGNABLE_ACTIONS:
        candidates.append({k: v for k, v in to_sign.items() if k not in NON_SIGNABLE_NOTIFICATION})
    if not any(signing.verify_params(c, credential.secret, str(signature)) for c in candidates):
        raise Unauthorized(
            f"Invalid Signature {signature}. String to sign - '{signing.string_to_sign(to_sign)}'."
        )
    keys.touch(credential)
    return credential


def _reported_time(ts: int) -> str:
    """A timestamp as Cloudinary's stale-request message shows it; the bare number when it
    lies outside the years a datetime can hold."""
    try:
        return datetime.fromtimestamp(ts, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S +0000")
    except (OverflowError, OSError, ValueError):
        return str(ts)
