"""Layers: ``l_`` overlays and ``u_`` underlays (contract 5).

``parse_source(kind, value)`` turns the value of ``l_``/``u_`` into a hashable source:
an image (``l_shoes:red`` -> public_id ``shoes/red``; ``l_private:<id>`` and
``l_authenticated:<id>`` name other delivery types) or a text (``l_text:<style>:<text>``,
see transforms/text.py).  ``load_source`` gives the layer as sRGB+alpha pixels;
``place`` composites it onto the base with gravity, x/y offsets, tiling, clipping or
canvas extension, over or under the base.

The value reaches us percent-decoded once (as Django decodes the path); `LayerSource.token`
is that form, so ``parse_source(kind, src.token) == src``.

For the engine besides the contract: `consumed(source, component)` names the parameters
of a text layer's own component that loading used up (``co``, ``b``, ``bo`` and, for
``c_fit,w_<px>`` wrapping, ``c`` and ``w``: they must not be applied again as a resize);
`dependency(source)` is the overlay asset's version_id, for the derived-cache key.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

import pyvips

from assets.models import Asset
from core.errors import BadRequest, Unauthorized
from transforms import limits
from transforms import text as textlayer
from transforms.originals import open_original
from transforms.rgba import parse_color

LAYER_TYPES = ("private", "authenticated")  # l_<type>:<public_id>; "upload" is the default
UNSUPPORTED = {"fetch": "Remote (fetch) layers are not supported", "video": "Video layers are not supported",
               "subtitles": "Subtitle layers are not supported", "audio": "Audio layers are not supported"}
GRAVITIES = ("north_west", "north", "north_east", "west", "center", "east", "south_west", "south",
             "south_east", "xy_center")
_PUBLIC_ID_PART = re.compile(r"^[^\s/\\?#&<>%]+$")
_BORDER = re.compile(r"^(\d{1,3})px_solid_(.+)$")


class OverlayNotFound(BadRequest):
    pass


@dataclass(frozen=True)
class LayerSource:
    """Base of the two sources; `token` is the canonical value after ``l_``/``u_``."""

    @property
    def token(self) -> str:  # pragma: no cover - overridden
        raise NotImplementedError


@dataclass(frozen=True)
class ImageSource(LayerSource):
    public_id: str
    type: str = "upload"

    @property
    def token(self) -> str:
        name = self.public_id.replace("/", ":")
        return name if self.type == "upload" else f"{self.type}:{name}"


@dataclass(frozen=True)
class TextSource(LayerSource):
    style: textlayer.TextStyle
    text: str

    @property
    def token(self) -> str:
        return f"text:{self.style.token}:{textlayer.text_token(self.text)}"


@dataclass(frozen=True)
class Placement:
    gravity: str = "center"
    x: float = 0
    y: float = 0
    tiled: bool = False
    no_overflow: bool = False
    opacity: float = 100  # o_ of the placing component, 0..100, multiplies the layer's alpha


# --- parsing ------------------------------------------------------------------------


def parse_source(kind: str, value: str) -> LayerSource:
    """``l_``/``u_`` value -> ImageSource | TextSource.  Raises BadRequest."""
    if kind not in ("l", "u"):
        raise BadRequest(f"Invalid layer parameter: {kind}_")
    name = "overlay" if kind == "l" else "underlay"
    if not value:
        raise BadRequest(f"Invalid {name}: empty {kind}_")
    head, sep, rest = value.partition(":")
    if head == "text":
        return _parse_text(rest if sep else "", name)
    if head in UNSUPPORTED:
        raise BadRequest(f"{UNSUPPORTED[head]}: {kind}_{value}")
    type_ = "upload"
    if head in LAYER_TYPES and sep:
        type_, value = head, rest
    parts = value.split(":")
    if any(not part or not _PUBLIC_ID_PART.match(part) for part in parts):
        raise BadRequest(f"Invalid {name} public_id: {value!r}")
    return ImageSource("/".join(parts), type_)


def _parse_text(value: str, name: str) -> TextSource:
    style, sep, raw = value.partition(":")
    if not sep:
        raise BadRequest(f"Invalid text {name}: expected l_text:<font>_<size>:<text>")
    return TextSource(textlayer.parse_style(style), textlayer.decode_text(raw))


# --- loading ------------------------------------------------------------------------


def _params(component) -> dict:
    """The layer's own component as a dict (the engine may pass ``(key, value)`` pairs)."""
    if not component:
        return {}
    return component if isinstance(component, dict) else dict(component)


def _param(component, key: str):
    value = _params(component).get(key)
    return None if value in (None, "") else value


