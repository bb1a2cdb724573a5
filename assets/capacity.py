"""Per-process admission for long work, so that it can never take every request thread.

The web server calls the application from a fixed number of threads per worker
process (``DAM_WEB_THREADS``, granian's ``--blocking-threads``).  A request that holds
its thread for long (waiting for a slow request body, waiting for or running a render,
running a model synchronously) must first take a *long-work token*; at most
``DAM_WEB_THREADS - DAM_RESERVED_THREADS`` tokens exist per process, so the reserved
threads are always free for cached hits, the Admin API and the screens.  Taking a token
never waits: when none is free the request is refused at once (the caller chooses the
status, e.g. 429 or 503 with ``Retry-After``), which keeps the server's own request
queue short as well.

Framework-free apart from reading two settings at call time.
"""

from __future__ import annotations

import os
import threading
from collections import Counter
from contextlib import contextmanager

from django.conf import settings

_lock = threading.Lock()
_held: Counter = Counter()  # kind -> tokens held now, in this process


def threads() -> int:
    """Request threads per web worker process (what the server was started with)."""
    return max(1, int(settings.DAM_WEB_THREADS))


def reserved() -> int:
    """Threads per process that long work may never take."""
    return max(0, int(settings.DAM_RESERVED_THREADS))


def capacity() -> int:
    """Long-work tokens per process (at least one, whatever the settings say)."""
    return max(1, threads() - reserved())


def in_use(kind: str | None = None) -> int:
    with _lock:
        return _held[kind] if kind is not None else sum(_held.values())


class Full(Exception):
    """No long-work token was free (or the kind's own cap was reached)."""

    def __init__(self, kind: str):
        super().__init__(f"no capacity for {kind}")
        self.kind = kind


def try_acquire(kind: str, limit: int | None = None) -> bool:
    """Take a token for `kind` if one is free and fewer than `limit` of that kind are
    held (None: no cap of its own).  Never waits."""
    with _lock:
        if sum(_held.values()) >= capacity():
            return False
        if limit is not None and _held[kind] >= limit:
            return False
        _held[kind] += 1
        return True


def release(kind: str) -> None:
    with _lock:
        if _held[kind] > 0:
            _held[kind] -= 1


@contextmanager
def long_work(kind: str, limit: int | None = None):
    """Hold a long-work token for the block; raises Full at once when none is free."""
    if not try_acquire(kind, limit):
        raise Full(kind)
    try:
        yield
    finally:
        release(kind)


def _reset_after_fork() -> None:  # a forked child holds none of its parent's tokens
    global _lock
    _lock = threading.Lock()
    _held.clear()


os.register_at_fork(after_in_child=_reset_after_fork)
