"""Chunked uploads (``upload_large`` in the SDKs).

Each chunk is an ordinary upload request with ``Content-Range: bytes <start>-<end>/<total>``
and ``X-Unique-Upload-Id``.  Chunks are written at their offset into one file under
``<DAM_VAR_DIR>/chunks/s-<upload id>/``; when every byte has arrived, the file goes
through the normal ingest path and the session folder is removed.  Chunks may arrive
in any order and concurrently (a file lock serialises the bookkeeping).  The npm SDK
streams and does not know the total before its last chunk: ``bytes <start>-<end>/-1``
(total unknown) is accepted, the last chunk's total completes the upload.  The public_id
is chosen at the first chunk and echoed in every interim answer, because the SDK
sends back whatever public_id the previous answer held.  Several web hosts need a
shared ``DAM_VAR_DIR`` (or sticky sessions) for chunked uploads.

A session belongs to the credential that sent its first chunk (an API key, a Studio
user, or the unsigned preset named): a chunk of the same upload id sent with any other
is refused (403) and changes nothing, so nobody can add bytes to someone else's upload
nor learn its public_id by guessing its id.
"""

from __future__ import annotations

import fcntl
import json
import re
import shutil
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

from core.errors import BadRequest, Forbidden

# At most 18 digits each: int() of thousands of digits fails (or is slow), and no file is that large.
_RANGE = re.compile(r"^bytes ([0-9]{1,18})-([0-9]{1,18})/([0-9]{1,18}|-1)$")
_UPLOAD_ID = re.compile(r"^[A-Za-z0-9_.-]{1,128}$")
STALE_AFTER = 24 * 3600


@dataclass
class Chunk:
    start: int
    end: int  # inclusive
    total: int | None  # None: not known yet (``/-1``, the npm SDK's chunks before the last)
    upload_id: str


def parse(request) -> Chunk | None:
    header = request.headers.get("Content-Range")
    if not header:
        return None
    match = _RANGE.match(header.strip())
    if not match:
        raise BadRequest(f"Invalid Content-Range header {header!r}: expected 'bytes <start>-<end>/<total>'")
    start, end, total = (int(g) for g in match.groups())
    total = None if total == -1 else total
    upload_id = request.headers.get("X-Unique-Upload-Id", "")
    if not _UPLOAD_ID.match(upload_id):
        raise BadRequest("Chunked upload needs an X-Unique-Upload-Id header (letters, digits, '_', '-', '.')")
    if start > end or (total is not None and end >= total):
        raise BadRequest(f"Invalid Content-Range {header!r}")
    size = total if total is not None else end + 1
    if size > settings.DAM_MAX_UPLOAD_BYTES:
        raise BadRequest(f"File size too large. Got {size}. Maximum is {settings.DAM_MAX_UPLOAD_BYTES}.")
    return Chunk(start, end, total, upload_id)


def _root() -> Path:
    return Path(settings.VAR_DIR) / "chunks"


@contextmanager
def _session(chunk: Chunk):
    root = _root()
    root.mkdir(parents=True, exist_ok=True)
    folder = root / f"s-{chunk.upload_id}"  # the prefix keeps "." and ".." ids inside root
    folder.mkdir(exist_ok=True)
    with open(folder / "lock", "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield folder
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _merge(ranges: list[list[int]]) -> list[list[int]]:
    merged: list[list[int]] = []
    for start, end in sorted(ranges):
        if merged and start <= merged[-1][1] + 1:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return merged


def receive(owner: str, chunk: Chunk, uploaded, choose_public_id) -> tuple[Path | None, dict]:
    """Store one chunk. Returns (path of the complete file or None, session metadata).

    `owner` names the credential sending it (403 when the session has another).
    `choose_public_id()` is called at the first chunk of the session, before anything is
    written, so a bad public_id is refused before a session exists (later chunks carry
    the id the server chose, which a preset's disallow_public_id would refuse).
    """
    size = chunk.end - chunk.start + 1
    if uploaded is None or uploaded.size != size:
        got = None if uploaded is None else uploaded.size
        raise BadRequest(f"Chunk size {got} does not match Content-Range ({size} bytes)")
    public_id = None if (_root() / f"s-{chunk.upload_id}" / "meta.json").exists() else choose_public_id()
    _sweep()
    with _session(chunk) as folder:
        meta_path = folder / "meta.json"
        meta = json.loads(meta_path.read_text()) if meta_path.exists() else {}
        if meta and meta.get("owner") != owner:
            raise Forbidden("This chunked upload was started with another credential: "
                            "continue it with the one that sent its first chunk")
        if meta and None not in (meta["total"], chunk.total) and meta["total"] != chunk.total:
            raise BadRequest("Content-Range total differs from earlier chunks of this upload")
        if meta and meta["total"] is None:
            meta["total"] = chunk.total
        sent = meta.get("ranges", []) + [[chunk.start, chunk.end]] if meta else []
        if meta and meta["total"] is not None and any(end >= meta["total"] for _, end in sent):
            raise BadRequest("Content-Range total is smaller than bytes already sent for this upload")
        if not meta:
            meta = {"total": chunk.total, "ranges": [], "created": time.time(), "owner": owner,
                    "public_id": choose_public_id() if public_id is None else public_id}
        data = folder / "data"
        with open(data, "r+b" if data.exists() else "w+b") as fh:
            fh.seek(chunk.start)
            for block in uploaded.chunks():
                fh.write(block)
        meta["ranges"] = _merge(meta["ranges"] + [[chunk.start, chunk.end]])
        meta_path.write_text(json.dumps(meta))
        complete = meta["total"] is not None and meta["ranges"] == [[0, meta["total"] - 1]]
        if complete:
            final = folder.parent / f"c-{chunk.upload_id}"  # no session folder is named c-...
            data.rename(final)
            shutil.rmtree(folder, ignore_errors=True)
            return final, meta
        return None, meta


def _sweep() -> None:
    """Remove sessions nobody finished within a day."""
    root = _root()
    if not root.exists():
        return
    cutoff = time.time() - STALE_AFTER
    for entry in root.iterdir():
        try:
            if entry.stat().st_mtime < cutoff:
                shutil.rmtree(entry, ignore_errors=True) if entry.is_dir() else entry.unlink()
        except FileNotFoundError:
            pass
