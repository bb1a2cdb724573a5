"""A Studio chain against the engine: validation with its parser and the delivery URL of
the chain so far (studio.snippets writes the same URL as code for the SDKs and cURL).

Only URLs and text are built here; the delivery view renders them.  A chain is its
transformation text as the delivery view sees it (percent-decoded once, so a text
layer's comma is ``%2C``); the URL carries it percent-encoded once more, and the
signature covers the decoded text (what transforms.cloudinary.signatures checks on any server).
"""

from __future__ import annotations

from urllib.parse import quote

from django.conf import settings

from assets import signing
from core.errors import BadRequest
from transforms.cloudinary import named
from transforms.cloudinary.parser import build_path, signed_part

from . import links, palette

URL_SAFE = "/,:_-.$!~*'()@;=+^|[]"
ALPHA_FORMATS = {"png", "webp", "gif", "avif", "tiff", "tif"}  # formats that keep an alpha channel


def validate(chain: str) -> tuple[str, int | None]:
    """("", None) when the engine reads the chain, else (its message, index of the first bad step)."""
    if not palette.components(chain):
        return "", None
    try:
        named.validate_text(chain)
        return "", None
    except BadRequest as whole:
        parsed = palette.parse(chain)
        for index in range(len(parsed)):
            try:
                named.validate_text(palette.text(parsed[: index + 1]))
            except BadRequest as exc:
                return exc.message, index
        return whole.message, None


def preview_format(asset, chain: str) -> str:
    """The format the Studio's preview asks for: the asset's own, except that a transformed image
    stored without an alpha channel (a JPEG...) is previewed as PNG, so what the chain makes
    transparent (e_background_removal, r_max, a rotation...) shows as transparent, not white."""
    if asset.resource_type != "image" or not palette.components(chain) or asset.format in ALPHA_FORMATS:
        return asset.format
    return "png"


def delivery_path(asset, chain: str, may_sign: bool = True, fmt: str | None = None) -> tuple[str, bool]:
    """(path of the delivery URL, signed?).  Signed like studio.links.path: private and
    authenticated assets, and any transformation (so strict mode lets it through).
    ``fmt`` replaces the asset's format as the URL's extension (the preview's PNG).

    ``may_sign`` is False for a viewer: a signed URL is a capability anyone who holds it
    can use (strict mode passed, private assets shown, under any chain the viewer typed),
    and signing is for editors and above.  A viewer's chain URL stays unsigned; only the
    untransformed original of a private asset, which the asset page shows them anyway,
    is signed."""
    text = "/".join(palette.components(chain))
    fmt = fmt or asset.format
    signature = None
    if (asset.type != "upload" or text) and (may_sign or not text):
        secret = links.signing_secret()
        if secret:
            signature = signing.url_signature(signed_part(asset.public_id, fmt=fmt, transformation=text),
                                              secret)
    path = build_path(settings.DAM_CLOUD_NAME, asset.public_id, type=asset.type, fmt=fmt,
                      version=asset.version, transformation=quote(text, safe=URL_SAFE), signature=signature,
                      resource_type=asset.resource_type)
    return path, signature is not None
