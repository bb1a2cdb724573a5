"""ImageKit steps -> Cloudinary components, each value validated against ImageKit's grammar
first and written back in the spelling the Cloudinary dialect reads (numbers re-printed,
colours as ``rgb:<hex>`` or a name of letters, texts and prompts escaped as
transforms.text / the prompt grammar decode them), so no ImageKit value can add a
Cloudinary parameter or component.

One ImageKit step becomes, in this order: its named transformations (``n-`` -> ``t_``),
its AI operation (at most one per step, ImageKit's rule), its resize/crop component
(w, h, ar, c/cm, fo, x/y, z, dpr, bg, b, r, rt/fl, o, q, f, pr; ``cm-pad_extract`` is a
crop then a pad), its plain effects in the order written (one component each), then its
layers in the order written (``l_<source>,<layer's own sizing>`` / its effects / its
nested layers, each in one component / ``fl_layer_apply.no_overflow,<placement>``: an
ImageKit layer never grows the image).
"""

from __future__ import annotations

import base64
import binascii
import re

from core.errors import BadRequest

from .. import text as textlayer
from ..cloudinary.named import check_name
from ..rgba import parse_color
from ..values import COMPASS, object_classes
from .grammar import Step

# ImageKit keys this dialect reads (anything else: 400 naming it).
BASE_KEYS = frozenset("w h ar c cm fo z x y xc yc dpr bg b r rt fl bl q f o t n pr e orig l".split())
LAYER_KEYS = frozenset("i ie w h ar c cm fo z x y xc yc bg b r rt fl bl o t e lx ly lfo fs co ff pa tg".split())
# ImageKit keys known but not rendered here: a clear 400 instead of "unknown".
NOT_SUPPORTED = {
    "di": "di (default image) is not supported",
    "lo": "lo (lossless) is not supported", "md": "md (metadata) is not supported",
    "cp": "cp (colour profile) is not supported", "cr": "cr (colour replace) is not supported",
    "pg": "pg (page) is not supported", "lm": "lm (layer mode) is not supported",
    "lxc": "lxc is not supported (use lx)", "lyc": "lyc is not supported (use ly)",
    "lap": "lap (layer anchor point) is not supported", "ia": "ia (text alignment) is not supported",
    "lh": "lh (line height) is not supported", "al": "al (alpha) is not supported",
    "vc": "vc: video is not supported", "ac": "ac: video is not supported", "so": "so: video is not supported",
    "eo": "eo: video is not supported", "du": "du: video is not supported", "sr": "sr: video is not supported",
}

AI_EFFECTS = ("removedotbg", "bgremove", "dropshadow", "retouch", "upscale", "genvar", "changebg", "edit")
CROPS = {"maintain_ratio": None, "force": "scale", "at_max": "limit", "at_max_enlarge": "fit", "at_least": "mfit"}
CROP_MODES = ("pad_resize", "extract", "pad_extract")
FOCUS = {"center": "center", "top": "north", "left": "west", "bottom": "south", "right": "east",
         "top_left": "north_west", "top_right": "north_east", "bottom_left": "south_west",
         "bottom_right": "south_east"}
FLIPS = {"h": "hflip", "v": "vflip", "h_v": "hflip.vflip", "v_h": "hflip.vflip"}
FORMATS = ("auto", "jpg", "jpeg", "png", "webp", "avif", "gif", "tiff", "tif", "bmp", "heic", "heif", "jxl")
DEFAULT_FONT = "Arial"  # ImageKit's default text font is a sans; the engine falls back to sans anyway
DEFAULT_FONT_SIZE = 14

_INT = re.compile(r"^\d{1,6}$")
_SIGNED = re.compile(r"^N?\d{1,6}$")
_DECIMAL = re.compile(r"^(\d{1,6})(\.\d{1,6})?$|^\.\d{1,6}$")
_HEX = re.compile(r"^[0-9A-Fa-f]{6}([0-9A-Fa-f]{2})?$|^[0-9A-Fa-f]{3}$")
_NAME = re.compile(r"^[A-Za-z]{3,20}$")
_FONT = re.compile(r"^[A-Za-z][A-Za-z0-9 ]{0,63}$")
_PATH_PART = re.compile(r"^[A-Za-z0-9_\-.=]+$")
_RELATIVE = re.compile(r"^(bw|bh)_mul_(0?\.\d{1,6}|1(\.0{1,6})?)$")