def _colour(value, param: str):
    if isinstance(value, tuple):
        return tuple(int(v) for v in value)
    return parse_color(str(value), param=param)


def _stroke(value) -> tuple[int, tuple] | None:
    if value is None:
        return None
    if isinstance(value, tuple) and len(value) == 2:
        return int(value[0]), _colour(value[1], "bo")
    match = _BORDER.match(str(value))
    if not match:
        raise BadRequest(f"Invalid border for text stroke: {value!r} (expected <n>px_solid_<color>)")
    return int(match.group(1)), parse_color(match.group(2), param="bo")


def wrap_width(component: dict) -> int | None:
    """``c_fit,w_<px>`` on a text layer wraps the text at that width."""
    if str(_param(component, "c") or "") != "fit" or _param(component, "w") is None:
        return None
    w = _param(component, "w")
    try:
        width = float(w)
    except (TypeError, ValueError):
        raise BadRequest(f"Text wrapping needs a numeric pixel width: w_{w}") from None
    if width < 1 or not width.is_integer():
        raise BadRequest(f"Text wrapping needs a whole pixel width: w_{w}")
    return int(width)


def consumed(source: LayerSource, component: dict) -> frozenset[str]:
    """The parameters of the layer's own component that `load_source` used up (the
    engine must not apply them again to the loaded layer)."""
    if not isinstance(source, TextSource):
        return frozenset()
    keys = {"co", "b"} | ({"bo"} if source.style.stroke else set())
    if wrap_width(component) is not None:
        keys |= {"c", "w"}
    return frozenset(k for k in keys if _param(component, k) is not None)


def _substitute(text: str, ctx) -> str:
    variables = getattr(ctx, "variables", None) or {}
    if "$(" not in text or not variables:
        return text

    def value(match):
        name = match.group(1)
        for key in (name, "$" + name):
            if key in variables:
                v = variables[key]
                return textlayer.plain_number(v) if isinstance(v, (int, float)) else str(v)
        return match.group(0)

    return re.sub(r"\$\(([A-Za-z]\w*)\)", value, text)


def find_asset(source: ImageSource):
    found = Asset.objects.filter(resource_type="image", type=source.type)
    asset = found.filter(public_id=source.public_id).first()
    if asset is None and "." in source.public_id.rsplit("/", 1)[-1]:
        asset = found.filter(public_id=source.public_id.rsplit(".", 1)[0]).first()
    if asset is None:
        raise OverlayNotFound(f"Overlay not found: {source.public_id}")
    return asset


def dependency(source: LayerSource) -> str | None:
    """What of the layer enters the derived-cache key: the overlay asset's version_id
    (so overwriting the logo does not serve stale derived images); None for text."""
    if not isinstance(source, ImageSource):
        return None
    return find_asset(source).version_id


def to_srgba(image: pyvips.Image) -> pyvips.Image:
    """Any image -> 4-band uchar sRGB with alpha (opaque when it had none)."""
    if image.interpretation == "multiband" or (image.bands <= 2 and image.interpretation not in ("b-w", "grey16")):
        image = image.copy(interpretation="b-w" if image.bands <= 2 else "srgb")
    if image.interpretation != "srgb" or image.format != "uchar":
        image = image.colourspace("srgb")
    if image.format != "uchar":
        image = image.cast("uchar")
    if not image.hasalpha():
        image = image.bandjoin(255)
    return image.copy(interpretation="srgb")


def load_source(source: LayerSource, component: dict, ctx: Any = None) -> pyvips.Image:
    """The layer as an sRGB+alpha (4-band uchar) image.  `component` is the layer's own
    component (dict or ``(key, value)`` pairs): a text layer takes ``co_`` (colour, default
    black), ``b_`` (box background), ``bo_`` (stroke, with the ``stroke`` style) and
    ``c_fit,w_<px>`` (wrap width) from it; see `consumed`."""
    component = _params(component)
    if isinstance(source, TextSource):
        colour = _colour(_param(component, "co") or "black", "co")
        background = _param(component, "b")
        return textlayer.render(
            source.style, _substitute(source.text, ctx), color=colour,
            background=_colour(background, "b") if background is not None else None,
            wrap_width=wrap_width(component),
            stroke=_stroke(_param(component, "bo")) if source.style.stroke else None)
    if source.type != "upload" and getattr(ctx, "signed", None) is False:  # the engine checks it too
        raise Unauthorized(f"A {source.type} layer needs a signed URL: {source.public_id}")
    asset = find_asset(source)
    with open_original(asset) as image:  # the header only: nothing is decoded before the checks
        limits.check_source(image.width, image.height, "Layer")
        try:
            layer = to_srgba(image.autorot())
            ledger = getattr(ctx, "memory", None)  # the render's transforms.memory.Ledger
            if ledger is not None:
                ledger.settle(layer, f"Layer {source.public_id} ({layer.width}x{layer.height})")
            return layer.copy_memory()
        except pyvips.Error:
            raise BadRequest(f"Overlay cannot be decoded: {source.public_id}") from None


