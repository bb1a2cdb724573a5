"""Downloads from the Studio: one asset through a delivery URL, several as a streamed zip.

One asset: ``download_path`` builds a delivery URL with ``fl_attachment`` (so the delivery
answers with ``Content-Disposition: attachment``) for the original or for a chosen format,
width (``c_limit``: never enlarged) and quality; signed when the asset is private or the URL
is transformed, as the Studio's other URLs (studio.links). ``DownloadOptions.from_query``
checks the choice and raises BadRequest with a readable message.

Several assets: ``zip_stream`` yields a zip of their stored originals piece by piece (never the
whole archive in memory); ``check_zip`` refuses more than MAX_ZIP_ASSETS assets,
MAX_ZIP_BYTES bytes of originals or an original missing from storage before anything is sent.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core.files.storage import storages

from assets import archive
from core.errors import BadRequest

from . import links

FORMATS = ("jpg", "png", "webp", "avif")
MAX_WIDTH = 10_000
MAX_ZIP_ASSETS = 200
MAX_ZIP_BYTES = 2 * 1024 ** 3


@dataclass(frozen=True)
class DownloadOptions:
    format: str = ""  # "": the original's
    width: int | None = None
    quality: int | None = None

    @classmethod
    def from_query(cls, get) -> "DownloadOptions":
        fmt = get.get("format", "").strip().lower()
        if fmt in ("original", "jpeg"):
            fmt = "" if fmt == "original" else "jpg"
        if fmt and fmt not in FORMATS:
            raise BadRequest(f"Unknown download format {fmt!r}: choose the original or one of {', '.join(FORMATS)}.")
        return cls(fmt, _number(get, "width", 1, MAX_WIDTH), _number(get, "quality", 1, 100))

    @property
    def original(self) -> bool:
        return not (self.format or self.width or self.quality)


def _number(get, name: str, low: int, high: int) -> int | None:
    text = get.get(name, "").strip()
    if not text:
        return None
    if not text.isdigit() or not low <= int(text) <= high:
        raise BadRequest(f"The download {name} must be a whole number from {low} to {high}, not {text!r}.")
    return int(text)


def download_path(asset, options: DownloadOptions) -> str:
    """The delivery path that downloads ``asset`` as ``options`` say (fl_attachment)."""
    if asset.resource_type != "image":  # a raw or video file: its original, as stored (no transformation)
        return links.path(asset)
    params = []
    if options.width:
        params.append(f"c_limit,w_{options.width}")
    if options.quality:
        params.append(f"q_{options.quality}")
    params.append("fl_attachment")
    return links.path(asset, "/".join(params), fmt=options.format)


# --- zip of originals ----------------------------------------------------------------------


def check_zip(assets: list, selected: int) -> None:
    """``selected``: how many were asked for (the lookup stops after MAX_ZIP_ASSETS + 1)."""
    if not selected:
        raise BadRequest("Select at least one asset to download.")
    if selected > MAX_ZIP_ASSETS:
        raise BadRequest(f"Download at most {MAX_ZIP_ASSETS} assets at a time as a zip.")
    if not assets:
        raise BadRequest("None of the selected assets exists any more.")
    total = sum(a.bytes for a in assets)
    if total > MAX_ZIP_BYTES:
        raise BadRequest(f"The selected originals add up to {total / 1024 ** 2:.0f} MB: a zip holds at most "
                         f"{MAX_ZIP_BYTES // 1024 ** 2} MB. Select fewer assets.")
    storage = storages["default"]
    missing = [a.public_id for a in assets if not storage.exists(a.storage_name)]
    if missing:  # found now, not as a truncated archive half-way through the stream
        raise BadRequest(f"The original of {', '.join(missing[:5])}{' and more' if len(missing) > 5 else ''} "
                         "is missing from storage: leave it out of the selection.")


def entry_names(assets: list) -> list[str]:
    """``public_id.format`` for each (folders become the zip's folders); a name met twice
    (the same public_id as upload and private) gets its type added."""
    names, seen = [], set()
    for asset in assets:
        name = f"{asset.public_id}.{asset.format}" if asset.format else asset.public_id  # raw: ext in the id
        if name in seen:
            name = f"{asset.public_id} ({asset.type}).{asset.format}"
        seen.add(name)
        names.append(name)
    return names


def zip_stream(assets: list):
    """The zip's bytes in pieces: each original stored (not recompressed: images are compressed),
    written by the Upload API's archive writer (assets.archive)."""
    entries = [archive.Entry(name, "default", asset.storage_name, asset.bytes, asset.created_at.timestamp())
               for asset, name in zip(assets, entry_names(assets))]
    return archive.stream(entries, "zip")