def bad(key: str, value: str, why: str = "") -> BadRequest:
    return BadRequest(f"Invalid ImageKit value for {key}: {value!r}" + (f" ({why})" if why else ""))


# --- values --------------------------------------------------------------------------------


def _num(text: str) -> str:
    """A non-negative decimal re-printed without superfluous zeros."""
    value = float(text)
    return str(int(value)) if value.is_integer() and "." not in text else repr(value)


def size(key: str, value: str) -> str:
    """``w-300`` pixels, ``w-0.5`` a fraction of the input (Cloudinary's ``w_0.5``)."""
    if value == "auto":
        raise BadRequest(f"Unsupported ImageKit value for {key}: auto (responsive sizes need client hints)")
    if not _DECIMAL.match(value):
        if re.match(r"^[a-z]{2,3}(_|$)", value):
            return expression(key, value)
        raise bad(key, value, "a whole number of pixels, or a fraction between 0 and 1")
    number = float(value)
    if number <= 0:
        raise bad(key, value, "must be greater than 0")
    if number < 1:
        return repr(number)
    if not number.is_integer():
        raise bad(key, value, "a whole number of pixels, or a fraction between 0 and 1")
    return str(int(number))


# ImageKit's arithmetic variables -> Cloudinary's (input, current); bw/bh (a layer's base) have none.
VARIABLES = {"iw": "iw", "ih": "ih", "iar": "iar", "cw": "w", "ch": "h", "car": "ar"}
OPERATORS = ("add", "sub", "mul", "div", "mod", "pow")


def expression(key: str, value: str) -> str:
    """``iw_div_2``, ``cw_mul_0.8``: operands (a variable or a number) joined by operators,
    re-spelled for Cloudinary's expression grammar (``cw`` is its ``w``)."""
    tokens = value.split("_")
    if len(tokens) % 2 == 0 or len(tokens) > 15:
        raise bad(key, value, "an expression such as iw_div_2: operands joined by add, sub, mul, div, mod or pow")
    out = []
    for index, token in enumerate(tokens):
        if index % 2:
            if token not in OPERATORS:
                raise bad(key, value, f"unknown operator {token!r} (add, sub, mul, div, mod, pow)")
            out.append(token)
        elif token in VARIABLES:
            out.append(VARIABLES[token])
        elif _DECIMAL.match(token):
            out.append(_num(token))
        elif token in ("bw", "bh", "bar"):
            raise BadRequest(f"Unsupported ImageKit value for {key}: {value!r} ({token} is only supported in a "
                             f"layer's w or h as {'bw' if token == 'bw' else 'bh'}_mul_<fraction>)")
        else:
            raise bad(key, value, f"unknown operand {token!r} (iw, ih, iar, cw, ch, car or a number)")
    return "_".join(out)


def decimal(key: str, value: str, low: float, high: float) -> str:
    if not _DECIMAL.match(value) or not (low <= float(value) <= high):
        raise bad(key, value, f"a number from {low:g} to {high:g}")
    return _num(value)


def integer(key: str, value: str, low: int, high: int) -> int:
    if not _INT.match(value) or not (low <= int(value) <= high):
        raise bad(key, value, f"a whole number from {low} to {high}")
    return int(value)


def signed(key: str, value: str, limit: int = 100000) -> int:
    """ImageKit writes negatives with ``N``: ``N45`` is -45."""
    if not _SIGNED.match(value) or int(value.lstrip("N")) > limit:
        raise bad(key, value, "a whole number, negative as N<number>")
    return -int(value[1:]) if value.startswith("N") else int(value)


def colour(key: str, value: str) -> str:
    """``FF0000``, ``FF000080`` (alpha last), ``F00`` or a colour name -> Cloudinary's spelling."""
    if _HEX.match(value):
        return f"rgb:{value.lower()}"
    if _NAME.match(value):
        parse_color(value.lower(), param=key)
        return value.lower()
    raise bad(key, value, "a hex colour such as FF0000 or FF000080, or a colour name")


