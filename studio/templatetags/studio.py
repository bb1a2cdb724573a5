from django import template
from lucide.templatetags.lucide import lucide as lucide_icon

from studio import links, roles

register = template.Library()


@register.simple_tag
def icon(name: str, size: int = 16, label: str = "") -> str:
    """A Lucide icon (PyPI `lucide`, the SVGs inlined): decorative unless given a label,
    so a button keeps its text (or aria-label) as its accessible name."""
    attrs = {"class": "icon", "focusable": "false"}
    if label:
        attrs.update({"role": "img", "aria-label": label})
    else:
        attrs["aria-hidden"] = "true"
    return lucide_icon(name, size=size, **attrs)


@register.filter
def can(user, role: str) -> bool:
    """``{% if user|can:"editor" %}``"""
    return roles.has_role(user, role)


@register.filter
def role(user) -> str:
    return roles.role_of(user) or ""


@register.filter
def filesize(value) -> str:
    size = float(value or 0)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return ""


@register.filter
def get(mapping, key):
    """``{{ values|get:field.name }}``: a dict's value, or "" when absent."""
    if not mapping:
        return ""
    value = mapping.get(key, "")
    return "" if value is None else value


@register.filter
def split(value, sep: str = ";") -> list[str]:
    """``{{ values|get:"hints"|split:";" }}``: the non-empty parts of a text."""
    return [part for part in str(value or "").split(sep) if part]


@register.filter
def alt(asset) -> str:
    """The text alternative of an asset's image: its `alt` context value (the asset page's
    alt-text field, Cloudinary's convention), else its public_id."""
    context = getattr(asset, "context", None) or {}
    text = context.get("alt") if isinstance(context, dict) else None
    return str(text).strip() if text and str(text).strip() else asset.public_id



@register.filter
def extension(asset) -> str:
    """What a tile names a file by: a raw file's extension, else its format (studio.links)."""
    return links.extension(asset)


@register.filter
def file_icon(asset) -> str:
    """The Lucide icon name of a raw or video file's tile (studio.links)."""
    return links.file_icon(asset)
