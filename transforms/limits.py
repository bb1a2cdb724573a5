"""Bounds on the work a public URL can ask for, read from settings at call time.

- ``DAM_MAX_SOURCE_PIXELS``: an original (or layer) larger than this is not rendered (400).
- ``DAM_MAX_OUTPUT_PIXELS``: no step may produce an image larger than this (400).
- ``DAM_RENDER_TIME_BUDGET``: seconds one render may take; checked between steps, and
  while libvips computes pixels one watchdog thread sets the image's kill flag at the
  deadline (422 when exceeded).  A watchdog, not libvips' progress signal: a Python
  callback left on an image that libvips' operation cache keeps alive would outlive its
  handle.
- ``DAM_MAX_CONCURRENT_RENDERS`` / ``DAM_RENDER_QUEUE_TIMEOUT``: see transforms.derived
  (429 when no render slot frees up in time).
- Elsewhere: the memory one render may hold (transforms.memory), admission of first
  renders per process and per deployment (transforms.admission), time-outs remembered
  (transforms.failures).
"""

from __future__ import annotations

import os
import threading
import time
from contextlib import contextmanager

from django.conf import settings

from core.errors import ApiError, BadRequest


class RenderTimeout(ApiError):
    status = 422


def max_source_pixels() -> int:
    return int(settings.DAM_MAX_SOURCE_PIXELS)


def max_output_pixels() -> int:
    return int(settings.DAM_MAX_OUTPUT_PIXELS)


def time_budget() -> float:
    return float(settings.DAM_RENDER_TIME_BUDGET)


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
        if self.deadline - time.monotonic() <= 0:
            raise self.error()
        token = _watchdog.watch(self.deadline, image)
        try:
            yield image
        finally:
            _watchdog.forget(token)
            image.set_kill(False)  # the image may live on in libvips' operation cache


class _Watchdog:
    """One daemon thread that sets the kill flag of every image still being computed when
    its deadline passes: no thread is started per computation.  It sleeps until the
    earliest deadline it knows of and is woken only when an earlier one arrives."""

    def __init__(self):
        self._cond = threading.Condition(threading.Lock())
        self._watched: dict[int, tuple[float, object]] = {}
        self._next_token = 0
        self._wake_at = float("inf")  # when the thread looks next (inf: waiting to be told)
        self._thread: threading.Thread | None = None

    def watch(self, deadline: float, image) -> int:
        with self._cond:
            self._next_token += 1
            token = self._next_token
            self._watched[token] = (deadline, image)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="render-budget", daemon=True)
                self._thread.start()
            elif deadline < self._wake_at:
                self._cond.notify()
            return token

    def forget(self, token: int) -> None:
        with self._cond:  # once this returns, the thread no longer touches the image
            self._watched.pop(token, None)

    def _run(self) -> None:
        with self._cond:
            while True:
                now = time.monotonic()
                for token, (deadline, image) in list(self._watched.items()):
                    if deadline <= now:
                        del self._watched[token]
                        image.set_kill(True)
                self._wake_at = min((d for d, _ in self._watched.values()), default=float("inf"))
                self._cond.wait(None if self._wake_at == float("inf") else self._wake_at - now)


_watchdog = _Watchdog()


def _after_fork_in_child() -> None:  # the thread did not come along, and its lock may be held
    global _watchdog
    _watchdog = _Watchdog()


os.register_at_fork(after_in_child=_after_fork_in_child)