def path(value: str, key: str = "i") -> str:
    """An image path (``/`` written as ``@@``) -> the layer's public_id in ``l_`` form
    (folders joined by ``:``, extension dropped as for a delivery URL)."""
    text = value.replace("@@", "/").strip("/")
    stem, dot, suffix = text.rpartition(".")
    if dot and stem and "/" not in suffix and re.fullmatch(r"[A-Za-z0-9]{1,5}", suffix):
        text = stem
    parts = text.split("/")
    if not text or any(not p or not _PATH_PART.match(p) or p in (".", "..") for p in parts):
        raise bad(key, value, "a path of letters, digits, '_', '-', '.' and '@@' between folders")
    return ":".join(parts)


def base64_text(key: str, value: str) -> str:
    try:
        raw = base64.b64decode(value + "=" * (-len(value) % 4), validate=True)
        return raw.decode("utf-8")
    except (binascii.Error, ValueError):
        raise bad(key, value, "base64 of UTF-8 text") from None


def prompt_token(text: str) -> str:
    """A prompt in the spelling Cloudinary's sub-parameters read back as the same text
    (they decode nothing): the separators ``;``, ``,``, ``/``, ``:`` and the parentheses
    (which group sub-parameters) are not allowed in prompts we pass on, so a prompt can
    never end a sub-parameter or a component."""
    words = " ".join(text.split())
    if not words:
        raise BadRequest("Invalid ImageKit prompt: empty")
    bad_chars = sorted(set(words) & set(";,/:()\\"))
    if bad_chars or any(ord(ch) < 32 or ord(ch) == 127 for ch in words):
        raise BadRequest(f"Invalid ImageKit prompt {text!r}: it must not contain {' '.join(bad_chars) or 'control characters'}")
    return words


def _sub(value: str, key: str) -> dict[str, str]:
    """``az-45_el-30_st-60`` -> {"az": "45", ...}."""
    found: dict[str, str] = {}
    for piece in value.split("_"):
        name, sep, arg = piece.partition("-")
        if not sep or not arg or name in found:
            raise bad(key, value, "sub-parameters are <name>-<value> joined by '_'")
        found[name] = arg
    return found


# --- effects -------------------------------------------------------------------------------


def effect(value: str) -> tuple[str, bool]:
    """An ``e-`` value -> (Cloudinary ``e_`` value, is an AI operation)."""
    name, _, rest = value.partition("-")
    if name in ("grayscale", "contrast", "removedotbg", "bgremove", "retouch", "upscale", "genvar") and rest:
        raise bad("e", value, f"e-{name} takes no value")
    if name == "grayscale":
        return "grayscale", False
    if name == "contrast":
        return "auto_contrast", False
    if name == "sharpen":
        return ("sharpen:" + str(integer("e-sharpen", rest, 1, 2000))) if rest else "sharpen", False
    if name == "usm":
        parts = rest.split("-")
        if len(parts) != 4 or not all(_DECIMAL.match(p) for p in parts):
            raise bad("e-usm", value, "e-usm-<radius>-<sigma>-<amount>-<threshold>")
        amount = float(parts[2])
        if not 0 < amount <= 20:
            raise bad("e-usm", value, "the amount is a number above 0, at most 20")
        return f"unsharp_mask:{max(1, min(2000, round(amount * 100)))}", False
    if name == "shadow":
        return _shadow(rest), False
    if name in ("removedotbg", "bgremove"):
        return "background_removal", True
    if name in ("retouch", "upscale", "genvar"):
        return name, True
    if name == "dropshadow":
        return _dropshadow(rest), True
    if name == "changebg":
        sub, sep, text = rest.partition("-")
        if sub == "prompt" and sep:
            return f"gen_background_replace:prompt_{prompt_token(text)}", True
        if sub == "prompte" and sep:
            return f"gen_background_replace:prompt_{prompt_token(base64_text('e-changebg', text))}", True
        raise bad("e", value, "e-changebg-prompt-<text> or e-changebg-prompte-<base64>")
    if name == "edit":
        raise BadRequest("Unsupported ImageKit effect: e-edit (no engine twin for prompt-driven editing)")
    if name == "gradient":
        raise BadRequest("Unsupported ImageKit effect: e-gradient")
    if name == "distort":
        raise BadRequest("Unsupported ImageKit effect: e-distort")
    raise BadRequest(f"Unknown ImageKit effect: e-{name}")


