"""Delivery URLs for the Studio's pages: thumbnails, previews, copyable URLs.

Only URLs are built here; the delivery view renders them. Private and authenticated
assets get signed URLs (with the first active secret), as the Admin API reports them.
"""

from __future__ import annotations

from urllib.parse import quote

from django.conf import settings
from lucide.templatetags.lucide import lucide

from assets import keys, links, signing
from core.errors import BadRequest
from transforms.cloudinary.parser import build_path, canonical, signed_part

# Thumbnails ask the engine for a 240x240 fill (480x480 for 2x screens) once it renders
# crops; until then the grid shows the original, scaled by the browser.
# tests/test_studio_library.py::test_thumbnail_mode_matches_engine says when to flip it.
ENGINE_RENDERS_FILL = True
THUMB = "c_fill,w_240,h_240"
THUMB_2X = "c_fill,w_480,h_480"
PREVIEW = "c_limit,w_1200,h_1200"
# A named transformation's card in the gallery: t_<name> then this bounded thumbnail step.
GALLERY = "c_limit,w_320,h_240"
# The Focus Area Refiner's previews (studio.views_focus.PREVIEWS).
FOCUS_CUSTOM = "c_crop,g_custom"
FOCUS_FACE = "c_thumb,g_face,w_200,h_200"
# The Studio's own renders (tiles, previews, focus previews; gallery cards: is_ui_transformation):
# not the user's derived images, so the asset page does not list them and a named
# transformation's count leaves them out (deleting them is harmless: they come back).
UI_TRANSFORMATIONS = (THUMB, THUMB_2X, PREVIEW, FOCUS_CUSTOM, FOCUS_FACE)


def signing_secret() -> str | None:
    secrets = keys.signing_secrets()
    return secrets[0] if secrets else None


_UNSET = object()


def path(asset, transformation: str = "", secret=_UNSET, fmt: str = "") -> str:
    """``secret``: the signing secret when the caller has it already (one lookup per page);
    ``fmt``: the extension to deliver (another format than the original's), else the original's.
    A raw or video file has no transformations: its path is always the original's."""
    if asset.resource_type != "image":
        transformation, fmt = "", ""
    fmt = fmt or asset.format
    signature = None
    # Signed when private/authenticated, and when transformed: signed URLs pass strict mode.
    if asset.type != "upload" or transformation:
        secret = signing_secret() if secret is _UNSET else secret
        if secret:
            to_sign = signed_part(asset.public_id, fmt=fmt, transformation=transformation)
            signature = signing.url_signature(to_sign, secret)
    return build_path(settings.DAM_CLOUD_NAME, asset.public_id, type=asset.type, fmt=fmt,
                      version=asset.version, transformation=transformation, signature=signature,
                      resource_type=asset.resource_type)


def thumbnail(asset, secret=_UNSET) -> dict:
    """``{"src", "srcset"}`` for a grid tile."""
    if asset.resource_type != "image":  # a raw or video file: its type icon (nothing to render)
        return {"src": file_icon_src(asset), "srcset": ""}
    if not ENGINE_RENDERS_FILL:
        return {"src": path(asset, secret=secret), "srcset": ""}
    src = path(asset, THUMB, secret)
    return {"src": src, "srcset": f"{src} 1x, {path(asset, THUMB_2X, secret)} 2x"}


ARCHIVE_EXTENSIONS = frozenset("zip gz tgz tar bz2 xz 7z rar zst".split())
TEXT_EXTENSIONS = frozenset("txt csv json md xml html htm yaml yml log rtf pdf doc docx odt".split())


def extension(asset) -> str:
    """What a tile names a file by: a raw file's extension (part of its public_id), else its format."""
    if asset.resource_type == "raw":
        name = asset.public_id.rsplit("/", 1)[-1]
        return name.rpartition(".")[2].lower() if "." in name else ""
    return asset.format


def file_icon(asset) -> str:
    """The Lucide icon of a non-image asset: video, an archive, a document, any file."""
    if asset.resource_type == "video":
        return "video"
    ext = extension(asset)
    if ext in ARCHIVE_EXTENSIONS:
        return "file-archive"
    return "file-text" if ext in TEXT_EXTENSIONS else "file"


def file_icon_src(asset) -> str:
    """The type icon as an image URL (a data: SVG), for the screens that show every asset as an <img>."""
    svg = str(lucide(file_icon(asset), size=96, stroke="#5b6475", **{"stroke-width": "1.5"}))
    svg = svg.replace("<svg ", '<svg xmlns="http://www.w3.org/2000/svg" ', 1)  # an <img> needs the namespace
    return "data:image/svg+xml;charset=utf-8," + quote(svg.replace('viewBox="0 0 24 24"', 'viewBox="-8 -8 40 40"'))


def tiles(assets) -> list[dict]:
    """``[{"asset", "src", "srcset"}]`` for a grid, looking the signing secret up once."""
    secret = signing_secret()
    return [{"asset": a, **thumbnail(a, secret)} for a in assets]


def preview(asset) -> str:
    if asset.resource_type != "image":  # the original: a video plays as stored
        return path(asset)
    return path(asset, PREVIEW) if ENGINE_RENDERS_FILL else path(asset)


def urls(asset, request) -> tuple[str, str]:
    """(url, secure_url) of the original, absolute, as the APIs report them."""
    base = links.base_url(request)
    url = base + path(asset)
    secure = url
    if base.startswith("http://") and (settings.DAM_PUBLIC_BASE_URL or request.is_secure()):
        secure = "https://" + url[len("http://"):]
    return url, secure


def _canonical(text: str) -> str:
    try:
        return canonical(text)
    except BadRequest:
        return text


_UI_CANONICAL: frozenset[str] = frozenset()


def is_ui_transformation(text: str) -> bool:
    """Whether a derived image's transformation is one the Studio renders for itself (a
    UI_TRANSFORMATIONS step, or ``t_<name>/`` + GALLERY), compared in canonical spelling."""
    global _UI_CANONICAL
    if not _UI_CANONICAL:
        _UI_CANONICAL = frozenset(_canonical(t) for t in UI_TRANSFORMATIONS)
    text = text or ""
    if _canonical(text) in _UI_CANONICAL:
        return True
    head, _, last = text.rpartition("/")
    return head.startswith("t_") and "/" not in head and _canonical(last) == _canonical(GALLERY)


def gallery_transformation(name: str) -> str:
    """The chain of a named transformation's gallery thumbnail."""
    return f"t_{name}/{GALLERY}"


def gallery_spellings(name: str) -> set[str]:
    """How a derived row of ``name``'s gallery thumbnail may spell its transformation (as
    written, canonical): what a named transformation's count of derived images leaves out."""
    text = gallery_transformation(name)
    return {text, _canonical(text)}


def gallery_path(asset, name: str, secret=_UNSET) -> str:
    """A named transformation's gallery thumbnail on ``asset`` (signed: strict mode passes)."""
    return path(asset, gallery_transformation(name), secret)
