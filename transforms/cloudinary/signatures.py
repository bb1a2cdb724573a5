"""Delivery URL signatures: ``s--<8 chars>--`` (SHA-1) or ``s--<32 chars>--`` (SHA-256).

A signature covers the still-encoded path after it, the version component left out
(cloudinary.utils.cloudinary_url).  The candidates we check: the raw request target
when the server hands it over (gunicorn's RAW_URI, uWSGI/Apache's REQUEST_URI; granian,
the Procfile's server, gives none), and the decoded path re-encoded the way the SDKs
encode it (signing.smart_escape): what every SDK-built URL verifies by.  The SDKs
escape a text layer's text themselves before signing (twice for ``,`` and ``/``, once
for the rest, ``$(variable)`` left alone); a candidate with the text written that way
verifies SDK-signed text layers, such as the Studio's Python snippet builds.

The secrets tried are those that may sign (assets.keys.signing_secrets): the cloud's
own and those of editor and admin keys.  A viewer key's secret signs nothing here.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from urllib.parse import urlsplit

from assets import keys, signing
from core.errors import BadRequest, Unauthorized

from ..text import decode_text
from .parser import DeliveryPath

SIGNED_TYPES = ("private", "authenticated")


def candidate_paths(meta: dict, parsed: DeliveryPath) -> list[str]:
    candidates: list[str] = []
    raw = meta.get("RAW_URI") or meta.get("REQUEST_URI")
    if raw and parsed.signature is not None:
        raw_path = urlsplit(raw).path if "://" in raw.split("?", 1)[0] else raw.split("?", 1)[0]
        marker = f"/s--{parsed.signature}--/"
        at = raw_path.find(marker)
        if at >= 0:
            components = raw_path[at + len(marker):].split("/")
            candidates += [signing.url_to_sign(components), "/".join(components)]
    decoded = [*parsed.transformations, parsed.escaped_name]
    candidates.append("/".join(decoded))
    candidates.append("/".join([*map(sdk_text_escaped, parsed.transformations), parsed.escaped_name]))
    if parsed.version is not None:  # an SDK given "v123/name" as its source signs the version too
        candidates.append("/".join([*parsed.transformations, f"v{parsed.version}", parsed.escaped_name]))
    return list(dict.fromkeys(candidates))


_TEXT_LAYER = re.compile(r"^([lu]_text:[^:]*:)(.*)$", re.S)
_TEXT_VARIABLE = re.compile(r"(\$\([a-zA-Z]\w+\))")


def sdk_text_escaped(component: str) -> str:
    """A decoded component with each text layer's text escaped as the SDKs sign it
    (cloudinary.utils.process_layer): ``Hi%2C you`` -> ``Hi%252C%20you``."""
    tokens = component.split(",")
    for index, token in enumerate(tokens):
        match = _TEXT_LAYER.match(token)
        if match:
            try:
                text = decode_text(match.group(2))
            except BadRequest:
                continue
            parts = _TEXT_VARIABLE.split(text)
            tokens[index] = match.group(1) + "".join(
                part if _TEXT_VARIABLE.fullmatch(part) else
                signing.smart_escape(re.sub(r"[,/]", lambda m: "%{:02X}".format(ord(m.group(0))), part))
                for part in parts)
    return ",".join(tokens)


def check(meta: dict, parsed: DeliveryPath) -> None:
    """Raise Unauthorized unless the URL may be served: private and authenticated
    assets need a valid signature; a signature present on any URL must be valid."""
    if parsed.signature is None:
        if parsed.type in SIGNED_TYPES:
            raise Unauthorized(f"Signature is required for {parsed.type} resources")
        return
    candidates, secrets = candidate_paths(meta, parsed), keys.signing_secrets()
    if not (signing.verify_url_signature(parsed.signature, candidates, secrets)
            or _short_sha256(parsed.signature, candidates, secrets)):
        raise Unauthorized("Invalid signature")


def _short_sha256(signature: str, candidates: list[str], secrets: list[str]) -> bool:
    """8 characters of a SHA-256 digest: what the SDKs sign with ``signature_algorithm="sha256"``
    and no ``long_url_signature``."""
    if len(signature) != 8:
        return False
    return any(
        hmac.compare_digest(_b64_sha256(path + secret)[:8], signature) for secret in secrets for path in candidates
    )


def _b64_sha256(text: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii")