def _shadow(rest: str) -> str:
    """``e-shadow[-bl-<0-15>_st-<0-100>_x-<n>_y-<n>]`` -> ``e_shadow[:<st>]`` with ``x_``/``y_``
    as pixels (ImageKit's are a percentage of the image; the engine's shadow offsets are
    pixels).  ``bl`` has no twin: the engine's blur follows the strength."""
    if not rest:
        return "shadow"
    sub = _sub(rest, "e-shadow")
    unknown = [k for k in sub if k not in ("st", "x", "y", "bl")]
    if unknown:
        raise bad("e-shadow", rest, f"unknown sub-parameter {unknown[0]}")
    if "bl" in sub:
        raise BadRequest("Unsupported ImageKit value for e-shadow: bl (the shadow's blur follows st here)")
    text = "shadow" + (f":{integer('e-shadow st', sub['st'], 0, 100)}" if "st" in sub else "")
    for axis in ("x", "y"):
        if axis in sub:
            text += f",{axis}_{signed('e-shadow ' + axis, sub[axis], 1000)}"
    return text


def _dropshadow(rest: str) -> str:
    """``e-dropshadow[-az-<0-360>][_el-<0-90>][_st-<0-100>]`` -> ``e_dropshadow:azimuth_;elevation_;spread_``
    (st, ImageKit's intensity, is the engine's spread; omitted values keep the engine's defaults)."""
    if not rest:
        return "dropshadow"
    sub = _sub(rest, "e-dropshadow")
    names = {"az": ("azimuth", 360), "el": ("elevation", 90), "st": ("spread", 100)}
    unknown = [k for k in sub if k not in names]
    if unknown:
        raise bad("e-dropshadow", rest, f"unknown sub-parameter {unknown[0]}")
    parts = [f"{names[k][0]}_{integer('e-dropshadow ' + k, sub[k], 0, names[k][1])}" for k in ("az", "el", "st")
             if k in sub]
    return "dropshadow:" + ";".join(parts)


def genfill(value: str) -> str:
    """``bg-genfill[-prompt-<text>|-prompte-<base64>]`` -> ``gen_fill[:prompt_<text>]``."""
    rest = value[len("genfill"):]
    if not rest:
        return "gen_fill"
    sub, sep, text = rest[1:].partition("-")
    if rest[0] == "-" and sep and sub == "prompt":
        return f"gen_fill:prompt_{prompt_token(text)}"
    if rest[0] == "-" and sep and sub == "prompte":
        return f"gen_fill:prompt_{prompt_token(base64_text('bg-genfill', text))}"
    raise bad("bg", value, "bg-genfill, bg-genfill-prompt-<text> or bg-genfill-prompte-<base64>")


# --- one step ------------------------------------------------------------------------------


class _Parts:
    """A step's (or a layer's) parameters sorted into what becomes which component."""

    def __init__(self) -> None:
        self.own: dict[str, str] = {}  # ImageKit key -> decoded value
        self.effects: list[str] = []  # Cloudinary e_ values, in order
        self.ai: list[str] = []  # Cloudinary e_ values of AI operations
        self.named: list[str] = []
        self.pre: list[str] = []  # Cloudinary e_ values run before the resize (trim)

    def add(self, key: str, value: str, where: str) -> None:
        if key == "e":
            cld, is_ai = effect(value)
            (self.ai if is_ai else self.effects).append(cld)
            return
        if key == "bg" and value.startswith("genfill"):
            self.ai.append("gen_fill")
        if key == "n":
            self.named.append(value)
            return
        if key == "t":
            if value not in ("true", "false"):
                self.pre.append(f"trim:{integer('t', value, 1, 99)}")
            elif value == "true":
                self.pre.append("trim")
            return
        if key == "bl":
            self.effects.append(f"blur:{integer('bl', value, 1, 100) * 10}")
            return
        if key in self.own:
            raise BadRequest(f"ImageKit parameter {key} given twice in one {where}")
        self.own[key] = value


def unknown_key(key: str, where: str) -> BadRequest:
    if key in NOT_SUPPORTED:
        return BadRequest(f"Unsupported ImageKit transformation parameter: {NOT_SUPPORTED[key]}")
    return BadRequest(f"Unknown ImageKit transformation parameter{' in a layer' if where == 'layer' else ''}: {key}")


