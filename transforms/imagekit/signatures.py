"""ImageKit signed URLs: ``?ik-s=<signature>[&ik-t=<expiry>]``.

What the SDKs sign (npm ``imagekit`` 6.0.0 ``libs/url/builder.ts`` ``getSignature``, and
``@imagekit/nodejs`` 7 ``helper.ts``): the final URL before ``ik-t``/``ik-s`` are appended,
with ``urlEndpoint + "/"`` cut off the front, followed by the expiry in Unix seconds (or
``9999999999`` when the URL does not expire and carries no ``ik-t``); HMAC-SHA1 keyed with
the private key, hex.  So for ``http://host/ik/demo/tr:w-400/a/b.jpg?x=1&ik-t=1700000000&ik-s=..``
the text is ``tr:w-400/a/b.jpg?x=11700000000``.

The path is checked as sent: the raw request target when the server hands it over
(RAW_URI/REQUEST_URI), else the decoded path re-encoded as a WHATWG URL encodes a path (what
the SDKs' ``URL`` object did before signing).  The query string is WSGI's, raw, with the
``ik-t`` and ``ik-s`` pairs taken out (the SDKs add them after signing).  The private key is
any secret that may sign here (assets.keys.signing_secrets: the cloud's and the editor and
admin keys'), as for Cloudinary's ``s--..--`` signatures.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from urllib.parse import quote, urlsplit

from assets import keys
from core.errors import Unauthorized

SIGNATURE = "ik-s"
EXPIRY = "ik-t"
NEVER = "9999999999"  # what the SDKs sign when a URL does not expire
_HEX = re.compile(r"^[0-9a-fA-F]{40}$")
_SECONDS = re.compile(r"^[0-9]{1,12}$")
# WHATWG URL's path percent-encode set, besides C0 controls and non-ASCII: what `new URL()` escapes.
_PATH_SAFE = "!$&'()*+,;=:@/-._~%[]^|\\"


def _pairs(query_string: str) -> list[tuple[str, str]]:
    """The raw ``key=value`` pairs of a query string, in order, as sent."""
    return [(item.partition("=")[0], item) for item in query_string.split("&") if item]


def signed_text(relative_path: str, query_string: str, expiry: str | None) -> str:
    """The text an SDK signs for a URL whose path after the endpoint is `relative_path`
    (as sent) and whose raw query is `query_string` (ik-t/ik-s taken out here)."""
    kept = [item for key, item in _pairs(query_string) if key not in (SIGNATURE, EXPIRY)]
    return relative_path + (("?" + "&".join(kept)) if kept else "") + (expiry or NEVER)


def sign(secret: str, text: str) -> str:
    return hmac.new(secret.encode("utf-8"), text.encode("utf-8"), hashlib.sha1).hexdigest()


def candidate_paths(meta: dict, cloud: str, rest: str) -> list[str]:
    """The path after ``/ik/<cloud>/`` as the client may have sent it."""
    candidates: list[str] = []
    raw = meta.get("RAW_URI") or meta.get("REQUEST_URI")
    if raw:
        raw_path = urlsplit(raw).path if "://" in raw.split("?", 1)[0] else raw.split("?", 1)[0]
        prefix = f"/ik/{quote(cloud, safe='')}/"
        if raw_path.startswith(prefix):
            candidates.append(raw_path[len(prefix):])
    candidates.append(quote(rest, safe=_PATH_SAFE))
    candidates.append(quote(rest, safe="/:,"))  # an SDK that escapes everything but the separators
    return list(dict.fromkeys(candidates))


def check(meta: dict, cloud: str, rest: str) -> bool:
    """True for a URL with a valid ``ik-s`` (not expired), False for an unsigned one.
    Raises Unauthorized (401) for a bad signature, a malformed or past expiry, or an
    ``ik-t`` without ``ik-s``."""
    query_string = meta.get("QUERY_STRING", "")
    if SIGNATURE not in query_string and EXPIRY not in query_string:
        return False
    given = {key: item.partition("=")[2] for key, item in _pairs(query_string) if key in (SIGNATURE, EXPIRY)}
    counts = [key for key, _ in _pairs(query_string) if key in (SIGNATURE, EXPIRY)]
    if len(counts) != len(given):
        raise Unauthorized("Invalid signature: ik-s or ik-t given twice")
    signature, expiry = given.get(SIGNATURE), given.get(EXPIRY)
    if signature is None:
        if expiry is None:
            return False
        raise Unauthorized("Signature is required: ik-t without ik-s")
    if expiry is not None:
        if not _SECONDS.match(expiry):
            raise Unauthorized("Invalid signature: ik-t must be a Unix time in seconds")
        if int(expiry) < time.time():
            raise Unauthorized("The signed URL has expired (ik-t is in the past)")
    if not _HEX.match(signature):
        raise Unauthorized("Invalid signature")
    signature = signature.lower()
    texts = [signed_text(path, query_string, expiry) for path in candidate_paths(meta, cloud, rest)]
    for secret in keys.signing_secrets():
        for text in texts:
            if hmac.compare_digest(sign(secret, text), signature):
                return True
    raise Unauthorized("Invalid signature")
