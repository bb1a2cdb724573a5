"""Images made from other images or from text, for the Upload API's ``text``, ``multi`` and
``sprite`` calls (assets/api/compose.py, through the ``compose`` hook of assets.hooks).

- `text_image(text, params)`: Cloudinary's ``text`` parameters (``font_family``,
  ``font_size``, ``font_color``, ``font_weight``, ``font_style``, ``text_decoration``,
  ``text_align``, ``background``, ``opacity``) rendered by the engine's text layers
  (transforms.text) -> PNG bytes.
- `frames(assets, transformation, fmt)`: each asset rendered through the derived cache
  (``transformation`` as Cloudinary text, checked first), as decoded images.
- `animation(images, fmt, delay)`: an animated GIF or WebP (each frame fitted into the
  first's size), or a PDF with a page per image (JPEG pages).
- `sprite(images, fmt)`: the images stacked top to bottom -> (bytes, [(x, y, w, h)]).
"""

from __future__ import annotations

import io

import pyvips
from django.core.files.storage import storages

from core.errors import BadRequest

from .. import text as texts
from ..rgba import parse_color
from .entry import ensure, from_text
from .named import validate_text

MAX_FRAMES = 100
MAX_SPRITE_PIXELS = 50_000_000
WEIGHTS = ("normal", "bold", "thin", "light", "black", "extrabold", "semibold", "medium")


def text_image(text: str, params: dict) -> bytes:
    if not text or not str(text).strip():
        raise BadRequest("Missing required parameter - text")
    family = str(params.get("font_family") or "Arial").replace(" ", "_")
    style = [family, str(params.get("font_size") or 12)]
    weight = str(params.get("font_weight") or "normal").lower()
    if weight not in WEIGHTS:
        raise BadRequest(f"Invalid font_weight {weight!r}")
    if weight != "normal":
        style.append(weight)
    if str(params.get("font_style") or "normal").lower() == "italic":
        style.append("italic")
    decoration = str(params.get("text_decoration") or "none").lower()
    if decoration in ("underline", "strikethrough"):
        style.append(decoration)
    elif decoration != "none":
        raise BadRequest(f"Invalid text_decoration {decoration!r}")
    align = str(params.get("text_align") or "left").lower()
    if align != "left":
        style.append(align)
    parsed = texts.parse_style("_".join(style))
    if len(str(text)) > texts.MAX_TEXT:
        raise BadRequest(f"Text too long: at most {texts.MAX_TEXT} characters")
    color = parse_color(str(params.get("font_color") or "black"), param="font_color")
    opacity = params.get("opacity")
    if opacity not in (None, ""):
        try:
            level = int(str(opacity))
        except ValueError:
            raise BadRequest(f"Invalid opacity {opacity!r}: 0 to 100") from None
        if not 0 <= level <= 100:
            raise BadRequest(f"Invalid opacity {opacity!r}: 0 to 100")
        color = (*color[:3], round(color[3] * level / 100))
    background = params.get("background")
    fill = parse_color(str(background), param="background") if background else None
    image = texts.render(parsed, str(text), color=color, background=fill)
    return image.pngsave_buffer()


def check_transformation(transformation: str) -> None:
    if transformation:
        validate_text(transformation)
        from_text(transformation)


def frames(assets: list, transformation: str, fmt: str | None = None) -> list[pyvips.Image]:
    if len(assets) > MAX_FRAMES:
        raise BadRequest(f"Too many images: at most {MAX_FRAMES}")
    check_transformation(transformation)
    out = []
    for asset in assets:
        row = ensure(asset, transformation or "c_limit,w_4000", "png")
        with storages["derived"].open(row.storage_name, "rb") as fh:
            image = pyvips.Image.new_from_buffer(fh.read(), "")
        out.append(_srgba(image))
    return out


def _srgba(image: pyvips.Image) -> pyvips.Image:
    image = image.colourspace("srgb") if image.interpretation != "srgb" else image
    if image.bands == 3:
        image = image.bandjoin(255)
    return image.cast("uchar")