def step_components(step: Step) -> list[str]:
    """The Cloudinary components of one ImageKit step."""
    ai = [f"{k}-{v}" for k, v, _ in step
          if (k == "e" and v.partition("-")[0] in AI_EFFECTS) or (k == "bg" and v.startswith("genfill"))]
    if len(ai) > 1:
        raise BadRequest(f"Only one AI transformation is allowed in a step; chain them with ':' "
                         f"(tr:e-removedotbg,h-200:e-dropshadow); this step has {', '.join(ai)}")
    items, end = _items([(k, v) for k, v, _ in step], 0, depth=0)
    parts = _Parts()
    layers = []
    for item in items:
        if isinstance(item, _Layer):
            layers.append(item)
            continue
        key, value = item
        if key == "orig":
            raise BadRequest("orig-true serves the original file as is: it cannot be combined with other parameters")
        if key not in BASE_KEYS:
            raise unknown_key(key, "step")
        parts.add(key, value, "step")
    layer_parts = [_layer_parts(layer) for layer in layers]
    components = [f"t_{check_name(name)}" for name in parts.named]
    components += [f"e_{cld}" for cld in parts.ai if cld != "gen_fill"]
    components += [f"e_{cld}" for cld in parts.pre]
    components += _resize(parts.own, layer=False)
    components += [f"e_{cld}" for cld in parts.effects]
    for (kind, source), lp, nested in layer_parts:
        components += _layer(kind, source, lp, nested)
    return [c for c in components if c]


class _Layer:
    """``l-<kind>`` ... ``l-end``: its parameters and nested layers, in order."""

    def __init__(self, kind: str, items: list) -> None:
        self.kind, self.items = kind, items


MAX_LAYER_DEPTH = 2  # a layer in a layer (ImageKit nests; the engine places a nested layer in one component)


def _items(params: list[tuple[str, str]], index: int, *, depth: int):
    """Parameters and `_Layer`s from `index` to the end (depth 0) or to this layer's
    ``l-end`` (returned index just after it)."""
    items: list = []
    while index < len(params):
        key, value = params[index]
        if key == "l" and value == "end":
            if depth == 0:
                raise BadRequest("l-end without a layer (l-image or l-text) to close")
            return items, index + 1
        if key == "l":
            if depth + 1 > MAX_LAYER_DEPTH:
                raise BadRequest(f"ImageKit layers nested deeper than {MAX_LAYER_DEPTH} levels are not supported")
            inner, index = _items(params, index + 1, depth=depth + 1)
            items.append(_Layer(value, inner))
            continue
        items.append((key, value))
        index += 1
    if depth:
        raise BadRequest("An ImageKit layer (l-image, l-text) must be closed with l-end")
    return items, index


# --- resize / crop ------------------------------------------------------------------------


