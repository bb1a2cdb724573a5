"""Responsive breakpoints: which widths of an image are worth delivering.

Cloudinary's rule, dialect-neutral: start from the widest image (``max_width``, never
wider than the image itself) and walk down; a width becomes a breakpoint when its encoded
size is at least ``bytes_step`` smaller than the last breakpoint's; ``min_width`` and
``max_width`` are always breakpoints and there are at most ``max_images``.  `choose`
takes a `measure(width) -> Measured` (the dialect renders the width through the engine:
transforms.cloudinary.breakpoints) and calls it at most SAMPLES times, so the work of one
request is bounded whatever it asks for.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from core.errors import BadRequest

DEFAULTS = {"min_width": 50, "max_width": 1000, "bytes_step": 20000, "max_images": 20}
MAX_WIDTH = 10_000  # widest breakpoint asked for (the engine's own limits still apply)
MAX_IMAGES = 50
MAX_SETTINGS = 10  # breakpoint requests in one upload or explicit call
SAMPLES = 20  # renders measured per request at most


@dataclass(frozen=True)
class Settings:
    min_width: int = DEFAULTS["min_width"]
    max_width: int = DEFAULTS["max_width"]
    bytes_step: int = DEFAULTS["bytes_step"]
    max_images: int = DEFAULTS["max_images"]


@dataclass(frozen=True)
class Measured:
    width: int
    height: int
    bytes: int


def settings(min_width=None, max_width=None, bytes_step=None, max_images=None) -> Settings:
    """Checked settings (None: the default); 400 naming the bad one."""
    values = {}
    for name, given, low, high in (("min_width", min_width, 1, MAX_WIDTH), ("max_width", max_width, 1, MAX_WIDTH),
                                   ("bytes_step", bytes_step, 1, 1 << 40), ("max_images", max_images, 1, MAX_IMAGES)):
        if given is None or given == "":
            values[name] = DEFAULTS[name]
            continue
        try:
            number = int(str(given).strip())
        except ValueError:
            raise BadRequest(f"Invalid responsive breakpoints {name}: {given!r} (a whole number)") from None
        if not low <= number <= high:
            raise BadRequest(f"Invalid responsive breakpoints {name}: {number} (between {low} and {high})")
        values[name] = number
    if values["min_width"] > values["max_width"]:
        raise BadRequest(f"Invalid responsive breakpoints: min_width {values['min_width']} is larger than "
                         f"max_width {values['max_width']}")
    return Settings(**values)


def candidates(low: int, high: int, samples: int = SAMPLES) -> list[int]:
    """Up to `samples` widths from `high` down to `low`, both included, evenly spread."""
    if high <= low:
        return [high]
    count = min(samples, high - low + 1)
    return sorted({round(high - i * (high - low) / (count - 1)) for i in range(count)}, reverse=True)


def choose(measure: Callable[[int], Measured], wanted: Settings) -> list[Measured]:
    """The breakpoints, widest first.  `measure(width)` renders at most that width (an image
    narrower than max_width answers its own width: the walk then starts there)."""
    top = measure(wanted.max_width)
    high = top.width
    low = min(wanted.min_width, high)
    if high <= low or wanted.max_images == 1:
        return [top]
    chosen, sizes = [top], [top]
    for width in candidates(low, high)[1:]:
        sizes.append(measure(width))
    for size in sizes[1:-1]:
        if chosen[-1].bytes - size.bytes >= wanted.bytes_step:
            chosen.append(size)
    chosen.append(sizes[-1])
    return thin(chosen, wanted.max_images)


def thin(chosen: list, limit: int) -> list:
    """At most `limit` of `chosen`, the first and last kept, the rest evenly spread."""
    if len(chosen) <= limit:
        return chosen
    last = len(chosen) - 1
    picks = sorted({round(i * last / (limit - 1)) for i in range(limit)})
    return [chosen[i] for i in picks]
