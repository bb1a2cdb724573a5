"""Bounds on the work a public URL can ask for, read from settings at call time.

- ``DAM_MAX_SOURCE_PIXELS``: an original (or layer) larger than this is not rendered (400).
- ``DAM_MAX_OUTPUT_PIXELS``: no step may produce an image larger than this (400).
- ``DAM_RENDER_TIME_BUDGET``: seconds one render may take; checked between steps, and
  while libvips computes pixels a timer sets the image's kill flag at the deadline
  (422 when exceeded).  A timer, not libvips' progress signal: a Python callback left
  on an image that libvips' operation cache keeps alive would outlive its handle.
- ``DAM_MAX_CONCURRENT_RENDERS`` / ``DAM_RENDER_QUEUE_TIMEOUT``: see transforms.derived
  (429 when no render slot frees up in time).
"""

from __future__ import annotations

import threading
import time
from contextlib import contextmanager

from django.conf import settings

from assets.api.errors import ApiError, BadRequest


class RenderTimeout(ApiError):
    status = 422


def max_source_pixels() -> int:
    return int(getattr(settings, "DAM_MAX_SOURCE_PIXELS", getattr(settings, "DAM_MAX_IMAGE_PIXELS", 100_000_000)))


def max_output_pixels() -> int:
    return int(getattr(settings, "DAM_MAX_OUTPUT_PIXELS", 50_000_000))


def time_budget() -> float:
    return float(getattr(settings, "DAM_RENDER_TIME_BUDGET", 30))


def check_source(width: int, height: int, what: str = "Source image") -> None:
    limit = max_source_pixels()
    if width * height > limit:
        raise BadRequest(f"{what} is too large to transform: {width}x{height} exceeds {limit} pixels")


def check_output(width: int, height: int) -> None:
    limit = max_output_pixels()
    if width * height > limit:
        raise BadRequest(f"Requested image is too large: {width}x{height} exceeds the limit of {limit} pixels")


class Budget:
    """The time one render may take."""

    def __init__(self, seconds: float | None = None):
        self.seconds = time_budget() if seconds is None else seconds
        self.deadline = time.monotonic() + self.seconds

    @property
    def expired(self) -> bool:
        return time.monotonic() > self.deadline

    def check(self) -> None:
        if self.expired:
            raise self.error()

    def error(self) -> RenderTimeout:
        return RenderTimeout(f"Rendering took longer than the time budget of {self.seconds:g} seconds")

    @contextmanager
    def limit(self, image):
        """While the block computes `image`, stop libvips when the deadline passes."""
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise self.error()
        timer = threading.Timer(remaining, image.set_kill, args=(True,))
        timer.daemon = True
        timer.start()
        try:
            yield image
        finally:
            timer.cancel()
            image.set_kill(False)  # the image may live on in libvips' operation cache
