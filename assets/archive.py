"""Archives of assets: the Upload API's ``generate_archive`` (assets/api/archive.py).

`select` finds the assets (``public_ids``, ``prefixes``, ``tags``; one resource type and
delivery type), `plan` lists the archive's entries (each original, or with
``transformations`` each rendering, made now through the ``eager`` hook so a bad
transformation is a 400 before a byte is sent) and refuses more than
DAM_ARCHIVE_MAX_FILES entries or DAM_ARCHIVE_MAX_BYTES bytes; `stream` writes a zip
(stored, not recompressed: images are compressed already) or a gzipped tar in pieces,
never the whole archive in memory.
"""

from __future__ import annotations

import io
import tarfile
import time
import zipfile
from dataclasses import dataclass

from django.conf import settings
from django.core.files.storage import storages

from core.errors import BadRequest

from .hooks import hook
from .models import Asset

CHUNK = 256 * 1024
FORMATS = ("zip", "tgz")


def max_files() -> int:
    return int(settings.DAM_ARCHIVE_MAX_FILES)


def max_bytes() -> int:
    return int(settings.DAM_ARCHIVE_MAX_BYTES)


@dataclass(frozen=True)
class Entry:
    name: str
    storage: str  # the storage alias: "default" (originals) or "derived"
    storage_name: str
    size: int
    mtime: float


def select(*, public_ids: list[str], prefixes: list[str], tags: list[str], resource_type: str,
           type_: str) -> list[Asset]:
    """The assets named, under a prefix or tagged (any of them), oldest first; at most
    max_files() + 1 are read (one more than allowed says "too many")."""
    if not (public_ids or prefixes or tags):
        raise BadRequest("Missing required parameter - public_ids, prefixes or tags")
    for name, values in (("public_ids", public_ids), ("prefixes", prefixes), ("tags", tags)):
        if len(values) > 1000:
            raise BadRequest(f"Too many {name}: at most 1000")
    base = Asset.objects.filter(resource_type=resource_type, type=type_)
    ids: set[int] = set()
    if public_ids:
        ids.update(base.filter(public_id__in=public_ids).values_list("pk", flat=True)[: max_files() + 1])
    for prefix in prefixes:
        if not prefix.strip("/"):
            raise BadRequest("Invalid prefix: an empty prefix would take every asset")
        ids.update(base.filter(public_id__startswith=prefix.lstrip("/")).values_list("pk", flat=True)[: max_files() + 1])
    if tags:
        ids.update(base.filter(tags__name__in=tags).values_list("pk", flat=True)[: max_files() + 1])
    return list(Asset.objects.filter(pk__in=ids).order_by("created_at", "pk"))


def _unique(name: str, seen: set[str]) -> str:
    stem, dot, ext = name.rpartition(".") if "." in name.rsplit("/", 1)[-1] else (name, "", "")
    candidate, n = name, 1
    while candidate in seen:
        candidate = f"{stem} ({n}){dot}{ext}"
        n += 1
    seen.add(candidate)
    return candidate


def plan(assets: list[Asset], transformations: list[tuple[str, str, str | None]], *, flatten: bool,
         skip_transformation_name: bool) -> list[Entry]:
    """The entries, checked against the limits.  `transformations`: (sent, text, fmt) as
    assets.tasks.check_eager gives them; none: the originals."""
    if not assets:
        raise BadRequest("No resources found for the archive")
    wanted = len(assets) * max(1, len(transformations))
    if wanted > max_files():
        raise BadRequest(f"Too many files for one archive: {wanted} (at most {max_files()})")
    if transformations and any(a.resource_type != "image" for a in assets):
        raise BadRequest("Transformations in an archive apply to images only")
    entries, seen, total = [], set(), 0
    for asset in assets:
        name = asset.public_id.rsplit("/", 1)[-1] if flatten else asset.public_id
        mtime = asset.created_at.timestamp()
        if not transformations:
            file_name = f"{name}.{asset.format}" if asset.format else name
            entries.append(Entry(_unique(file_name, seen), "default", asset.storage_name, asset.bytes, mtime))
        for sent, text, fmt in transformations:
            row = hook("eager").render(asset, text, fmt)
            stem = name if skip_transformation_name else f"{name}_{text.replace('/', '_')}"
            entries.append(Entry(_unique(f"{stem}.{row.format}", seen), "derived", row.storage_name, row.bytes,
                                 mtime))
        total = sum(e.size for e in entries)
        if total > max_bytes():
            raise BadRequest(f"The archive would hold more than {max_bytes() // 1024 ** 2} MB: ask for fewer files")
    return entries


class _Pipe(io.RawIOBase):
    """A write-only, unseekable file whose writes are taken out piece by piece."""

    def __init__(self):
        self.pieces: list[bytes] = []
        self.offset = 0

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        self.pieces.append(bytes(data))
        self.offset += len(data)
        return len(data)

    def tell(self) -> int:
        return self.offset

    def take(self) -> bytes:
        data, self.pieces = b"".join(self.pieces), []
        return data


def stream(entries: list[Entry], target_format: str = "zip"):
    """The archive's bytes in pieces."""
    pipe = _Pipe()
    if target_format == "tgz":
        with tarfile.open(fileobj=pipe, mode="w|gz") as archive:
            for entry in entries:
                info = tarfile.TarInfo(entry.name)
                info.size, info.mtime = entry.size, int(entry.mtime)
                with storages[entry.storage].open(entry.storage_name, "rb") as source:
                    archive.addfile(info, source)
                yield pipe.take()
        yield pipe.take()
        return
    with zipfile.ZipFile(pipe, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as archive:
        for entry in entries:
            info = zipfile.ZipInfo(entry.name, date_time=time.gmtime(max(entry.mtime, 315532800))[:6])
            with storages[entry.storage].open(entry.storage_name, "rb") as source, \
                    archive.open(info, "w", force_zip64=True) as out:
                for block in iter(lambda: source.read(CHUNK), b""):
                    out.write(block)
                    yield pipe.take()
    yield pipe.take()  # the central directory, written when the archive closes
