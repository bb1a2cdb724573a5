"""Signatures, as the Cloudinary SDKs compute them.

- API requests: every parameter except ``file``, ``api_key``, ``resource_type``,
  ``cloud_name`` and ``signature`` itself; empty values dropped; lists joined with
  commas; ``k=v`` pairs (``&`` inside a value escaped as ``%26``), sorted, joined with
  ``&``; the secret appended; SHA-1 (40 hex) or SHA-256 (64 hex).  Only that encoding
  verifies: it is what the current SDKs sign (``signature_version`` 2, the default of
  the Python SDK 1.4x and the Node SDK 2.x), and accepting the raw form too would let a
  value holding ``&x=y`` be read as a second parameter the signer never meant.
- Upload responses: hex SHA-1 of ``public_id=<id>&version=<v>`` + secret (SHA-256 when the
  request was signed with SHA-256, as the SDKs' ``verify_api_response_signature`` expects).
- Delivery URLs: ``s--<sig>--`` where sig is the first 8 (SHA-1) or 32 (SHA-256)
  characters of the url-safe base64 digest of ``<transformation>/<source>`` + secret,
  over the still-encoded path, the version component left out.
- Notifications: hex SHA-1/256 of ``<body><timestamp><secret>``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Iterable, Mapping
from urllib.parse import quote

UNSIGNED_PARAMS = frozenset({"file", "api_key", "resource_type", "cloud_name", "signature", "signature_algorithm"})
_ALGORITHMS = {"sha1": hashlib.sha1, "sha256": hashlib.sha256}


def _value_string(value) -> str:
    if isinstance(value, (list, tuple)):
        return ",".join(str(v) for v in value)
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


def string_to_sign(params: Mapping[str, object]) -> str:
    parts = []
    for key, value in params.items():
        if key in UNSIGNED_PARAMS or value in (None, "", [], ()):
            continue
        parts.append(f"{key}={_value_string(value)}".replace("&", "%26"))
    return "&".join(sorted(parts))


def hex_digest(text: str, algorithm: str = "sha1") -> str:
    return _ALGORITHMS[algorithm](text.encode("utf-8")).hexdigest()


def sign_params(params: Mapping[str, object], secret: str, algorithm: str = "sha1") -> str:
    return hex_digest(string_to_sign(params) + secret, algorithm)


def verify_params(params: Mapping[str, object], secret: str, signature: str) -> bool:
    """True when `signature` signs `params` (SHA-1 or SHA-256, told apart by length)."""
    signature = (signature or "").strip().lower()
    algorithm = {40: "sha1", 64: "sha256"}.get(len(signature))
    if algorithm is None:
        return False
    return hmac.compare_digest(hex_digest(string_to_sign(params) + secret, algorithm), signature)


def response_signature(public_id: str, version: int, secret: str, algorithm: str = "sha1") -> str:
    return hex_digest(f"public_id={public_id}&version={version}" + secret, algorithm)


def algorithm_of(signature) -> str:
    """The algorithm a hex request signature was made with (told apart by length)."""
    return "sha256" if len(str(signature or "").strip()) == 64 else "sha1"


def notification_signature(body: str, timestamp: int | str, secret: str, algorithm: str = "sha1") -> str:
    return hex_digest(f"{body}{timestamp}{secret}", algorithm)


# --- Delivery URL signatures ----------------------------------------------------------

_UNSAFE = re.compile(r"([^a-zA-Z0-9_.\-/:]+)")
_VERSION = re.compile(r"^v\d+$")


def smart_escape(text: str) -> str:
    """Percent-encode as the SDKs do: everything but letters, digits and ``_.-/:``."""
    return _UNSAFE.sub(lambda m: quote(m.group(1), safe=""), text)


def url_signature(to_sign: str, secret: str, long: bool = False) -> str:
    algorithm, length = ("sha256", 32) if long else ("sha1", 8)
    digest = _ALGORITHMS[algorithm]((to_sign + secret).encode("utf-8")).digest()
    return base64.urlsafe_b64encode(digest)[:length].decode("ascii")


def url_to_sign(components: Iterable[str]) -> str:
    """The signed part of a delivery path: its components after the signature, less the version."""
    parts = list(components)
    for index, part in enumerate(parts[:-1]):
        if _VERSION.match(part):
            del parts[index]
            break
    return "/".join(parts)


def verify_url_signature(signature: str, signed_paths: Iterable[str], secrets: Iterable[str]) -> bool:
    """`signature` is what stands between ``s--`` and ``--``; `signed_paths` are candidate encodings."""
    long = len(signature) == 32
    if len(signature) not in (8, 32):
        return False
    for secret in secrets:
        for path in signed_paths:
            if hmac.compare_digest(url_signature(path, secret, long), signature):
                return True
    return False
