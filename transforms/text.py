"""Text layers: the ``l_text:<style>:<text>`` style grammar, Cloudinary's text escaping,
and rendering with Pango through ``pyvips.Image.text``.

Style: ``<font family>_<size>[_<option>...]`` where an option is a font weight
(``bold``, ``thin``, ``light``...), ``italic``, ``underline``/``strikethrough``, an
alignment (``left``, ``center``, ``right``, ``start``, ``end``, ``justify``),
``stroke``, ``letter_spacing_<n>``, ``line_spacing_<n>``, ``antialias_<mode>`` or
``hinting_<mode>``; ``normal``/``none`` are the defaults and change nothing.

Escaping: the delivery view hands us the path already percent-decoded once, so the
SDK's double escapes (``%252C`` comma, ``%252F`` slash, ``%2525`` percent) arrive
here as ``%2C``/``%2F``/``%25`` and are decoded once more; ``%0A`` (a newline, single
escaped by the SDK) arrives as a real newline.  `text_token` is the inverse: the text as
the view would hand it to us (``,``, ``/``, ``%`` and newlines escaped once).

Rendering: size in pixels (``<size>px`` in the Pango font description, so dpi does not
matter), family resolved by fontconfig with ``sans`` as explicit fallback, so an
unknown family never fails; colour from ``co_`` (default black) applied to the
coverage mask so alpha colours work; ``b_`` fills the text box; ``line_spacing`` is
Pango's extra space between lines; ``letter_spacing`` a markup attribute; ``c_fit``
with ``w_`` wraps at that width.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from urllib.parse import unquote

import pyvips

from core.errors import BadRequest

WEIGHTS = {"normal": None, "bold": "Bold", "thin": "Thin", "light": "Light", "extralight": "Ultra-Light",
           "medium": "Medium", "semibold": "Semi-Bold", "extrabold": "Ultra-Bold", "black": "Heavy"}
STYLES = {"normal": None, "italic": "Italic", "oblique": "Oblique"}
DECORATIONS = {"underline", "strikethrough"}
ALIGNMENTS = {"left": "low", "start": "low", "center": "centre", "right": "high", "end": "high", "justify": "low"}
ANTIALIAS = {"none", "gray", "subpixel", "fast", "good", "best"}
HINTING = {"none", "slight", "medium", "full"}
MAX_SIZE = 1000
MAX_TEXT = 2000
MAX_TEXT_PIXELS = 40_000_000
_FAMILY = re.compile(r"^[^\W_][\w .\-]*$")
_NUMBER = re.compile(r"^-?\d+(?:\.\d+)?$")
_ESCAPE = re.compile(r"[%,/\n\r]")


@dataclass(frozen=True)
class TextStyle:
    family: str
    size: float
    weight: str = "normal"
    style: str = "normal"
    decoration: str = "none"  # "none", "underline", "strikethrough", "underline+strikethrough"
    align: str = "left"
    stroke: bool = False
    letter_spacing: float = 0
    line_spacing: float = 0
    antialias: str | None = None
    hinting: str | None = None

    @property
    def token(self) -> str:
        """The canonical style string (options in the SDK's order)."""
        parts = [self.family, plain_number(self.size)]
        if self.weight != "normal":
            parts.append(self.weight)
        if self.style != "normal":
            parts.append(self.style)
        if self.decoration != "none":
            parts.extend(self.decoration.split("+"))
        if self.align != "left":
            parts.append(self.align)
        if self.stroke:
            parts.append("stroke")
        if self.letter_spacing:
            parts.append(f"letter_spacing_{plain_number(self.letter_spacing)}")
        if self.line_spacing:
            parts.append(f"line_spacing_{plain_number(self.line_spacing)}")
        if self.antialias:
            parts.append(f"antialias_{self.antialias}")
        if self.hinting:
            parts.append(f"hinting_{self.hinting}")
        return "_".join(parts)


def plain_number(value: float) -> str:
    """A number as text: an integer without ".0", otherwise its repr (text tokens, $(var) values)."""
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def _number(text: str, what: str, *, positive: bool = False) -> float:
    if not _NUMBER.match(text or ""):
        raise BadRequest(f"Invalid {what} in text style: {text!r}")
    value = float(text)
    if positive and value <= 0:
        raise BadRequest(f"Invalid {what} in text style: {text!r}")
    return value


def _set(fields: dict, name: str, value, token: str) -> None:
    if name in fields and fields[name] != value:
        raise BadRequest(f"Conflicting text style options: {token!r} and an earlier {name}")
    fields[name] = value


def parse_style(text: str) -> TextStyle:
    """``Arial_20_bold_letter_spacing_4`` -> TextStyle.  Raises BadRequest."""
    tokens = (text or "").split("_")
    family = tokens[0].strip()
    if not family:
        raise BadRequest("Text style needs a font family: l_text:<font>_<size>:<text>")
    if not _FAMILY.match(family):
        raise BadRequest(f"Invalid font family: {family!r}")
    if len(tokens) < 2 or tokens[1] == "":
        raise BadRequest(f"Text style needs a font size: {text!r}")
    size = _number(tokens[1], "font size", positive=True)
    if size > MAX_SIZE:
        raise BadRequest(f"Font size too large: {tokens[1]} (at most {MAX_SIZE})")
    fields: dict = {}
    decorations: set[str] = set()
    rest = tokens[2:]
    i = 0
    while i < len(rest):
        token = rest[i].lower()
        nxt = rest[i + 1].lower() if i + 1 < len(rest) else None
        if token in ("letter", "line") and nxt == "spacing":
            if i + 2 >= len(rest):
                raise BadRequest(f"Missing value for {token}_spacing in text style")
            _set(fields, f"{token}_spacing", _number(rest[i + 2], f"{token}_spacing"), token + "_spacing")
            i += 3
            continue
        if token in ("antialias", "antialiasing", "hinting"):
            allowed = HINTING if token == "hinting" else ANTIALIAS
            if nxt not in allowed:
                raise BadRequest(f"Invalid {token} in text style: {nxt!r} (one of {', '.join(sorted(allowed))})")
            _set(fields, "hinting" if token == "hinting" else "antialias", nxt, token)
            i += 2
            continue
        if token in ("normal", "none"):
            pass
        elif token in WEIGHTS:
            _set(fields, "weight", token, token)
        elif token in STYLES:
            _set(fields, "style", token, token)
        elif token in DECORATIONS:
            decorations.add(token)
        elif token in ALIGNMENTS:
            _set(fields, "align", token, token)
        elif token == "stroke":
            fields["stroke"] = True
        else:
            raise BadRequest(f"Invalid text style option: {rest[i]!r}")
        i += 1
    if decorations:
        fields["decoration"] = "+".join(sorted(decorations, reverse=True))  # underline before strikethrough
    return TextStyle(family=family, size=size, **fields)


def decode_text(raw: str) -> str:
    """The text of ``l_text:<style>:<text>`` as the view passes it -> the text to draw."""
    try:
        text = unquote(raw or "", errors="strict") if "%" in (raw or "") else (raw or "")
    except UnicodeDecodeError:
        raise BadRequest("Invalid text layer: the escaped text is not UTF-8") from None
    text = text.replace("\r\n", "\n")
    if not text.strip():
        raise BadRequest("Text layer needs a non-empty text: l_text:<font>_<size>:<text>")
    if len(text) > MAX_TEXT:
        raise BadRequest(f"Text layer too long: {len(text)} characters (at most {MAX_TEXT})")
    return text


def text_token(text: str) -> str:
    """Inverse of `decode_text`: comma, slash, percent and line breaks escaped once."""
    return _ESCAPE.sub(lambda m: "%{:02X}".format(ord(m.group(0))), text)


# --- rendering -------------------------------------------------------------------------


def font_description(style: TextStyle) -> str:
    """A Pango font description: ``<family>,sans, [Bold] [Italic] <size>px``.  The
    trailing comma ends the family list, so family words are never read as styles."""
    words = [w for w in (WEIGHTS.get(style.weight), STYLES.get(style.style)) if w]
    return f"{style.family},sans, {' '.join(words + [plain_number(style.size) + 'px'])}"


def markup(style: TextStyle, text: str) -> str:
    attrs = []
    if "underline" in style.decoration:
        attrs.append('underline="single"')
    if "strikethrough" in style.decoration:
        attrs.append('strikethrough="true"')
    if style.letter_spacing:
        attrs.append(f'letter_spacing="{int(round(style.letter_spacing * 1024))}"')
    body = html.escape(text, quote=True)
    return f"<span {' '.join(attrs)}>{body}</span>" if attrs else body


def render_mask(style: TextStyle, text: str, *, wrap_width: int | None = None) -> pyvips.Image:
    """The coverage mask (one uchar band, 0..255) of `text` drawn in `style`."""
    lines = text.split("\n")
    longest = max(len(line) for line in lines)
    if wrap_width:
        estimate = wrap_width * style.size * 1.3 * max(len(lines), longest * style.size * 0.7 / wrap_width)
    else:
        estimate = (longest * style.size * 0.7 + abs(style.letter_spacing) * longest) * (
            len(lines) * (style.size * 1.3 + abs(style.line_spacing)))
    if estimate > MAX_TEXT_PIXELS:
        raise BadRequest("Text layer is too large")
    options: dict = {"font": font_description(style), "dpi": 72}
    if wrap_width:
        options["width"] = int(wrap_width)
    if style.align == "justify":
        options["justify"] = True
    else:
        options["align"] = ALIGNMENTS[style.align]
    if style.line_spacing:
        options["spacing"] = int(round(style.line_spacing))
    try:
        mask = pyvips.Image.text(markup(style, text), **options)
    except pyvips.Error as exc:
        raise BadRequest(f"Cannot render text layer: {str(exc).splitlines()[-1].strip()}") from None
    if style.antialias == "none":
        mask = (mask > 127).ifthenelse(255, 0)
    return mask.cast("uchar")


def _dilate(mask: pyvips.Image, radius: int) -> pyvips.Image:
    size = 2 * radius + 1
    padded = mask.embed(radius, radius, mask.width + 2 * radius, mask.height + 2 * radius, extend="black")
    return padded.rank(size, size, size * size - 1)


def colourise(mask: pyvips.Image, rgba: tuple[int, int, int, int]) -> pyvips.Image:
    """An sRGB+alpha image of colour `rgba` whose alpha is the mask scaled by the colour's alpha."""
    colour = mask.new_from_image(list(rgba[:3])).cast("uchar")
    alpha = mask if rgba[3] == 255 else (mask * (rgba[3] / 255.0)).cast("uchar")
    return colour.bandjoin(alpha).copy(interpretation="srgb")


def render(style: TextStyle, text: str, *, color=(0, 0, 0, 255), background=None,
           wrap_width: int | None = None, stroke: tuple[int, tuple[int, int, int, int]] | None = None
           ) -> pyvips.Image:
    """The text as an sRGB+alpha image: ink in `color`, optional outline `stroke`
    (width px, rgba) when the style asks for one, optional `background` box."""
    mask = render_mask(style, text, wrap_width=wrap_width)
    image = colourise(mask, color)
    if style.stroke:
        width, stroke_rgba = stroke or (1, (0, 0, 0, 255))
        outline = colourise(_dilate(mask, max(1, int(width))), stroke_rgba)
        pad = max(1, int(width))
        image = outline.composite2(image, "over", x=pad, y=pad)
    if background is not None:
        box = image.new_from_image(list(background)).cast("uchar").copy(interpretation="srgb")
        image = box.composite2(image, "over")
    return image.cast("uchar").copy(interpretation="srgb")
