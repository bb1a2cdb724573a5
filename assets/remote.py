"""Fetch a remote ``file=http(s)://...`` upload without becoming an SSRF proxy.

Every hop goes through ``assets.outbound``: the host is resolved once and each of its
addresses must pass ``assets.netguard`` (public addresses only, unless
``DAM_ALLOW_PRIVATE_REMOTE_URLS``), the connection goes to that checked address, TLS
verifies the original name, and redirects are followed by hand, each hop checked
before it is connected to.  ``DAM_REMOTE_FETCH_TIMEOUT`` is the deadline of the whole
download (redirects and body included, not per read), and the body is streamed to a
temporary file under ``DAM_MAX_UPLOAD_BYTES``.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings

from core.errors import BadRequest

from . import outbound, tempfiles

USER_AGENT = "dam-fetch/1.0"


def fetch_to_tempfile(url: str):
    """Download `url`; returns (open NamedTemporaryFile positioned at 0, size, filename)."""
    limit = settings.DAM_MAX_UPLOAD_BYTES
    deadline = outbound.Deadline(settings.DAM_REMOTE_FETCH_TIMEOUT)
    try:
        with outbound.exchange(url, deadline, headers={"User-Agent": USER_AGENT}) as response:
            if response.status != 200:
                raise BadRequest(f"Error in loading {url} - {response.status} {response.reason or ''}".strip())
            declared = response.headers.get("Content-Length", "")
            if declared.isdigit() and int(declared) > limit:
                raise BadRequest(f"File size too large. Got {declared}. Maximum is {limit}.")
            out = tempfiles.named("remote", ".bin")
            try:
                size = _copy(response, out, limit)
            except BaseException:
                out.close()
                raise
            final = response.url
    except outbound.OutboundError as exc:
        raise BadRequest(f"Error in loading {url} - {exc}") from None
    out.seek(0)
    name = urlsplit(final).path.rsplit("/", 1)[-1] or "remote"
    return out, size, name


def _copy(response: outbound.Response, out, limit: int) -> int:
    size = 0
    while block := response.read():
        size += len(block)
        if size > limit:
            raise BadRequest(f"File size too large. Got more than {limit}. Maximum is {limit}.")
        out.write(block)
    out.flush()
    return size
