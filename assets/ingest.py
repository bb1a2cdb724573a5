"""Ingest: bytes in, a consistent asset version out.

Order of work, so that bad input leaves nothing behind:
1. bring the source to a local temporary file (upload, data URI or remote URL), under
   the size limit;
2. read the header (format, size, orientation) and enforce the pixel limit, then
   decode at a reduced size to reject truncated or corrupt data;
3. hash it (MD5 for the etag, SHA-256 for the content hash) in one pass;
4. store it in the ``default`` storage under a name unique to this upload;
5. in one transaction, create or replace the asset row and record the version;
   if that fails the stored file is removed; files made obsolete are removed only
   after the commit.

Two uploads racing for one public_id each store their own file and each end as a
version; the later commit is the current one, the other is in the version list.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import logging
import os
import re
import secrets
import string
import tempfile
import time
import unicodedata
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from django.conf import settings
from django.core.files import File
from django.core.files.storage import storages
from django.db import IntegrityError, transaction

from core.errors import BadRequest

from . import fileinfo, metadata, signals, tempfiles
from .models import Asset, AssetTag, AssetVersion, Folder, new_hex_id
from .remote import fetch_to_tempfile

log = logging.getLogger(__name__)

_DATA_URI = re.compile(r"^data:([\w.+/-]*)(;[\w-]+=[\w.+-]+)*;base64,", re.IGNORECASE)
_RANDOM_ALPHABET = string.ascii_lowercase + string.digits
MAX_PUBLIC_ID = 255


@dataclass
class Incoming:
    """A source file on local disk; `close()` removes what we created."""

    path: str
    size: int
    filename: str = ""
    _owned: object = None

    def close(self) -> None:
        if self._owned is not None:
            try:
                self._owned.close()
            except OSError:
                pass
            self._owned = None


class RemoveOnClose:
    """Owns a file we assembled (a chunked upload): closing removes it."""

    def __init__(self, path) -> None:
        self.path = path

    def close(self) -> None:
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass


def _spool(chunks, limit: int) -> tuple[tempfile._TemporaryFileWrapper, int]:
    out = tempfiles.named("source", ".bin")
    size = 0
    for chunk in chunks:
        size += len(chunk)
        if size > limit:
            out.close()
            raise BadRequest(f"File size too large. Got {size}. Maximum is {limit}.")
        out.write(chunk)
    out.flush()
    return out, size


def open_source(file_value, uploaded=None) -> Incoming:
    """`uploaded` is a Django UploadedFile; `file_value` a URL, data URI or None."""
    limit = settings.DAM_MAX_UPLOAD_BYTES
    if uploaded is not None:
        if uploaded.size > limit:
            raise BadRequest(f"File size too large. Got {uploaded.size}. Maximum is {limit}.")
        name = uploaded.name or ""
        if hasattr(uploaded, "temporary_file_path"):
            return Incoming(uploaded.temporary_file_path(), uploaded.size, name)
        out, size = _spool(uploaded.chunks(), limit)
        return Incoming(out.name, size, name, out)
    if not file_value:
        raise BadRequest("Missing required parameter - file")
    text = str(file_value).strip()
    match = _DATA_URI.match(text)
    if match:
        try:
            data = base64.b64decode(text[match.end():], validate=False)
        except (binascii.Error, ValueError):
            raise BadRequest("Invalid data URI: malformed base64") from None
        out, size = _spool([data], limit)
        return Incoming(out.name, size, "", out)
    if text.startswith(("http://", "https://")):
        out, size, name = fetch_to_tempfile(text)
        return Incoming(out.name, size, name, out)
    raise BadRequest("Invalid file parameter: expected an upload, an http(s) URL or a data URI")


# --- public ids -------------------------------------------------------------------


def validate_public_id(public_id: str) -> str:
    if not public_id or len(public_id) > MAX_PUBLIC_ID:
        raise BadRequest(f"Invalid public_id {public_id!r}: must be 1 to {MAX_PUBLIC_ID} characters")
    if any(unicodedata.category(ch) in ("Cc", "Cf") for ch in public_id):
        raise BadRequest(f"Invalid public_id {public_id!r}: control characters are not allowed")
    segments = public_id.split("/")
    if any(seg in ("", ".", "..") for seg in segments) or "\\" in public_id:
        raise BadRequest(f"Invalid public_id {public_id!r}: empty, '.' or '..' path segments are not allowed")
    if any(ch in public_id for ch in "?#&%<>\"'"):
        raise BadRequest(f"Invalid public_id {public_id!r}: characters ? # & % < > \" ' are not allowed")
    return public_id


def validate_folder(folder: str) -> str:
    folder = (folder or "").strip().strip("/")
    if folder:
        validate_public_id(folder)
    return folder


def _random_id(length: int) -> str:
    return "".join(secrets.choice(_RANDOM_ALPHABET) for _ in range(length))


def _clean_filename(stem: str) -> str:
    stem = unicodedata.normalize("NFC", stem).strip()
    stem = re.sub(r"[\s]+", "_", stem)
    stem = re.sub(r"[?#&%<>\"'\\/\x00-\x1f]", "", stem)
    return stem.strip(".") or _random_id(8)


def choose_public_id(*, public_id: str | None, folder: str, filename: str, use_filename: bool,
                     unique_filename: bool) -> str:
    folder = validate_folder(folder)
    if public_id:
        chosen = str(public_id).strip()
    elif use_filename and filename:
        chosen = _clean_filename(PurePosixPath(filename).stem)
        if unique_filename:
            chosen = f"{chosen}_{_random_id(6)}"
    else:
        chosen = _random_id(20)
    if folder and not chosen.startswith(folder + "/"):
        chosen = f"{folder}/{chosen}"
    return validate_public_id(chosen)


def raw_suffix(filename: str) -> str:
    """``.ext`` of a filename, for a raw file's chosen public_id (Cloudinary keeps the
    extension in a raw public_id); "" when it has none or an odd one."""
    stem, dot, ext = PurePosixPath(filename or "").name.rpartition(".")
    return f".{ext.lower()}" if dot and stem and re.fullmatch(r"[A-Za-z0-9]{1,12}", ext) else ""


# --- storing ----------------------------------------------------------------------


@dataclass
class Prepared:
    info: fileinfo.FileInfo
    size: int
    md5: str
    sha256: str
    version_id: str
    storage_name: str


def prepare(incoming: Incoming, resource_type: str = "image") -> Prepared:
    """`resource_type`: image, video, raw or auto (assets.fileinfo decides which it is)."""
    info = fileinfo.classify(incoming.path, resource_type, os.path.getsize(incoming.path))
    md5, sha = hashlib.md5(usedforsecurity=False), hashlib.sha256()
    with open(incoming.path, "rb") as fh:
        for block in iter(lambda: fh.read(1024 * 1024), b""):
            md5.update(block)
            sha.update(block)
    version_id = new_hex_id()
    storage_name = f"{version_id[:2]}/{version_id}.{info.format or 'bin'}"
    with open(incoming.path, "rb") as fh:
        stored = storages["default"].save(storage_name, File(fh, name=storage_name))
    return Prepared(info, os.path.getsize(incoming.path), md5.hexdigest(), sha.hexdigest(), version_id, stored)


def discard_file(name: str, alias: str = "default") -> None:
    if not name:
        return
    try:
        storages[alias].delete(name)
    except Exception:  # a file that cannot be removed is logged, never fatal
        log.warning("could not delete %s from %s storage", name, alias, exc_info=True)


def ensure_folders(path: str) -> None:
    if not path:
        return
    parts = path.split("/")
    for i in range(1, len(parts) + 1):
        prefix = "/".join(parts[:i])
        if not Folder.objects.filter(path=prefix).exists():
            try:
                with transaction.atomic():
                    Folder.objects.create(path=prefix)
            except IntegrityError:
                pass


def set_tags(asset: Asset, tags: list[str], *, announce: bool = True) -> None:
    """Give `asset` exactly `tags` (400 past the limits of assets.metadata; callers hold a
    transaction, so a refusal changes nothing).  `announce`: send asset_metadata_changed
    when they changed (not for a version being stored: its renderings go anyway)."""
    tags = metadata.check_tags(tags)
    removed, _ = AssetTag.objects.filter(asset=asset).exclude(name__in=tags).delete()
    have = set(AssetTag.objects.filter(asset=asset).values_list("name", flat=True))
    added = AssetTag.objects.bulk_create([AssetTag(asset=asset, name=t) for t in dict.fromkeys(tags) if t not in have])
    if announce and (removed or added):
        signals.asset_metadata_changed.send(Asset, asset=asset, fields=("tags",))


def next_version(previous: int | None) -> int:
    now = int(time.time())
    return now if previous is None or now > previous else previous + 1


@dataclass
class StoreResult:
    asset: Asset
    existing: bool = False
    replaced: bool = False
    stale_files: list[str] = field(default_factory=list)


def _apply(asset: Asset, prepared: Prepared, filename: str) -> None:
    asset.resource_type = prepared.info.resource_type
    asset.format = prepared.info.format
    asset.width = prepared.info.width
    asset.height = prepared.info.height
    asset.bytes = prepared.size
    asset.etag = prepared.md5
    asset.content_hash = prepared.sha256
    asset.version_id = prepared.version_id
    asset.storage_name = prepared.storage_name
    asset.original_filename = filename


def store(*, incoming: Incoming, public_id: str, type: str = "upload", overwrite: bool = True,
          backup: bool = False, tags: list[str] | None = None, context: dict | None = None,
          original_filename: str = "", extra: dict | None = None, within=None,
          resource_type: str = "image", suffix_if_raw: str = "") -> StoreResult:
    """Create or replace `public_id` with the file in `incoming`. See the module docstring.

    `within(asset)`, when given, runs inside the transaction that stores the version, once
    the asset's row holds it (its id, width and height): what it writes commits with the
    version, and what it raises (e.g. a 400 for a box outside the image) leaves nothing
    stored. Not called when an existing asset is kept (``overwrite=False``).

    `resource_type` (image, video, raw, auto) is what the file must be (auto: what it is,
    assets.fileinfo); the asset's identity is (resource_type, type, public_id).
    `suffix_if_raw` is added to a chosen public_id when ``auto`` finds a raw file."""
    if type not in ("upload", "private", "authenticated"):
        raise BadRequest(f"Invalid type {type!r}: must be upload, private or authenticated")
    prepared = prepare(incoming, resource_type)
    try:
        if suffix_if_raw and prepared.info.resource_type == "raw":
            public_id = validate_public_id(public_id + suffix_if_raw)
        for attempt in range(3):
            try:
                result = _commit(prepared, public_id=public_id, type=type, overwrite=overwrite, backup=backup,
                                 tags=tags, context=context, original_filename=original_filename, extra=extra,
                                 within=within)
                break
            except IntegrityError:
                # Another upload created this public_id between our read and our insert: go again,
                # this time as an overwrite of the row it made.
                if attempt == 2:
                    raise
    except BaseException:
        discard_file(prepared.storage_name)
        raise
    if result.existing:
        discard_file(prepared.storage_name)
    return result


def _commit(prepared: Prepared, *, public_id, type, overwrite, backup, tags, context, original_filename,
            extra, within=None) -> StoreResult:
    stale: list[str] = []
    with transaction.atomic():
        resource_type = prepared.info.resource_type
        asset = Asset.objects.select_for_update().filter(
            resource_type=resource_type, type=type, public_id=public_id).first()
        if asset is not None and not overwrite:
            return StoreResult(asset, existing=True)
        replaced = asset is not None
        if asset is None:
            asset = Asset(resource_type=resource_type, type=type, public_id=public_id,
                          folder=public_id.rpartition("/")[0])
            asset.version = next_version(None)
        else:
            current = AssetVersion.objects.filter(version_id=asset.version_id).first()
            keep = backup or (current is not None and current.backed_up)
            if current is not None:
                if keep:
                    current.backed_up = True
                else:
                    stale.append(current.storage_name)
                    current.storage_name = ""
                current.save(update_fields=["backed_up", "storage_name"])
            elif not keep:
                stale.append(asset.storage_name)
            asset.version = next_version(asset.version)
            asset.face_coordinates = None  # focus areas belong to a version (assets.focus)
            asset.custom_coordinates = None
            asset.regions = None
            asset.face_count = 0
            asset.faces_version = ""
            asset.info = {}
        _apply(asset, prepared, original_filename)
        asset.context = context or {}
        if prepared.info.duration is not None:
            asset.info = {**asset.info, "duration": prepared.info.duration}
        for key, value in (extra or {}).items():
            setattr(asset, key, value)
        asset.save()
        AssetVersion.objects.create(
            asset=asset, version=asset.version, version_id=prepared.version_id, format=prepared.info.format,
            width=prepared.info.width, height=prepared.info.height, bytes=prepared.size, etag=prepared.md5,
            content_hash=prepared.sha256, storage_name=prepared.storage_name, backed_up=backup,
        )
        set_tags(asset, tags or [], announce=False)
        ensure_folders(asset.folder)
        if within is not None:
            within(asset)
        transaction.on_commit(lambda: [discard_file(n) for n in stale])
        if replaced:
            transaction.on_commit(lambda: signals.asset_replaced.send(Asset, asset=asset))
        transaction.on_commit(lambda: signals.asset_stored.send(Asset, asset=asset, replaced=replaced))
    return StoreResult(asset, replaced=replaced, stale_files=stale)


def incoming_from_storage(name: str) -> Incoming:
    """A local temporary copy of a stored original (restoring a backup, re-processing)."""
    with storages["default"].open(name, "rb") as fh:
        out, size = _spool(iter(lambda: fh.read(1024 * 1024), b""), 1 << 62)
    return Incoming(out.name, size, "", out)
