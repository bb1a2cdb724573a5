"""The Studio's palette and steps: a transformation chain as a list of self-contained actions.

A step is one palette action (AI background removal, resize, effect, radius, border,
rotation, image or text overlay, format and quality) made of one or more URL
components, or a ``raw`` step
that keeps syntax the palette has no form for exactly as written.  The chain itself
is only its transformation text (the ``t`` query parameter of the Studio page), so
``parse`` and ``text`` are inverse functions:  ``text(parse(t)) == canonical(t)`` for
any chain the engine's parser reads (parameter order inside a component fixed by
transforms.cloudinary.parser.join_component).

Text only, no I/O: validating a chain against the engine is `studio.chain`'s job.  The
choices the forms offer (crop modes, gravities, effects, formats) are the engine's own
registries, so an operation the engine learns appears in the palette without a copy here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from core.errors import BadRequest
from transforms import values
from transforms.ai import bgremoval, producers
from transforms.cloudinary.parser import join_component, split_component
from transforms.encode import ENCODERS
from transforms.ops import layers, registry
from transforms.text import decode_text, text_token

CROP_MODES = values.CROP_MODES
GRAVITIES = values.GRAVITIES  # of a resize or crop
LAYER_GRAVITIES = layers.GRAVITIES  # where an overlay is placed
# Every registered effect under its own name (not its aliases), in registration order, but
# the AI producers' (transforms.ai.producers): background removal has a step of its own
# (BG_REMOVAL below).
EFFECTS = tuple(key for key, entry in registry.load().items() if key == entry.name and key not in producers.PRODUCERS)
FORMATS = ("auto", *ENCODERS)
FLIPS = ("hflip", "vflip")
TEXT_STYLES = ("bold", "italic", "bold_italic", "underline")
_BORDER = re.compile(r"^(\d{1,4})px_(solid)_(.+)$")
_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")


@dataclass(frozen=True)
class Field:
    name: str
    label: str
    choices: tuple[str, ...] = ()  # a <select> (first option empty unless required)
    required: bool = False
    number: bool = False  # must read as a number when given
    placeholder: str = ""
    help: str = ""
    multiple: bool = False  # choices as checkboxes, any number of them (value: ";"-joined, sorted)
    check: bool = False  # one checkbox: "y" when ticked, "" otherwise


@dataclass(frozen=True)
class Kind:
    name: str
    title: str
    fields: tuple[Field, ...]

    @property
    def add_label(self) -> str:
        """The palette button: "Add resize and crop", "Add background removal (AI)"."""
        return "Add " + self.title[:1].lower() + self.title[1:]


_PLACE = (Field("g", "Gravity", LAYER_GRAVITIES), Field("x", "Offset x", number=True, placeholder="0"),
          Field("y", "Offset y", number=True, placeholder="0"))
BG_HINTS = tuple(sorted(bgremoval.HINTS))
BG_REMOVAL = "bgremoval"
KINDS: dict[str, Kind] = {k.name: k for k in (
    Kind(BG_REMOVAL, "Background removal (AI)", (
        Field("hints", "Keep only these objects (optional)", BG_HINTS, multiple=True,
              help="None ticked: keep the main subject. Always the first step: it is added at the top of the chain."),
        Field("fine_edges", "Fine edges (hair and fur)", check=True))),
    Kind("resize", "Resize and crop", (
        Field("c", "Crop mode", CROP_MODES), Field("w", "Width", number=True, placeholder="e.g. 400"),
        Field("h", "Height", number=True, placeholder="e.g. 300"),
        Field("ar", "Aspect ratio", placeholder="e.g. 16:9 or 1.5"),
        Field("g", "Gravity", GRAVITIES, help="auto picks the most interesting region"))),
    Kind("effect", "Effect", (
        Field("effect", "Effect", EFFECTS, required=True),
        Field("arg", "Strength or argument", placeholder="optional, e.g. 300", help="e.g. e_blur:300"))),
    Kind("radius", "Rounded corners", (
        Field("r", "Radius", required=True, placeholder="e.g. 20 or max", help="pixels, or max for a circle"),)),
    Kind("border", "Border", (
        Field("width", "Width in pixels", required=True, number=True, placeholder="e.g. 4"),
        Field("style", "Style", ("solid",), required=True),
        Field("color", "Colour", required=True, placeholder="e.g. black or rgb:ff0000"))),
    Kind("rotate", "Rotate and flip", (
        Field("angle", "Angle in degrees", number=True, placeholder="e.g. 90 or -15"),
        Field("flip", "Flip", FLIPS))),
    Kind("overlay", "Image overlay", (
        Field("public_id", "Overlay image public_id", required=True, placeholder="e.g. brand/logo"),
        Field("w", "Width", number=True), Field("h", "Height", number=True), *_PLACE)),
    Kind("text", "Text overlay", (
        Field("text", "Text", required=True), Field("font", "Font", required=True, placeholder="e.g. Arial"),
        Field("size", "Size in pixels", required=True, number=True, placeholder="e.g. 40"),
        Field("style", "Style", TEXT_STYLES),
        Field("color", "Colour", placeholder="e.g. white or rgb:ffcc00"), *_PLACE)),
    Kind("format", "Format and quality", (
        Field("f", "Format", FORMATS), Field("q", "Quality", placeholder="auto, auto:good or 1-100"))),
    Kind("raw", "Raw transformation", (
        Field("text", "Transformation components", required=True, placeholder="e.g. e_sepia/r_20"),)),
)}
PALETTE = tuple(k for k in KINDS.values() if k.name != "raw")


@dataclass
class Step:
    kind: str
    values: dict = field(default_factory=dict)
    text: str = ""  # its URL components, joined with "/"
    error: str = ""  # why a raw step is raw (the parser's message), if it does not parse

    @property
    def title(self) -> str:
        return KINDS[self.kind].title


# --- text -> steps ----------------------------------------------------------------------


def components(chain: str) -> list[str]:
    """The components of a chain; empty ones (``a//b``, a trailing ``/``) are dropped."""
    return [c.strip() for c in (chain or "").strip().split("/") if c.strip()]


def parse(chain: str) -> list[Step]:
    """A chain's text as steps; whatever the palette has no form for becomes a raw step."""
    parts = components(chain)
    steps: list[Step] = []
    i = 0
    while i < len(parts):
        step, used = _parse_at(parts, i)
        steps.append(step)
        i += used
    return steps


def _params(component: str) -> dict | None:
    try:
        return dict(split_component(component))
    except BadRequest:
        return None


def _raw(text: str, error: str = "") -> Step:
    return Step("raw", {"text": text}, text, error)


def _parse_at(parts: list[str], i: int) -> tuple[Step, int]:
    component = parts[i]
    try:
        params = dict(split_component(component))
    except BadRequest as exc:
        return _raw(component, exc.message), 1
    if "l" in params:
        return _parse_layer(parts, i, params)
    step = _single(params)
    if step is None:
        return _raw(join_component(params.items())), 1
    step.text = join_component(params.items())
    return step, 1


def _single(p: dict) -> Step | None:
    keys = set(p)
    if keys and keys <= {"c", "w", "h", "ar", "g"} and keys & {"c", "w", "h", "ar"}:
        return Step("resize", dict(p))
    if keys == {"e"}:
        name, _, arg = p["e"].partition(":")
        if name == bgremoval.NAME:
            return _bg_removal(arg)
        return Step("effect", {"effect": name, "arg": arg}) if name in EFFECTS else None
    if keys == {"r"}:
        return Step("radius", dict(p))
    if keys == {"bo"}:
        match = _BORDER.match(p["bo"])
        return Step("border", dict(zip(("width", "style", "color"), match.groups()))) if match else None
    if keys == {"a"}:
        ops = p["a"].split(".")
        if len(ops) == 1 and (ops[0] in FLIPS or _NUMBER.match(ops[0])):
            ops = ["", ops[0]] if _NUMBER.match(ops[0]) else [ops[0], ""]
        if len(ops) == 2 and ops[0] in ("", *FLIPS) and (ops[1] == "" or _NUMBER.match(ops[1])):
            return Step("rotate", {"flip": ops[0], "angle": ops[1]})
        return None  # "a_90.hflip", "a_auto_right": kept as written
    if keys and keys <= {"f", "q"}:
        return Step("format", dict(p))
    return None


def _bg_removal(arg: str) -> Step | None:
    try:
        options = bgremoval.parse((arg,) if arg else (), {})
    except BadRequest:
        return None  # kept raw; the engine's message shows at the step
    return Step(BG_REMOVAL, {"hints": ";".join(options.hints), "fine_edges": "y" if options.fine_edges else ""})


def is_bg_removal(step: Step) -> bool:
    """Whether a step's first component applies e_background_removal (palette or raw)."""
    first = step.text.split("/", 1)[0]
    try:
        effect = dict(split_component(first)).get("e", "")
    except BadRequest:
        return False
    return effect.partition(":")[0] == bgremoval.NAME


def _parse_layer(parts: list[str], i: int, own: dict) -> tuple[Step, int]:
    """``l_<id>[,w_,h_]/fl_layer_apply[,g_,x_,y_]`` or ``l_text:<font>_<size>:<text>[,co_]/fl_layer_apply...``"""
    nxt = _params(parts[i + 1]) if i + 1 < len(parts) else None
    if nxt is None or nxt.get("fl") != "layer_apply" or not set(nxt) <= {"fl", "g", "x", "y"}:
        return _raw_layer(parts, i)
    place = {k: nxt[k] for k in ("g", "x", "y") if k in nxt}
    text = "/".join((join_component(own.items()), join_component(nxt.items())))
    source = own["l"]
    if source.startswith("text:"):
        style, sep, raw = source[len("text:"):].partition(":")
        font, _, size = style.partition("_")
        size, _, options = size.partition("_")
        if not sep or not set(own) <= {"l", "co"} or not _NUMBER.match(size or "x") \
                or (options and options not in TEXT_STYLES):
            return _raw(text), 2
        try:
            words = decode_text(raw)
        except BadRequest as exc:
            return _raw(text, exc.message), 2
        return Step("text", {"text": words, "font": font, "size": size, "style": options, "color": own.get("co", ""),
                             **place},
                    text), 2
    if source.split(":", 1)[0] in ("private", "authenticated", "fetch") or not set(own) <= {"l", "w", "h"}:
        return _raw(text), 2
    values = {"public_id": source.replace(":", "/"), **{k: own[k] for k in ("w", "h") if k in own}, **place}
    return Step("overlay", values, text), 2


def _raw_layer(parts: list[str], i: int) -> tuple[Step, int]:
    """A layer the palette cannot show: everything up to its ``fl_layer_apply`` as one raw step."""
    for j in range(i + 1, len(parts)):
        if (_params(parts[j]) or {}).get("fl") == "layer_apply":
            return _raw("/".join(parts[i:j + 1])), j + 1 - i
    return _raw(parts[i]), 1


def text(steps) -> str:
    return "/".join(s.text for s in steps if s.text)


# --- form values -> a step ----------------------------------------------------------------


def from_form(kind_name: str, data) -> tuple[Step | None, dict]:
    """A step from the palette form's values, or (None, {field: message})."""
    kind = KINDS.get(kind_name)
    if kind is None:
        return None, {"__all__": f"Unknown step type {kind_name!r}."}
    values = {f.name: _value(f, data) for f in kind.fields}
    errors: dict[str, str] = {}
    for f in kind.fields:
        value = values[f.name]
        if f.multiple:
            unknown = [v for v in value.split(";") if v and v not in f.choices]
            if unknown:
                errors[f.name] = f"Unknown choice {unknown[0]!r}: choose from {', '.join(f.choices)}."
        elif f.required and not value:
            errors[f.name] = f"{f.label} is required."
        elif value and f.number and not _NUMBER.match(value):
            errors[f.name] = f"{f.label} must be a number."
        elif value and f.choices and value not in f.choices:
            errors[f.name] = f"Choose one of: {', '.join(f.choices)}."
    if not errors:
        try:
            step_text = BUILD[kind.name](values)
        except BadRequest as exc:
            errors["__all__"] = exc.message
        else:
            if not step_text:
                errors["__all__"] = "Fill in at least one field."
            else:
                return Step(kind.name, values, step_text), {}
    return None, errors


def _value(f: Field, data) -> str:
    """A field's submitted value as text (checkbox groups: the ticked values, sorted, ";"-joined)."""
    if f.multiple:
        many = data.getlist(f.name) if hasattr(data, "getlist") else [data.get(f.name) or ""]
        picked = {v.strip() for item in many for v in (item or "").replace(",", ";").split(";") if v.strip()}
        return ";".join(sorted(picked))
    if f.check:
        return "y" if (data.get(f.name) or "").strip().lower() in ("y", "on", "true", "1", "yes") else ""
    return (data.get(f.name) or "").strip()


def _component(pairs) -> str:
    return join_component([(k, v) for k, v in pairs if v])


def _resize(v: dict) -> str:
    if not (v["c"] or v["w"] or v["h"] or v["ar"]):
        if v["g"]:
            raise BadRequest("Gravity needs a crop mode or a size.")
        return ""
    return _component((k, v[k]) for k in ("c", "w", "h", "ar", "g"))


def _effect(v: dict) -> str:
    return "e_" + v["effect"] + (f":{v['arg']}" if v["arg"] else "")


def _rotate(v: dict) -> str:
    return "a_" + ".".join(x for x in (v["flip"], v["angle"]) if x) if (v["flip"] or v["angle"]) else ""


def _apply(v: dict) -> str:
    return _component([("fl", "layer_apply"), ("g", v["g"]), ("x", v["x"]), ("y", v["y"])])


def _overlay(v: dict) -> str:
    public_id = v["public_id"].strip("/")
    if any(ch in public_id for ch in ",:?#%") or not public_id:
        raise BadRequest(f"Invalid overlay public_id {public_id!r}.")
    return _component([("l", public_id.replace("/", ":")), ("w", v["w"]), ("h", v["h"])]) + "/" + _apply(v)


def _text(v: dict) -> str:
    if any(ch in v["font"] for ch in ":,/_%"):
        raise BadRequest(f"Invalid font name {v['font']!r}.")
    style = "_".join(x for x in (v["font"], v["size"], v["style"]) if x)
    layer = f"l_text:{style}:{text_token(v['text'])}"
    return _component([("l", layer[2:]), ("co", v["color"])]) + "/" + _apply(v)


def _bgremoval(v: dict) -> str:
    hints = tuple(h for h in v["hints"].split(";") if h)
    options = bgremoval.Options(hints, v["fine_edges"] == "y")
    return f"e_{bgremoval.NAME}" + (f":{options.canonical}" if options.canonical else "")


BUILD = {
    BG_REMOVAL: _bgremoval,
    "resize": _resize,
    "effect": _effect,
    "radius": lambda v: f"r_{v['r']}",
    "border": lambda v: f"bo_{v['width']}px_{v['style']}_{v['color']}",
    "rotate": _rotate,
    "overlay": _overlay,
    "text": _text,
    "format": lambda v: _component((k, v[k]) for k in ("f", "q")),
    "raw": lambda v: "/".join(components(v["text"])),
}
