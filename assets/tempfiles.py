"""Temporary files of request and task handling, kept in the app's own directory and swept.

Every temporary file the web and Celery workers make while handling a request or a task
(a request body past its memory spool, Django's upload temporaries, data-URI and remote
sources, render spills, background-removal scratch folders) lives under
``DAM_TEMP_DIR`` (default ``<DAM_VAR_DIR>/tmp``), never in the system temp directory: a
worker killed in the middle leaves its files where the app can find them again, on the
disk the operator sized for the app.

Named files carry their owner in the name, ``dam-<kind>-<host tag>-<pid>-<random>``, so
that :func:`sweep` can remove a file as soon as the process that made it is gone (same
host, pid no longer running), not only once it is old.  Anything else older than
``DAM_TEMP_MAX_AGE`` goes as well: a pid reused by another process, a file of another host
sharing ``DAM_VAR_DIR``, a name made by a library.  The age is well above the longest
legitimate upload (the body's minimum rate bounds how long one can take).  A worker sweeps
when it starts (a worker that replaces a killed one removes what the killed one left) and
then at most every ``SWEEP_EVERY`` seconds, from the request or task path (one directory
listing).  The request-body spool needs none of this: it is an unnamed file (O_TMPFILE)
that the kernel frees with the process.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import socket
import tempfile
import threading
import time

from django.conf import settings
from django.core.files.uploadedfile import TemporaryUploadedFile, UploadedFile
from django.core.files.uploadhandler import TemporaryFileUploadHandler

SWEEP_EVERY = 600.0  # seconds between two sweeps of one process
_OWNED = re.compile(r"^dam-[a-z]+-([0-9a-f]{8})-(\d+)-")
_HOST = hashlib.sha1(socket.gethostname().encode()).hexdigest()[:8]
_last_sweep = float("-inf")  # monotonic time of this process's last sweep
_sweep_lock = threading.Lock()


def directory() -> str:
    path = str(settings.DAM_TEMP_DIR)
    os.makedirs(path, exist_ok=True)
    return path


def prefix(kind: str) -> str:
    """The start of a temporary name owned by this process."""
    return f"dam-{kind}-{_HOST}-{os.getpid()}-"


def named(kind: str, suffix: str = "") -> tempfile._TemporaryFileWrapper:
    """An open named temporary file (removed when closed), for code that needs a path."""
    return tempfile.NamedTemporaryFile(prefix=prefix(kind), suffix=suffix, dir=directory())


def spooled(max_size: int) -> tempfile.SpooledTemporaryFile:
    """Memory up to `max_size` bytes, then an unnamed file in the app's directory."""
    return tempfile.SpooledTemporaryFile(max_size=max_size, dir=directory())


def path(kind: str, suffix: str = "") -> str:
    """A fresh path for a file the caller creates and removes itself."""
    return os.path.join(directory(), f"{prefix(kind)}{os.urandom(8).hex()}{suffix}")


def scratch_dir(kind: str) -> tempfile.TemporaryDirectory:
    return tempfile.TemporaryDirectory(prefix=prefix(kind), dir=directory())


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: running
        return True
    return True


def stale(name: str, mtime: float, now: float, max_age: float) -> bool:
    """Whether an entry of the directory can go: its owner (on this host) is gone, or it
    is older than `max_age` seconds."""
    match = _OWNED.match(name)
    if match and match.group(1) == _HOST:
        pid = int(match.group(2))
        if pid != os.getpid() and not _running(pid):
            return True
    return now - mtime > max_age


def sweep(now: float | None = None) -> int:
    """Remove the stale entries of the temporary directory; returns how many went."""
    global _last_sweep
    now = time.time() if now is None else now
    max_age = float(settings.DAM_TEMP_MAX_AGE)
    removed = 0
    try:
        entries = list(os.scandir(directory()))
    except OSError:
        return 0
    for entry in entries:
        try:
            if not stale(entry.name, entry.stat(follow_symlinks=False).st_mtime, now, max_age):
                continue
            if entry.is_dir(follow_symlinks=False):
                shutil.rmtree(entry.path, ignore_errors=True)
            else:
                os.unlink(entry.path)
            removed += 1
        except FileNotFoundError:  # another process swept it first
            continue
        except OSError:
            continue
    _last_sweep = time.monotonic()
    return removed


def maybe_sweep() -> None:
    """Sweep if this process has not for SWEEP_EVERY seconds; costs a clock read otherwise."""
    if time.monotonic() - _last_sweep < SWEEP_EVERY or not _sweep_lock.acquire(blocking=False):
        return
    try:
        if time.monotonic() - _last_sweep >= SWEEP_EVERY:
            sweep()
    finally:
        _sweep_lock.release()


class _OwnedUploadedFile(TemporaryUploadedFile):
    """Django's TemporaryUploadedFile, named with its owner (so a sweep can tell whose)."""

    def __init__(self, name, content_type, size, charset, content_type_extra=None):
        _, ext = os.path.splitext(name)
        UploadedFile.__init__(self, named("upload", ".upload" + ext[:32]), name, content_type, size, charset,
                              content_type_extra)


class UploadHandler(TemporaryFileUploadHandler):
    """settings.FILE_UPLOAD_HANDLERS: large uploaded files go to owned temporaries."""

    def new_file(self, *args, **kwargs):
        super(TemporaryFileUploadHandler, self).new_file(*args, **kwargs)
        self.file = _OwnedUploadedFile(self.file_name, self.content_type, 0, self.charset,
                                       self.content_type_extra)
