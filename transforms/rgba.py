"""Colours as URLs write them: CSS names (``red``), ``rgb:RRGGBB[AA]``/``rgb:RGB``, ``#RRGGBB[AA]``.

Returns (r, g, b, a) with each in 0..255.  Pillow's ImageColor knows the CSS names.
"""

from __future__ import annotations

import re

from PIL import ImageColor

from core.errors import BadRequest

_HEX = re.compile(r"^(?:rgb:|#)?([0-9a-fA-F]{3,4}|[0-9a-fA-F]{6}|[0-9a-fA-F]{8})$")
Rgba = tuple[int, int, int, int]


def parse_color(text: str, *, param: str = "co") -> Rgba:
    value = (text or "").strip()
    match = _HEX.match(value) if (value.startswith(("rgb:", "#")) or not value.isalpha()) else None
    if match:
        digits = match.group(1)
        if len(digits) in (3, 4):
            digits = "".join(ch * 2 for ch in digits)
        if len(digits) == 6:
            digits += "ff"
        return tuple(int(digits[i:i + 2], 16) for i in range(0, 8, 2))  # type: ignore[return-value]
    if value.lower() == "transparent":
        return (0, 0, 0, 0)
    try:
        rgb = ImageColor.getrgb(value.lower())
    except ValueError:
        raise BadRequest(f"Invalid color for {param}: {text!r}") from None
    return (rgb[0], rgb[1], rgb[2], rgb[3] if len(rgb) == 4 else 255)


def color_token(rgba: Rgba) -> str:
    """The canonical URL form: rgb:rrggbb, with alpha only when not opaque."""
    r, g, b, a = rgba
    return f"rgb:{r:02x}{g:02x}{b:02x}" + (f"{a:02x}" if a != 255 else "")
