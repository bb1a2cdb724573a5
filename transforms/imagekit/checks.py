"""ImageKit values checked against ImageKit's grammar and re-printed in the spelling the
Cloudinary dialect reads (transforms.imagekit.translate writes them into components): sizes and
their expressions, numbers, colours, layer paths, base64 texts, prompts, ``a-1_b-2``
sub-parameters.  Each refusal is a BadRequest naming the ImageKit key and value."""

from __future__ import annotations

import base64
import binascii
import re

from core.errors import BadRequest

from ..rgba import parse_color

_INT = re.compile(r"^\d{1,6}$")
_SIGNED = re.compile(r"^N?\d{1,6}$")
DECIMAL = re.compile(r"^(\d{1,6})(\.\d{1,6})?$|^\.\d{1,6}$")
_HEX = re.compile(r"^[0-9A-Fa-f]{6}([0-9A-Fa-f]{2})?$|^[0-9A-Fa-f]{3}$")
_NAME = re.compile(r"^[A-Za-z]{3,20}$")
FONT_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9 ]{0,63}$")
_PATH_PART = re.compile(r"^[A-Za-z0-9_\-.=]+$")
RELATIVE = re.compile(r"^(bw|bh)_mul_(0?\.\d{1,6}|1(\.0{1,6})?)$")


def bad(key: str, value: str, why: str = "") -> BadRequest:
    return BadRequest(f"Invalid ImageKit value for {key}: {value!r}" + (f" ({why})" if why else ""))


# --- values --------------------------------------------------------------------------------


def number(text: str) -> str:
    """A non-negative decimal re-printed without superfluous zeros."""
    value = float(text)
    return str(int(value)) if value.is_integer() and "." not in text else repr(value)


def size(key: str, value: str) -> str:
    """``w-300`` pixels, ``w-0.5`` a fraction of the input (Cloudinary's ``w_0.5``)."""
    if value == "auto":
        raise BadRequest(f"Unsupported ImageKit value for {key}: auto (responsive sizes need client hints)")
    if not DECIMAL.match(value):
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
        elif DECIMAL.match(token):
            out.append(number(token))
        elif token in ("bw", "bh", "bar"):
            raise BadRequest(f"Unsupported ImageKit value for {key}: {value!r} ({token} is only supported in a "
                             f"layer's w or h as {'bw' if token == 'bw' else 'bh'}_mul_<fraction>)")
        else:
            raise bad(key, value, f"unknown operand {token!r} (iw, ih, iar, cw, ch, car or a number)")
    return "_".join(out)


def decimal(key: str, value: str, low: float, high: float) -> str:
    if not DECIMAL.match(value) or not (low <= float(value) <= high):
        raise bad(key, value, f"a number from {low:g} to {high:g}")
    return number(value)


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


def subparams(value: str, key: str) -> dict[str, str]:
    """``az-45_el-30_st-60`` -> {"az": "45", ...}."""
    found: dict[str, str] = {}
    for piece in value.split("_"):
        name, sep, arg = piece.partition("-")
        if not sep or not arg or name in found:
            raise bad(key, value, "sub-parameters are <name>-<value> joined by '_'")
        found[name] = arg
    return found
