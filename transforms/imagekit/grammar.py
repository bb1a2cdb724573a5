"""ImageKit's transformation text as steps of ``(key, value)`` pairs, and its canonical form.

``tr`` is read as it stands in the URL (percent-escapes still in it): steps are split on
``:``, parameters on ``,``, key and value on the first ``-``; each value is then
percent-decoded once.  Splitting before decoding is what lets an escaped ``%2C`` or
``%3A`` inside a text layer stay text (the ImageKit SDK writes ``i-`` text with
encodeURIComponent).  Values are not interpreted here (transforms.imagekit.translate
validates each against its own grammar).
"""

from __future__ import annotations

import re
from urllib.parse import unquote

from core.errors import BadRequest

MAX_TEXT = 8000  # characters of ``tr``: the longest URL a client reasonably sends
MAX_STEPS = 40
MAX_PARAMS = 60  # in one step
_KEY = re.compile(r"^[a-z]{1,8}$")

Step = tuple[tuple[str, str, str], ...]  # (key, decoded value, value as written)
ORDERED = ("e", "bl", "t", "n")  # parameters whose order among themselves is meaning (effects, named)


def split(tr: str) -> list[Step]:
    """``"w-300,h-200:rt-90"`` -> ``[(("w","300","300"), ("h","200","200")), (("rt","90","90"),)]``."""
    if tr is None or tr == "":
        raise BadRequest("Empty ImageKit transformation (tr)")
    if len(tr) > MAX_TEXT:
        raise BadRequest(f"ImageKit transformation too long: {len(tr)} characters (at most {MAX_TEXT})")
    raw_steps = tr.split(":")
    if len(raw_steps) > MAX_STEPS:
        raise BadRequest(f"Too many ImageKit transformation steps: {len(raw_steps)} (at most {MAX_STEPS})")
    steps: list[Step] = []
    for raw in raw_steps:
        if raw == "":
            raise BadRequest(f"Invalid ImageKit transformation {tr!r}: empty step")
        tokens = raw.split(",")
        if len(tokens) > MAX_PARAMS:
            raise BadRequest(f"Too many parameters in one ImageKit step: {len(tokens)} (at most {MAX_PARAMS})")
        params = []
        for token in tokens:
            key, sep, written = token.partition("-")
            if not _KEY.match(key):
                raise BadRequest(f"Invalid ImageKit transformation parameter: {token!r}")
            if not sep or written == "":
                raise BadRequest(f"Missing value for ImageKit transformation parameter: {key}")
            try:
                value = unquote(written, errors="strict") if "%" in written else written
            except UnicodeDecodeError:
                raise BadRequest(f"Invalid ImageKit value for {key}: the escaped text is not UTF-8") from None
            params.append((key, value, written))
        steps.append(tuple(params))
    return steps


def canonical_step(step: Step) -> str:
    """The step with its order-free parameters sorted: effects (``e-``, ``bl-``, ``t-``) and
    named transformations (``n-``) keep their order among themselves and layers (``l-...`` to ``l-end``) keep theirs and their contents,
    after the step's own parameters; values as written."""
    own: list[tuple[str, str]] = []
    effects: list[str] = []
    layers: list[list[str]] = []
    current: list[str] | None = None
    for key, _value, written in step:
        token = f"{key}-{written}"
        if current is not None:
            current.append(token)
            if key == "l" and written == "end":
                layers.append(current)
                current = None
            continue
        if key == "l" and written != "end":
            current = [token]
        elif key in ORDERED:
            effects.append(token)
        else:
            own.append((key, token))
    if current is not None:
        layers.append(current)
    parts = [token for _, token in sorted(own)] + effects
    for layer in layers:
        head, body, end = layer[:1], layer[1:], []
        if body and body[-1] == "l-end":
            body, end = body[:-1], ["l-end"]
        layer_effects = [t for t in body if t.partition("-")[0] in ORDERED]
        layer_own = sorted(t for t in body if t.partition("-")[0] not in ORDERED)
        parts += head + layer_own + layer_effects + end
    return ",".join(parts)


def canonical(steps: list[Step]) -> str:
    return "tr:" + ":".join(canonical_step(step) for step in steps)
