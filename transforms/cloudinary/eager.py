"""An upload's eager transformations, given as Cloudinary transformation text.

The Upload API (assets.tasks) calls these through its ``eager`` hook (assets.hooks,
filled by transforms.apps): `check` before anything is stored or queued, `render` in
the request (synchronous eager) or in the worker (``eager_async``).  A transformation
starting with an AI effect (e_background_removal) has its stored result computed here
and now when it is missing, instead of the 423-and-queue of a delivery: eager renders
must come back rendered.  The model runs in this process, one inference at a time per
process (transforms.ai.weights.run).
"""

from __future__ import annotations

from core.errors import BadRequest

from ..ai import lifecycle
from ..encode import ENCODERS, canonical_format
from ..models import DerivedImage
from . import named
from .entry import ensure, from_text


def check(sent: str, text: str, fmt: str | None) -> None:
    """400 for an unknown parameter, named transformation or format; 503 naming
    ``manage.py fetch_models`` when an AI effect's model files are missing."""
    named.validate_text(text)
    found = lifecycle.source_of(from_text(text, fmt))
    if found is not None:
        lifecycle.require_models(*found)
    if fmt is not None and canonical_format(fmt) not in ENCODERS:
        raise BadRequest(f"Invalid eager format {fmt!r} in {sent!r}")


def prepare_ai_result(asset, text: str, fmt: str | None = None) -> str | None:
    """Make sure the asset version's stored AI result exists when the (validated)
    transformation starts with an AI effect.  Returns what happened ("done already",
    "done"; None when it starts with no AI effect); raises ApiError when the run failed
    (422) or the asset changed (503)."""
    found = lifecycle.source_of(from_text(text, fmt))
    return lifecycle.compute_now(asset, *found) if found is not None else None


def render(asset, text: str, fmt: str | None = None) -> DerivedImage:
    """The derived row of one eager transformation: its AI result first, then the render."""
    prepare_ai_result(asset, text, fmt)
    return ensure(asset, text, fmt)