# --- placing ------------------------------------------------------------------------


def position(base_size: tuple[int, int], layer_size: tuple[int, int], placement: Placement) -> tuple[int, int]:
    """Top-left corner of the layer on the base.  Offsets move away from the gravity's
    edge towards the centre (g_south_east,x_5 is 5 px left of the right edge); for
    centre/north/south x is rightwards, for centre/east/west y is downwards;
    xy_center puts the layer's centre at (x, y)."""
    (bw, bh), (lw, lh) = base_size, layer_size
    gravity = placement.gravity or "center"
    if gravity not in GRAVITIES:
        raise BadRequest(f"Invalid gravity for a layer: g_{gravity}")
    x, y = int(round(placement.x or 0)), int(round(placement.y or 0))
    if gravity == "xy_center":
        return x - lw // 2, y - lh // 2
    if gravity.endswith("west"):
        left = x
    elif gravity.endswith("east"):
        left = bw - lw - x
    else:
        left = (bw - lw) // 2 + x
    if gravity.startswith("north"):
        top = y
    elif gravity.startswith("south"):
        top = bh - lh - y
    else:
        top = (bh - lh) // 2 + y
    return left, top


def _with_opacity(layer: pyvips.Image, opacity: float) -> pyvips.Image:
    if opacity is None or opacity >= 100:
        return layer
    if opacity < 0:
        raise BadRequest(f"Invalid opacity: {opacity}")
    alpha = (layer[3] * (opacity / 100.0)).cast("uchar")
    return layer[0:3].bandjoin(alpha).copy(interpretation="srgb")


def _tile(layer: pyvips.Image, size: tuple[int, int], left: int, top: int) -> pyvips.Image:
    """The layer repeated over `size`, one tile at (left, top)."""
    (w, h), (lw, lh) = size, (layer.width, layer.height)
    sx, sy = (-left) % lw, (-top) % lh
    across, down = math.ceil((w + sx) / lw), math.ceil((h + sy) / lh)
    if across * down > 250_000:
        raise BadRequest("Tiled layer is too small for this image")
    return layer.replicate(across, down).crop(sx, sy, w, h)


def place(base: pyvips.Image, overlay: pyvips.Image, placement: Placement, underlay: bool = False,
          **_: Any) -> pyvips.Image:
    """Composite `overlay` on (or, with `underlay`, under) `base` ("over" blending).

    Without fl_no_overflow a layer reaching past the base extends the canvas
    (transparent where neither covers it); with it the layer is clipped.  The base keeps
    its band count unless it gains transparent area (then alpha is added).  A grey or
    16-bit base becomes 8-bit sRGB, since the layer may bring colour.
    """
    placement = placement or Placement()
    had_alpha = base.hasalpha()
    base = to_srgba(base)
    layer = _with_opacity(to_srgba(overlay), placement.opacity)
    bw, bh = base.width, base.height
    left, top = position((bw, bh), (layer.width, layer.height), placement)
    if placement.tiled:
        layer, left, top = _tile(layer, (bw, bh), left, top), 0, 0
    if placement.no_overflow or placement.tiled:
        x0, y0, x1, y1 = 0, 0, bw, bh
    else:
        x0, y0 = min(0, left), min(0, top)
        x1, y1 = max(bw, left + layer.width), max(bh, top + layer.height)
    extended = (x0, y0, x1, y1) != (0, 0, bw, bh)
    if not extended and not underlay:
        result = base.composite2(layer, "over", x=left, y=top)
    else:
        canvas = pyvips.Image.black(x1 - x0, y1 - y0, bands=4).copy(interpretation="srgb")
        pieces = [(layer, left - x0, top - y0), (base, -x0, -y0)]
        if not underlay:
            pieces.reverse()
        result = canvas.composite([p[0] for p in pieces], "over",
                                  x=[p[1] for p in pieces], y=[p[2] for p in pieces])
    result = result.cast("uchar").copy(interpretation="srgb")
    if not extended and not had_alpha:
        result = result[0:3]  # the base was opaque and still covers the whole canvas
    return result
