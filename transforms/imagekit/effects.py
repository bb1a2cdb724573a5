"""ImageKit's effects (``e-…``) and generative fill (``bg-genfill…``) as Cloudinary ``e_``/``b_``
values, each telling whether it is an AI operation (ImageKit allows one per step)."""

from __future__ import annotations

from core.errors import BadRequest

from .checks import DECIMAL, bad, base64_text, integer, prompt_token, signed, subparams

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
        if len(parts) != 4 or not all(DECIMAL.match(p) for p in parts):
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
    sub = subparams(rest, "e-shadow")
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
    sub = subparams(rest, "e-dropshadow")
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
