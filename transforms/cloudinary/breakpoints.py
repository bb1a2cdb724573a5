"""Responsive breakpoints in Cloudinary's words (the rule itself: transforms.breakpoints).

- Upload and explicit ``responsive_breakpoints``: a JSON list (or one object) of
  ``{create_derived, bytes_step, min_width, max_width, max_images, transformation,
  format}``; reached from the Upload API through the ``breakpoints`` hook (assets.hooks):
  `check(raw)` before anything is stored, `compute(asset, raw, request)` -> the answer's
  ``responsive_breakpoints`` list, ``[{breakpoints: [{width, height, bytes, url,
  secure_url}], transformation}]``; ``create_derived`` (the default) stores each width as a
  derived image (``<transformation>/c_scale,w_<width>``).
- Delivery ``.../[<transformation>/]c_scale,w_auto:breakpoints[_<min>_<max>_<KB step>_<max
  images>]:json/<public_id>``: `delivery_json` -> ``{"breakpoints": [widths]}``, widest first.
Each width is rendered through the engine (to memory, nothing stored unless asked).
"""

from __future__ import annotations

import json
import os
import re

from assets import links, tempfiles
from core.errors import BadRequest

from .. import breakpoints as rule
from .. import derived, executor
from ..encode import ENCODERS, canonical_format
from .entry import ensure, from_text
from .named import validate_text

DELIVERY = re.compile(r"^(?:c_scale,)?w_auto:breakpoints(?:_(\d+)_(\d+)_(\d+)_(\d+))?:json$")


def _text(transformation: str, width: int, mode: str = "scale") -> str:
    step = f"c_{mode},w_{width}"
    return f"{transformation}/{step}" if transformation else step


def _settings_list(raw) -> list[dict]:
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError:
            raise BadRequest("Invalid responsive_breakpoints: not JSON") from None
    items = raw if isinstance(raw, list) else [raw]
    if not items or len(items) > rule.MAX_SETTINGS or not all(isinstance(i, dict) for i in items):
        raise BadRequest(f"Invalid responsive_breakpoints: 1 to {rule.MAX_SETTINGS} objects expected")
    return items


def _one(item: dict) -> tuple[rule.Settings, str, str | None, bool]:
    wanted = rule.settings(item.get("min_width"), item.get("max_width"), item.get("bytes_step"),
                           item.get("max_images"))
    transformation = item.get("transformation") or ""
    if not isinstance(transformation, str):
        raise BadRequest("Invalid responsive_breakpoints transformation: a transformation string expected")
    fmt = item.get("format") or None
    if fmt is not None and (not isinstance(fmt, str) or canonical_format(fmt) not in ENCODERS):
        raise BadRequest(f"Invalid responsive_breakpoints format {fmt!r}")
    create = item.get("create_derived", True)
    create = create if isinstance(create, bool) else str(create).lower() in ("true", "1")
    if transformation:
        validate_text(transformation)
        from_text(transformation, fmt)  # 400 for a bad transformation, before anything is stored
    return wanted, transformation, fmt, create


def check(raw) -> None:
    for item in _settings_list(raw):
        _one(item)


def _measure(asset, transformation: str, fmt: str | None):
    def measure(width: int) -> rule.Measured:
        plan = from_text(_text(transformation, width, "limit"), fmt).for_asset(asset)
        spill = tempfiles.path("render")
        try:
            with derived.render_slot():
                done = executor.render(asset, plan, spill, to_memory=True)
            size = len(done.data) if done.data is not None else os.path.getsize(spill)
        finally:
            if os.path.exists(spill):
                os.unlink(spill)
        return rule.Measured(done.width, done.height, size)
    return measure


def compute(asset, raw, request=None) -> list[dict]:
    answer = []
    for item in _settings_list(raw):
        wanted, transformation, fmt, create = _one(item)
        points = []
        for found in rule.choose(_measure(asset, transformation, fmt), wanted):
            text = _text(transformation, found.width)
            if create:
                row = ensure(asset, text, fmt)
                found = rule.Measured(row.width, row.height, row.bytes)
            url, secure_url = links.delivery_urls(asset, request, transformation=text, fmt=fmt or asset.format)
            points.append({"width": found.width, "height": found.height, "bytes": found.bytes, "url": url,
                           "secure_url": secure_url})
        answer.append({"breakpoints": points, "transformation": transformation})
    return answer


def delivery_settings(component: str) -> rule.Settings | None:
    """The settings of a ``w_auto:breakpoints...:json`` component, None for any other."""
    match = DELIVERY.match(component)
    if match is None:
        return None
    low, high, kbytes, images = match.groups()
    return rule.settings(low, high, int(kbytes) * 1024 if kbytes else None, images)


def delivery_json(asset, transformation: str, fmt: str | None, wanted: rule.Settings) -> dict:
    points = rule.choose(_measure(asset, transformation, fmt), wanted)
    return {"breakpoints": [p.width for p in points]}
