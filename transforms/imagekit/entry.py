"""The ImageKit dialect's entry points (the contract with the HTTP side).

`from_steps(tr, extension)`: ``tr`` is the text after ``tr:`` in the path or the ``tr``
query value, AS IT STANDS IN THE URL (not percent-decoded: the view must take it from the
raw path or query string, since an escaped ``%2C`` in a text layer is text, not a
separator; each value is decoded once here).  The steps are translated into Cloudinary
components (transforms.imagekit.translate), named transformations expanded, and built by
the Cloudinary dialect, so an ImageKit URL and its Cloudinary twin have the same
`Plan.key` and share one derived-cache entry.  `Plan.transformation` is the canonical
Cloudinary text of those components (what the shared derived row, the Admin API's derived
resources and the log of dynamic transformations hold, whichever dialect rendered first);
`canonical(tr)` is the ImageKit text (``tr:h-200,w-300``); `Plan.literal` the Cloudinary
components (how a worker re-reads a generative step, with the ``cloudinary`` dialect).

`is_original(tr)`: ``orig-true`` alone asks for the original file as stored; with any
other parameter (or ``orig-false`` next to others, which means nothing) it is a 400 from
`from_steps`.  ``orig-false`` alone is no transformation: `from_steps` gives the
untransformed plan.
"""

from __future__ import annotations

from core.errors import BadRequest

from ..cloudinary.build import build
from ..cloudinary.entry import expand
from ..cloudinary.parser import canonical as cloudinary_canonical
from ..plan import Plan
from . import grammar
from .translate import step_components


def is_original(tr: str | None) -> bool:
    """True for ``orig-true`` alone (serve the stored file untouched)."""
    if not tr:
        return False
    steps = grammar.split(tr)
    if len(steps) == 1 and len(steps[0]) == 1 and steps[0][0][0] == "orig":
        value = steps[0][0][1]
        if value not in ("true", "false"):
            raise BadRequest(f"Invalid ImageKit value for orig: {value!r} (true or false)")
        return value == "true"
    return False


def components(tr: str) -> list[str]:
    """The Cloudinary components of `tr` (named transformations not yet expanded)."""
    steps = grammar.split(tr)
    if len(steps) == 1 and len(steps[0]) == 1 and steps[0][0][:2] == ("orig", "false"):
        return []
    out: list[str] = []
    for step in steps:
        out += step_components(step)
    return out


def canonical(tr: str) -> str:
    return grammar.canonical(grammar.split(tr))


def from_steps(tr: str, extension: str | None = None) -> Plan:
    """The engine's plan for an ImageKit transformation (BadRequest with a clear message)."""
    if is_original(tr):
        raise BadRequest("orig-true serves the original file: there is no transformation to plan")
    cld = components(tr)
    expanded, used = expand(cld)
    try:
        return build(expanded, extension=extension, transformation=cloudinary_canonical("/".join(cld)), named=used)
    except BadRequest as error:
        if type(error) is not BadRequest:  # a subclass (a missing overlay...) keeps its meaning
            raise
        raise BadRequest(f"{error.message} (the ImageKit transformation reads as {'/'.join(cld)!r})") from None