def _resize(own: dict[str, str], *, layer: bool, text_layer: bool = False) -> list[str]:
    """The step's own parameters -> one component (two for ``cm-pad_extract``), as
    ``key_value`` tokens (the component text is joined by the caller)."""
    p: dict[str, str] = {}
    w = size("w", own["w"]) if "w" in own and not (layer and _RELATIVE.match(own["w"])) else None
    h = size("h", own["h"]) if "h" in own and not (layer and _RELATIVE.match(own["h"])) else None
    if layer:
        for key, axis in (("w", "bw"), ("h", "bh")):
            match = _RELATIVE.match(own.get(key, ""))
            if match:
                if match.group(1) != axis:
                    raise bad(key, own[key], f"a layer's {key} may be {axis}_mul_<fraction>")
                p[key] = repr(float(match.group(2)))
                p["fl"] = "relative"
    if w:
        p["w"] = w
    if h:
        p["h"] = h
    if "ar" in own:
        match = re.fullmatch(r"(\d{1,6}(?:\.\d{1,6})?)-(\d{1,6}(?:\.\d{1,6})?)", own["ar"])
        if not match or float(match.group(1)) <= 0 or float(match.group(2)) <= 0:
            raise bad("ar", own["ar"], "ar-<width>-<height>, such as ar-4-3")
        p["ar"] = f"{_num(match.group(1))}:{_num(match.group(2))}"
    if "c" in own and "cm" in own:
        raise BadRequest("ImageKit c and cm cannot be used together: c-… resizes, cm-… crops or pads")
    if "c" in own and own["c"] not in CROPS:
        raise bad("c", own["c"], f"one of {', '.join(CROPS)}")
    if "cm" in own and own["cm"] not in CROP_MODES:
        raise bad("cm", own["cm"], f"one of {', '.join(CROP_MODES)}")
    mode = own.get("cm") or own.get("c") or "maintain_ratio"
    dims = ("w" in p) + ("h" in p) + ("ar" in p)
    gravity = _focus(own["fo"]) if "fo" in own else None
    subject = gravity is not None and gravity not in COMPASS and gravity not in ("auto", "custom")
    if gravity is not None and mode in CROPS and mode != "maintain_ratio":
        raise BadRequest(f"ImageKit fo cannot be used with c-{mode} (it places a crop: c-maintain_ratio, "
                         "cm-extract, cm-pad_resize or cm-pad_extract)")
    if not dims and not text_layer and not (mode == "extract" and subject):
        named_by = [f"{k}-{own[k]}" for k in ("c", "cm", "fo") if k in own]
        if named_by:
            raise BadRequest(f"ImageKit {' and '.join(named_by)} need{'s' if len(named_by) == 1 else ''} w, h or ar")
    if "z" in own and not subject:
        raise BadRequest("ImageKit z (zoom) needs fo-face or fo-<object>")
    if mode == "maintain_ratio":
        if text_layer:
            if "w" in p:
                p["c"] = "fit"  # a text layer's width wraps the text
        elif gravity is not None or dims >= 2:
            p["c"] = "thumb" if subject else "fill"
    elif mode in CROPS:
        p["c"] = CROPS[mode]
    elif mode == "pad_resize":
        p["c"] = "pad"
    elif mode in ("extract", "pad_extract"):
        p["c"] = "crop"
    if gravity is not None:
        p["g"] = gravity
    for key in ("x", "y"):
        if key in own:
            p[key] = str(signed(key, own[key]))
    for key in ("xc", "yc"):
        if key in own:
            if own.get(key[0]) is not None:
                raise BadRequest(f"ImageKit {key[0]} and {key} cannot be used together")
            p[key[0]] = str(signed(key, own[key]))
            p["g"] = "xy_center"
            if gravity is not None:
                raise BadRequest(f"ImageKit {key} and fo cannot be used together")
    if any(k in own for k in ("x", "y", "xc", "yc")) and mode not in ("extract", "pad_extract"):
        raise BadRequest("ImageKit x, y, xc and yc need cm-extract or cm-pad_extract")
    if "z" in own:
        p["z"] = decimal("z", own["z"], 0.01, 100)
    if "dpr" in own:
        p["dpr"] = decimal("dpr", own["dpr"], 0.1, 5)
    if "bg" in own:
        value = own["bg"]
        if value.startswith("genfill"):
            if mode not in ("pad_resize", "pad_extract") or "w" not in p or "h" not in p:
                raise BadRequest("ImageKit bg-genfill needs w, h and cm-pad_resize or cm-pad_extract")
            p["b"] = genfill(value)
        elif value == "dominant":
            p["b"] = "auto:predominant"
        else:
            p["b"] = colour("bg", value)
    if "b" in own:
        match = re.fullmatch(r"(\d{1,4})_(.+)", own["b"])
        if not match or int(match.group(1)) < 1:
            raise bad("b", own["b"], "b-<width>_<colour>, such as b-5_FFF000")
        p["bo"] = f"{int(match.group(1))}px_solid_{colour('b', match.group(2))}"
    if "r" in own:
        value = own["r"]
        if value == "max":
            p["r"] = "max"
        else:
            corners = value.split("_")
            if len(corners) > 4:
                raise bad("r", value, "r-<n>, r-<a>_<b>_<c>_<d> or r-max")
            p["r"] = ":".join(str(integer("r", c, 0, 100000)) for c in corners)
    angle = []
    if "rt" in own:
        if own["rt"] != "auto":  # auto: rotate by the EXIF orientation, which the engine always does
            degrees = signed("rt", own["rt"], 360)
            if degrees:
                angle.append(str(degrees))
    if "fl" in own:
        if own["fl"] not in FLIPS:
            raise bad("fl", own["fl"], "h, v or h_v")
        angle.append(FLIPS[own["fl"]])
    if angle:
        p["a"] = ".".join(angle)
    if "o" in own:
        p["o"] = str(integer("o", own["o"], 0, 100))
    if "q" in own:
        p["q"] = str(integer("q", own["q"], 1, 100))
    if "f" in own:
        value = own["f"].lower()
        if value not in (*FORMATS, "orig"):
            raise bad("f", own["f"], f"one of {', '.join(FORMATS)}, orig")
        if value != "orig":
            p["f"] = value
    if "pr" in own:
        if own["pr"] not in ("true", "false"):
            raise bad("pr", own["pr"], "true or false")
        if own["pr"] == "true":
            p["fl"] = "progressive"
    if mode == "pad_extract":
        crop = {k: v for k, v in p.items() if k in ("w", "h", "ar", "c", "g", "x", "y", "dpr")}
        pad = {k: v for k, v in p.items() if k not in ("c", "g", "x", "y")}
        pad["c"] = "pad"
        return [_join(crop), _join(pad)]
    return [_join(p)]


