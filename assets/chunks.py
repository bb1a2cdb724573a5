"""Chunked uploads (``upload_large`` in the SDKs).

Each chunk is an ordinary upload request with ``Content-Range: bytes <start>-<end>/<total>``
and ``X-Unique-Upload-Id``.  Nothing of a session lives on the web host's own disk, so any
host may take any chunk: the session is a ``ChunkSession`` row (owner, public_id, total,
ranges received, which object holds each chunk), locked with ``select_for_update()`` while
a chunk is recorded, and each chunk's bytes are an object of the ``default`` storage (the
S3 bucket on several hosts) named ``chunks/s-<upload id>/<start>-<end>`` (the ``s-``
keeps ids such as ``..`` inside ``chunks/``).  Chunks may arrive in any order, overlap
and be sent again (ranges are merged; the same range sent again replaces its object: the
new one is stored first, under a suffixed name if the storage will not overwrite, and the
old one deleted once the row names the new one).
When every byte has arrived, the parts are streamed in order from the storage into one
local temporary file (assets.tempfiles), which goes through the normal ingest path; the
row goes in the same transaction and the parts right after it.  The npm SDK streams and
does not know the total before its last chunk: ``bytes <start>-<end>/-1`` (total
unknown) is accepted, the last chunk's total completes the upload.  The public_id is
chosen at the first chunk and echoed in every interim answer, because the SDK sends back
whatever public_id the previous answer held.  Sessions untouched for ``STALE_AFTER`` are
swept (rows and their objects, a few per chunk received).

A session belongs to the credential that sent its first chunk (an API key, a Studio
user, or the unsigned preset named): a chunk of the same upload id sent with any other
is refused (403) and changes nothing, so nobody can add bytes to someone else's upload
nor learn its public_id by guessing its id.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.core.files import File
from django.core.files.storage import storages
from django.db import IntegrityError, transaction
from django.utils import timezone

from assets import tempfiles
from assets.models import ChunkSession
from core.errors import BadRequest, Forbidden
# At most 18 digits each: int() of thousands of digits fails (or is slow), and no file is that large.
_RANGE = re.compile(r"^bytes ([0-9]{1,18})-([0-9]{1,18})/([0-9]{1,18}|-1)$")
_UPLOAD_ID = re.compile(r"^[A-Za-z0-9_.-]{1,128}$")
STALE_AFTER = 24 * 3600
SWEEP_AT_MOST = 20  # stale sessions removed per chunk received
_COPY_BLOCK = 1 << 20


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


def _storage():
    return storages["default"]


def _folder(upload_id: str) -> str:
    return f"chunks/s-{upload_id}"


def _delete(names) -> None:
    storage = _storage()
    for name in names:
        try:
            storage.delete(name)
        except OSError:
            pass


def _locked(chunk: Chunk, owner: str, choose_public_id) -> ChunkSession:
    """The session row of this upload, locked until the transaction ends; created (with the
    public_id chosen now) at the first chunk.  Call inside ``transaction.atomic()``."""
    session = ChunkSession.objects.select_for_update().filter(upload_id=chunk.upload_id).first()
    if session is not None:
        return session
    public_id = choose_public_id()  # may refuse (400): then no session exists
    try:
        with transaction.atomic():  # a savepoint: another host may create the row at the same moment
            return ChunkSession.objects.create(upload_id=chunk.upload_id, owner=owner, public_id=public_id,
                                               total=chunk.total)
    except IntegrityError:
        return ChunkSession.objects.select_for_update().get(upload_id=chunk.upload_id)


def receive(owner: str, chunk: Chunk, uploaded, choose_public_id) -> tuple[Path | None, dict]:
    """Store one chunk. Returns (path of the complete file or None, session metadata).

    `owner` names the credential sending it (403 when the session has another).
    `choose_public_id()` is called at the first chunk of the session, before anything is
    written, so a bad public_id is refused before a session exists (later chunks carry
    the id the server chose, which a preset's disallow_public_id would refuse).
    The complete file is a local temporary file the caller removes.
    """
    size = chunk.end - chunk.start + 1
    if uploaded is None or uploaded.size != size:
        got = None if uploaded is None else uploaded.size
        raise BadRequest(f"Chunk size {got} does not match Content-Range ({size} bytes)")
    _sweep()
    storage = _storage()
    superseded: list[str] = []  # objects to delete once the transaction has committed
    stored = None
    try:
        with transaction.atomic():
            session = _locked(chunk, owner, choose_public_id)
            if session.owner != owner:
                raise Forbidden("This chunked upload was started with another credential: "
                                "continue it with the one that sent its first chunk")
            if None not in (session.total, chunk.total) and session.total != chunk.total:
                raise BadRequest("Content-Range total differs from earlier chunks of this upload")
            total = session.total if session.total is not None else chunk.total
            if total is not None and any(end >= total for _, end in session.ranges + [[chunk.start, chunk.end]]):
                raise BadRequest("Content-Range total is smaller than bytes already sent for this upload")
            key = f"{chunk.start}-{chunk.end}"
            name = f"{_folder(chunk.upload_id)}/{key}"
            uploaded.seek(0)
            stored = storage.save(name, File(uploaded, name=name))
            if key in session.parts:  # the same range again: the new object replaces the old one
                superseded.append(session.parts[key])
            session.parts = {**session.parts, key: stored}
            session.total = total
            session.ranges = _merge(session.ranges + [[chunk.start, chunk.end]])
            meta = {"total": total, "ranges": session.ranges, "owner": session.owner,
                    "public_id": session.public_id}
            path = None
            if total is not None and session.ranges == [[0, total - 1]]:
                path = _assemble(session)
                session.delete()
                superseded += session.parts.values()
            else:
                session.save()
    except BaseException:
        if stored is not None:  # no row records it (rolled back): no orphan object
            _delete([stored])
        raise
    _delete(superseded)  # after the commit: a rollback keeps every object its row names
    return path, meta


def _assemble(session: ChunkSession) -> Path:
    """Stream the parts, in order of their start, into one local temporary file."""
    storage = _storage()
    path = Path(tempfiles.path("chunks", ".bin"))
    position = 0
    try:
        with open(path, "wb") as out:
            for start, end, name in sorted((*map(int, key.split("-")), name) for key, name in session.parts.items()):
                if end < position:
                    continue  # wholly inside bytes already written
                try:
                    part = storage.open(name, "rb")
                except FileNotFoundError:
                    raise BadRequest(f"Chunk {start}-{end} of this upload is missing: send it again") from None
                with part:
                    skip = position - start  # an overlap with what is already written
                    if skip:
                        part.seek(skip)
                    remaining = end + 1 - position
                    while remaining:
                        block = part.read(min(_COPY_BLOCK, remaining))
                        if not block:
                            raise BadRequest(f"Chunk {start}-{end} of this upload is incomplete in storage")
                        out.write(block)
                        remaining -= len(block)
                position = end + 1
        if position != session.total:
            raise BadRequest(f"Assembled {position} bytes of {session.total}")
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path


def _merge(ranges: list[list[int]]) -> list[list[int]]:
    merged: list[list[int]] = []
    for start, end in sorted(ranges):
        if merged and start <= merged[-1][1] + 1:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return merged


def _sweep() -> None:
    """Remove sessions nobody touched for STALE_AFTER (at most SWEEP_AT_MOST per call), rows and objects."""
    cutoff = timezone.now() - timedelta(seconds=STALE_AFTER)
    for pk in ChunkSession.objects.filter(updated__lt=cutoff).values_list("pk", flat=True)[:SWEEP_AT_MOST]:
        with transaction.atomic():
            # Locked and checked again: a chunk recorded meanwhile made it fresh.
            session = ChunkSession.objects.select_for_update().filter(pk=pk, updated__lt=cutoff).first()
            if session is None:
                continue
            session.delete()
        _delete(session.parts.values())
