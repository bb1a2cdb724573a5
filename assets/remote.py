"""Fetch a remote ``file=http(s)://...`` upload without becoming an SSRF proxy.

The host is resolved once; every address must be public (no loopback, private,
link-local, multicast, reserved or unspecified address) unless
``DAM_ALLOW_PRIVATE_REMOTE_URLS`` is on.  The connection then goes to the address
that was checked (no second lookup an attacker could re-point), TLS still verifies
the original host name, redirects are followed by hand and checked hop by hop, and
the body is streamed to a temporary file under the size limit.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urljoin, urlsplit

import certifi
import urllib3
from django.conf import settings

from . import tempfiles
from .api.errors import BadRequest

MAX_REDIRECTS = 5
USER_AGENT = "dam-fetch/1.0"


def _check_address(host: str, port: int) -> str:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror:
        raise BadRequest(f"Error in loading remote file - cannot resolve host {host}") from None
    addresses = [info[4][0] for info in infos]
    if not settings.DAM_ALLOW_PRIVATE_REMOTE_URLS:
        for address in addresses:
            ip = ipaddress.ip_address(address.split("%", 1)[0])
            if ip.is_loopback or ip.is_private or ip.is_link_local or ip.is_multicast or ip.is_reserved \
                    or ip.is_unspecified or (ip.version == 6 and ip.ipv4_mapped and not ip.ipv4_mapped.is_global):
                raise BadRequest(f"Remote URL host {host} resolves to a non-public address; refusing to fetch it")
    return addresses[0]


def fetch_to_tempfile(url: str):
    """Download `url`; returns (open NamedTemporaryFile positioned at 0, size, filename)."""
    limit = settings.DAM_MAX_UPLOAD_BYTES
    timeout = urllib3.Timeout(connect=5, read=settings.DAM_REMOTE_FETCH_TIMEOUT)
    for _ in range(MAX_REDIRECTS + 1):
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise BadRequest(f"Invalid remote URL {url!r}")
        port = parts.port or (443 if parts.scheme == "https" else 80)
        address = _check_address(parts.hostname, port)
        if parts.scheme == "https":
            pool = urllib3.HTTPSConnectionPool(
                address, port, server_hostname=parts.hostname, assert_hostname=parts.hostname,
                cert_reqs="CERT_REQUIRED", ca_certs=certifi.where(), timeout=timeout, retries=False)
        else:
            pool = urllib3.HTTPConnectionPool(address, port, timeout=timeout, retries=False)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        host_header = parts.hostname if parts.port is None else f"{parts.hostname}:{parts.port}"
        try:
            response = pool.urlopen("GET", path, headers={"Host": host_header, "User-Agent": USER_AGENT},
                                    redirect=False, preload_content=False)
        except urllib3.exceptions.HTTPError as exc:
            raise BadRequest(f"Error in loading {url} - {exc.__class__.__name__}") from None
        try:
            if response.status in (301, 302, 303, 307, 308) and response.headers.get("Location"):
                url = urljoin(url, response.headers["Location"])
                continue
            if response.status != 200:
                raise BadRequest(f"Error in loading {url} - {response.status} {response.reason or ''}".strip())
            declared = response.headers.get("Content-Length")
            if declared and declared.isdigit() and int(declared) > limit:
                raise BadRequest(f"File size too large. Got {declared}. Maximum is {limit}.")
            out = tempfiles.named("remote", ".bin")
            size = 0
            try:
                for block in response.stream(64 * 1024):
                    size += len(block)
                    if size > limit:
                        raise BadRequest(f"File size too large. Got more than {limit}. Maximum is {limit}.")
                    out.write(block)
            except urllib3.exceptions.HTTPError as exc:
                out.close()
                raise BadRequest(f"Error in loading {url} - {exc.__class__.__name__}") from None
            except BadRequest:
                out.close()
                raise
            out.flush()
            out.seek(0)
            name = parts.path.rsplit("/", 1)[-1] or "remote"
            return out, size, name
        finally:
            response.release_conn()
            pool.close()
    raise BadRequest(f"Error in loading {url} - too many redirects")