def _focus(value: str) -> str:
    if value in FOCUS:
        return FOCUS[value]
    if value in ("face", "auto", "custom"):
        return value
    if object_classes(value) is not None:
        return value
    raise bad("fo", value, "center, top, left, bottom, right, top_left…, face, auto, custom or an object name")


def _join(params: dict[str, str]) -> str:
    return ",".join(f"{k}_{v}" for k, v in params.items())


# --- layers ------------------------------------------------------------------------------


def _layer_parts(layer: _Layer):
    kind = layer.kind
    if kind not in ("image", "text"):
        if kind in ("video", "subtitles"):
            raise BadRequest(f"Unsupported ImageKit layer: l-{kind} (video and subtitle layers)")
        raise bad("l", kind, "l-image or l-text")
    params = [item for item in layer.items if not isinstance(item, _Layer)]
    nested = [_layer_parts(item) for item in layer.items if isinstance(item, _Layer)]
    sources = [(k, v) for k, v in params if k in ("i", "ie")]
    if len(sources) != 1:
        raise BadRequest(f"An ImageKit l-{kind} layer needs exactly one i- (or ie-) input")
    parts = _Parts()
    for key, value in params:
        if key in ("i", "ie"):
            continue
        if key not in LAYER_KEYS:
            raise unknown_key(key, "layer")
        parts.add(key, value, "layer")
    return (kind, sources[0]), parts, nested


def _placement(own: dict[str, str]) -> dict[str, str]:
    """lx/ly (the layer's top-left corner from the base's top-left; ``N`` negatives move it
    past the left/top edge) or lfo -> g, x, y."""
    if "lfo" in own and ("lx" in own or "ly" in own):
        raise BadRequest("ImageKit lfo cannot be combined with lx or ly")
    if "lfo" in own:
        if own["lfo"] not in FOCUS:
            raise bad("lfo", own["lfo"], ", ".join(FOCUS))
        return {"g": FOCUS[own["lfo"]]}
    if "lx" not in own and "ly" not in own:
        return {}
    for key in ("lx", "ly"):
        if key in own and re.match(r"^[a-z]{2}_", own[key]):
            raise BadRequest(f"Unsupported ImageKit value for {key}: {own[key]!r} (arithmetic expressions are not "
                             "supported)")
    out = {"g": "north_west"}
    if "lx" in own:
        out["x"] = str(signed("lx", own["lx"]))
    if "ly" in own:
        out["y"] = str(signed("ly", own["ly"]))
    return out


def _layer(kind: str, source: tuple[str, str], parts: _Parts, nested=()) -> list[str]:
    """``l_<source>,<own sizing>`` / its AI and effect components / nested layers /
    ``fl_layer_apply,<placement>``."""
    own = dict(parts.own)
    placement = _placement(own)
    for key in ("lx", "ly", "lfo"):
        own.pop(key, None)
    skey, svalue = source
    if kind == "text":
        head, own = _text_layer(skey, svalue, own)
    elif svalue == "ik_canvas" and skey == "i":
        head, own = _canvas(own)
    else:
        text = base64_text("ie", svalue) if skey == "ie" else svalue
        head = f"l_{path(text, skey)}"
    sizing = _resize(own, layer=True, text_layer=kind == "text")
    first = ",".join(c for c in (head, *sizing[:1]) if c)
    components = [first]
    components += [f"e_{cld}" for cld in parts.ai if cld != "gen_fill"]
    components += [f"e_{cld}" for cld in parts.pre]
    components += sizing[1:]
    components += [f"e_{cld}" for cld in parts.effects]
    for (inner_kind, inner_source), inner_parts, deeper in nested:
        inner = _layer(inner_kind, inner_source, inner_parts, deeper)
        components.append(_one_component(inner))
    components.append(_join({"fl": "layer_apply.no_overflow", **placement}))  # ImageKit never grows the base
    return components