def _fitted(image: pyvips.Image, width: int, height: int) -> pyvips.Image:
    """`image` scaled into width x height, centred on a transparent canvas."""
    scale = min(width / image.width, height / image.height)
    if abs(scale - 1) > 1e-6:
        image = image.resize(scale)
    canvas = pyvips.Image.black(width, height, bands=4).copy(interpretation="srgb").cast("uchar")
    return canvas.insert(image, (width - image.width) // 2, (height - image.height) // 2)


def animation(images: list[pyvips.Image], fmt: str, delay: int = 100) -> bytes:
    if not images:
        raise BadRequest("No images to combine")
    if fmt == "pdf":
        return _pdf(images)
    width, height = images[0].width, images[0].height
    if width * height * len(images) > MAX_SPRITE_PIXELS:
        raise BadRequest("The animation would be too large: fewer or smaller images")
    strip = pyvips.Image.arrayjoin([_fitted(i, width, height) for i in images], across=1)
    strip = strip.copy()
    strip.set_type(pyvips.GValue.gint_type, "page-height", height)
    strip.set_type(pyvips.GValue.array_int_type, "delay", [delay] * len(images))
    strip.set_type(pyvips.GValue.gint_type, "loop", 0)
    if fmt == "gif":
        return strip.gifsave_buffer()
    if fmt == "webp":
        return strip.webpsave_buffer()
    raise BadRequest(f"Invalid format {fmt!r}: gif, webp or pdf")


def _pdf(images: list[pyvips.Image]) -> bytes:
    """A minimal PDF: one page per image, each a JPEG (DCTDecode) at 72 dpi."""
    objects: list[bytes] = []
    pages = []
    for image in images:
        flat = image.flatten(background=[255, 255, 255]) if image.hasalpha() else image
        jpeg = flat.jpegsave_buffer(Q=90)
        w, h = flat.width, flat.height
        img_id, content_id, page_id = len(objects) + 3, len(objects) + 4, len(objects) + 5
        objects.append(b"<< /Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace /DeviceRGB "
                       b"/BitsPerComponent 8 /Filter /DCTDecode /Length %d >>\nstream\n" % (w, h, len(jpeg))
                       + jpeg + b"\nendstream")
        draw = b"q %d 0 0 %d 0 0 cm /Im0 Do Q" % (w, h)
        objects.append(b"<< /Length %d >>\nstream\n" % len(draw) + draw + b"\nendstream")
        objects.append(b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %d %d] /Resources << /XObject << /Im0 %d 0 R >> >> "
                       b"/Contents %d 0 R >>" % (w, h, img_id, content_id))
        pages.append(page_id)
    head = [b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [" + b" ".join(b"%d 0 R" % p for p in pages) + b"] /Count %d >>" % len(pages)]
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(head + objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % number + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(offsets) + 1))
    for offset in offsets:
        out.write(b"%010d 00000 n \n" % offset)
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(offsets) + 1, xref))
    return out.getvalue()


def sprite(images: list[pyvips.Image], fmt: str = "png") -> tuple[bytes, list[tuple[int, int, int, int]]]:
    """The images one under the other (left-aligned, transparent around) and where each is."""
    if not images:
        raise BadRequest("No images for the sprite")
    width, height = max(i.width for i in images), sum(i.height for i in images)
    if width * height > MAX_SPRITE_PIXELS:
        raise BadRequest("The sprite would be too large: fewer or smaller images")
    canvas = pyvips.Image.black(width, height, bands=4).copy(interpretation="srgb").cast("uchar")
    boxes, y = [], 0
    for image in images:
        canvas = canvas.insert(image, 0, y)
        boxes.append((0, y, image.width, image.height))
        y += image.height
    if fmt in ("jpg", "jpeg"):
        return canvas.flatten(background=[255, 255, 255]).jpegsave_buffer(Q=90), boxes
    if fmt != "png":
        raise BadRequest(f"Invalid sprite format {fmt!r}: png or jpg")
    return canvas.pngsave_buffer(), boxes
