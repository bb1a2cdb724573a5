"""The sub-parameters of Cloudinary's generative effects: ``key_value`` pairs joined by ``;``.

``b_gen_fill:prompt_a cat;seed_3``, ``e_gen_remove:multiple_true;prompt_(dog;cat)``,
``e_gen_recolor:prompt_sweater;to-color_58d68d``: the SDKs write them in different orders
(PHP sorts them and writes ``_false`` explicitly), so `split` accepts any order, each key
once.  A prompt may itself contain ``;`` (the JavaScript SDK percent-encodes it, and the
server decodes the path once): a piece that does not start with a known key continues
the value before it.  Parentheses group a list (``prompt_(dog;cat)``) and are kept whole.
"""

from __future__ import annotations

import re

from core.errors import BadRequest

MAX_PROMPT = 500  # characters
SEED_RE = re.compile(r"-?\d{1,18}")


def pieces(text: str, *, strict: str = "") -> list[str]:
    """`text` split on ``;`` outside parentheses.  `strict`: what to call it in the 400 for
    unbalanced parentheses (otherwise they are tolerated: a prompt may hold a lone one)."""
    out, depth, current = [], 0, []
    for ch in text:
        depth += (ch == "(") - (ch == ")")
        if depth < 0:
            if strict:
                raise BadRequest(f"Invalid {strict}: unbalanced parentheses in {text!r}")
            depth = 0
        if ch == ";" and depth == 0:
            out.append("".join(current))
            current = []
        else:
            current.append(ch)
    if depth and strict:
        raise BadRequest(f"Invalid {strict}: unbalanced parentheses in {text!r}")
    out.append("".join(current))
    return out


def split(text: str, keys: tuple[str, ...], *, effect: str, free_text: tuple[str, ...] = ("prompt",)) -> dict[str, str]:
    """``{key: raw value}`` for `text` (the part after the effect's name and ``:``).
    `free_text`: keys whose value may contain ``;`` (a piece not starting with a known key
    continues it).  BadRequest naming `effect` for an unknown or repeated key."""
    found: dict[str, str] = {}
    last = None
    for piece in pieces(text) if text else []:
        key = next((k for k in keys if piece.startswith(k + "_")), None)
        if key is None:
            if last in free_text:
                found[last] += ";" + piece
                continue
            name = piece.split("_", 1)[0] if piece else piece
            raise BadRequest(f"Invalid {effect} parameter: {name or piece!r} (expected {', '.join(keys)})")
        if key in found:
            raise BadRequest(f"Invalid {effect} parameter: {key} given twice")
        found[key] = piece[len(key) + 1:]
        last = key
    return found


def boolean(value: str, key: str, effect: str) -> bool:
    lowered = value.lower()
    if lowered in ("true", "1"):
        return True
    if lowered in ("false", "0"):
        return False
    raise BadRequest(f"Invalid {effect} parameter: {key}_{value} (expected true or false)")


def seed(value: str, effect: str) -> int:
    if not SEED_RE.fullmatch(value):
        raise BadRequest(f"Invalid {effect} seed: {value!r} (expected an integer)")
    return int(value)


def prompt(value: str, effect: str) -> str:
    """One prompt: whitespace collapsed, at most MAX_PROMPT characters, no control characters."""
    text = " ".join(value.split())
    if not text:
        raise BadRequest(f"Invalid {effect} prompt: empty")
    if len(text) > MAX_PROMPT:
        raise BadRequest(f"Invalid {effect} prompt: longer than {MAX_PROMPT} characters")
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in text):
        raise BadRequest(f"Invalid {effect} prompt: control characters")
    return text


def prompts(value: str, effect: str) -> tuple[str, ...]:
    """``(a;b;c)`` or a single prompt without parentheses."""
    if value.startswith("(") and value.endswith(")"):
        items = pieces(value[1:-1])
        if not items or any(not p.strip() for p in items):
            raise BadRequest(f"Invalid {effect} prompt list: {value!r}")
        return tuple(prompt(p, effect) for p in items)
    return (prompt(value, effect),)