def _one_component(components: list[str]) -> str:
    """A nested layer as the one component the engine places inside a layer
    (``l_<source>,<own>,fl_layer_apply,<placement>``): sizing and placement only."""
    head, apply = components[0], components[-1]
    if len(components) != 2:
        raise BadRequest("A nested ImageKit layer may only size and place its input (no effects, trim or "
                         "cm-pad_extract in it)")
    tokens = head.split(",")
    if any(t.startswith(("g_", "x_", "y_")) for t in tokens[1:]):
        raise BadRequest("A nested ImageKit layer cannot use fo, x, y, xc or yc (its component holds its placement)")
    apply_tokens = apply.split(",")
    flags = [f for t in tokens + apply_tokens if t.startswith("fl_") for f in t[3:].split(".")]
    tokens = [t for t in tokens if not t.startswith("fl_")]
    placement = [t for t in apply_tokens if not t.startswith("fl_")]
    return ",".join([*tokens, "fl_" + ".".join(sorted(set(flags))), *placement])


def _text_layer(skey: str, svalue: str, own: dict[str, str]) -> tuple[str, dict[str, str]]:
    """``l-text,i-<text>,fs-,co-,ff-,tg-,bg-,pa-`` -> ``l_text:<font>_<size>[_bold][_italic]:<text>``
    with ``co_``, ``b_`` and ``bo_`` (padding: a border of the background colour)."""
    text = base64_text("ie", svalue) if skey == "ie" else svalue
    own = dict(own)
    font = own.pop("ff", DEFAULT_FONT)
    if not _FONT.match(font):
        raise bad("ff", font, "a font family of letters, digits and spaces")
    font_size = integer("fs", own.pop("fs"), 1, 1000) if "fs" in own else DEFAULT_FONT_SIZE
    style = [font, str(font_size)]
    if "tg" in own:
        words = {"b": "bold", "i": "italic"}
        flags = own.pop("tg").split("_")
        if any(f not in words for f in flags) or len(set(flags)) != len(flags):
            raise bad("tg", "_".join(flags), "b, i or b_i")
        style += [words[f] for f in sorted(flags)]
    extra = []
    if "co" in own:
        extra.append(f"co_{colour('co', own.pop('co'))}")
    padding = integer("pa", own.pop("pa"), 0, 1000) if "pa" in own else 0
    if padding:
        if "b" in own:
            raise BadRequest("ImageKit pa and b cannot be used together on a text layer")
        fill = colour("bg", own["bg"]) if "bg" in own else "rgb:00000000"
        extra.append(f"bo_{padding}px_solid_{fill}")
    textlayer.parse_style("_".join(style))  # the font and size as the engine reads them
    head = f"l_text:{'_'.join(style)}:{textlayer.text_token(_checked_text(text))}"
    return ",".join([head, *extra]), own


def _checked_text(text: str) -> str:
    if not text.strip():
        raise BadRequest("An ImageKit text layer needs a non-empty i- text")
    return text


def _canvas(own: dict[str, str]) -> tuple[str, dict[str, str]]:
    """A solid colour layer (``i-ik_canvas,bg-<colour>``): the engine has no colour source, so
    it is a text layer whose box is filled with the colour (``b_``) and whose glyph is
    transparent, scaled to ``w``×``h`` (the base's size when left out: ``fl_relative``)."""
    own = dict(own)
    if "bg" not in own:
        raise BadRequest("An ImageKit solid colour layer (i-ik_canvas) needs bg-<colour>")
    fill = colour("bg", own.pop("bg"))
    for key in ("c", "cm", "fo", "ar"):
        if key in own:
            raise BadRequest(f"ImageKit {key} is not valid on a solid colour layer (i-ik_canvas)")
    own.setdefault("w", "bw_mul_1.0")
    own.setdefault("h", "bh_mul_1.0")
    own["c"] = "force"
    return f"l_text:{DEFAULT_FONT}_{DEFAULT_FONT_SIZE}:.,co_rgb:00000000,b_{fill}", own
