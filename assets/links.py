"""Addresses of assets, as API responses report them."""

from __future__ import annotations

from django.conf import settings

from .signing import smart_escape


def base_url(request=None) -> str:
    """Scheme and host the delivery URLs use: DAM_PUBLIC_BASE_URL, else the request's."""
    if settings.DAM_PUBLIC_BASE_URL:
        return settings.DAM_PUBLIC_BASE_URL.rstrip("/")
    if request is not None:
        return f"{request.scheme}://{request.get_host()}"
    return "http://localhost:8000"


class Origin:
    """What `base_url` and `delivery_urls` read of a request, for work done after it (a worker):
    the scheme and host of the request that queued the work, kept as ``base_url(request)``."""

    def __init__(self, origin: str):
        self.scheme, _, self.host = origin.partition("://")

    def get_host(self) -> str:
        return self.host

    def is_secure(self) -> bool:
        return self.scheme == "https"


def origin(text: str):
    """An Origin for a kept ``base_url`` (None for none kept: the configured or default base)."""
    return Origin(text) if text else None


def delivery_path(asset, transformation: str = "", fmt: str | None = None) -> str:
    parts = [settings.DAM_CLOUD_NAME, asset.resource_type, asset.type]
    if transformation:
        parts.append(transformation)
    parts.append(f"v{asset.version}")
    fmt = fmt or asset.format  # "" for a raw file: its extension is in its public_id
    parts.append(smart_escape(asset.public_id) + (f".{fmt}" if fmt else ""))
    return "/" + "/".join(parts)


def delivery_urls(asset, request=None, transformation: str = "", fmt: str | None = None) -> tuple[str, str]:
    """(url, secure_url). secure_url is https unless the deployment itself has no TLS."""
    base = base_url(request)
    path = delivery_path(asset, transformation, fmt)
    url = base + path
    secure = url
    if base.startswith("http://") and (settings.DAM_PUBLIC_BASE_URL or (request is not None and request.is_secure())):
        secure = "https://" + url[len("http://"):]
    return url, secure
