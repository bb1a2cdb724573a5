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

import re

from core.errors import BadRequest

from .. import text as textlayer
from ..cloudinary.named import check_name
from ..values import COMPASS, object_classes
from .effects import effect, genfill
from .grammar import Step
from .checks import FONT_NAME, RELATIVE, bad, base64_text, colour, decimal, integer, number, path, signed, size

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
    w = size("w", own["w"]) if "w" in own and not (layer and RELATIVE.match(own["w"])) else None
    h = size("h", own["h"]) if "h" in own and not (layer and RELATIVE.match(own["h"])) else None
    if layer:
        for key, axis in (("w", "bw"), ("h", "bh")):
            match = RELATIVE.match(own.get(key, ""))
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
        p["ar"] = f"{number(match.group(1))}:{number(match.group(2))}"
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
    if not FONT_NAME.match(font):
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
