"""Which addresses the server may connect to on a client's behalf (remote uploads,
notifications): the one place that says so.

An address is refused unless it is *global* (``ipaddress``' ``is_global``), which
rules out loopback, RFC 1918, carrier-grade NAT 100.64.0.0/10 (a cloud metadata
service lives there), link-local, documentation, benchmarking and reserved ranges.
On top of that:

- IPv6 addresses that carry an IPv4 address are judged by the IPv4 address they
  reach: IPv4-mapped ``::ffff:a.b.c.d``, IPv4-compatible ``::a.b.c.d``, 6to4
  ``2002:AABB:CCDD::/48`` and NAT64 ``64:ff9b::a.b.c.d``.  ``is_global`` calls
  ``2002:7f00:1::`` (6to4 for 127.0.0.1) and ``64:ff9b::a9fe:a9fe`` global.
- ranges the running Python's ``is_global`` may still call global although no remote
  file lives there (192.0.0.0/24 before Python 3.12, the 6to4 relay anycast, local-use
  NAT64), multicast (global multicast is still no HTTP server) and the metadata
  services of the big clouds, some of which sit on public addresses (Azure's
  168.63.129.16).

``DAM_ALLOW_PRIVATE_REMOTE_URLS`` (tests, LAN setups) lets loopback and private
addresses through; metadata services, unspecified (``0.0.0.0`` reaches this host),
multicast and reserved addresses stay refused even then.

A host name is resolved once here; *every* address it resolves to must pass (a name
that mixes a public and a private address is a rebinding attempt), and the caller
connects to one of those socket addresses, never to the name again.
"""

from __future__ import annotations

import ipaddress
import socket
from socket import getaddrinfo  # module attribute: tests stub name resolution here

from django.conf import settings

from core.errors import BadRequest

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Instance metadata services: AWS (v4, v6 and the ECS task endpoint), GCP and OpenStack
# share 169.254.169.254; Alibaba 100.100.100.200; Azure's wire server 168.63.129.16;
# Oracle 192.0.0.192.
METADATA = frozenset(ipaddress.ip_address(a) for a in (
    "169.254.169.254", "169.254.170.2", "fd00:ec2::254", "100.100.100.200", "168.63.129.16", "192.0.0.192",
))
NOT_GLOBAL = tuple(ipaddress.ip_network(n) for n in (
    "192.0.0.0/24",  # IETF protocol assignments
    "192.88.99.0/24",  # 6to4 relay anycast (deprecated)
    "64:ff9b:1::/48",  # local-use NAT64: translates to whatever the local network routes
    "2001::/23",  # IETF protocol assignments, Teredo included
))
NAT64 = ipaddress.ip_network("64:ff9b::/96")
IPV4_COMPATIBLE = ipaddress.ip_network("::/96")


class Refused(BadRequest):
    """The policy says no: never retried, reported to the client as a 400."""


def embedded_ipv4(ip: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address reaches through mapping, 6to4 or NAT64, if any."""
    if ip.version != 6:
        return None
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip in NAT64 or (ip in IPV4_COMPATIBLE and int(ip) > 1):  # ::, ::1 are themselves
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def refusal(ip: IPAddress, allow_private: bool = False) -> str | None:
    """Why the server must not connect to `ip` ("" never), or None when it may."""
    if ip in METADATA:
        return "a cloud metadata address"
    inner = embedded_ipv4(ip)
    if inner is not None:
        reason = refusal(inner, allow_private)
        return f"{reason} (embedded in {ip})" if reason else None
    if ip.is_unspecified or ip.is_multicast or (ip.is_reserved and not ip.is_loopback):  # ::1 is in ::/8
        return "an unspecified, multicast or reserved address"
    if allow_private:
        return None
    if not ip.is_global or any(ip in network for network in NOT_GLOBAL if network.version == ip.version):
        return "a non-public address"
    return None


def parse_address(text: str) -> IPAddress:
    return ipaddress.ip_address(text.split("%", 1)[0])  # an IPv6 zone ("fe80::1%eth0") is no part of it


def resolve(host: str, port: int) -> list[tuple[int, tuple]]:
    """(family, socket address) for each address of `host`, all of them checked.

    Raises Refused when any address is forbidden, OSError when the name does not resolve.
    """
    infos = getaddrinfo(host, port, type=socket.SOCK_STREAM)
    allow_private = settings.DAM_ALLOW_PRIVATE_REMOTE_URLS
    checked = []
    for family, _, _, _, sockaddr in infos:
        if family not in (socket.AF_INET, socket.AF_INET6):
            continue
        reason = refusal(parse_address(sockaddr[0]), allow_private)
        if reason:
            raise Refused(f"Remote URL host {host} resolves to {reason}; refusing to connect to it")
        checked.append((family, sockaddr))
    if not checked:
        raise OSError(f"no IPv4 or IPv6 address for {host}")
    return checked
