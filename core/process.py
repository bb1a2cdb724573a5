"""Process helpers every layer may use."""

from __future__ import annotations

import atexit
import threading
from multiprocessing import util


def at_exit(function) -> None:
    """Run `function` once when this process exits normally: ``atexit`` for a plain
    process (runserver, celery, a management command), and a multiprocessing finalizer
    for a granian worker, which (like a forked multiprocessing child) leaves through
    ``os._exit`` after running those finalizers, never the ``atexit`` handlers."""
    done = threading.Event()

    def once():
        if not done.is_set():
            done.set()
            function()

    atexit.register(once)
    util.Finalize(None, once, exitpriority=10)
