"""Reading a stored file with libvips: its local path when the storage has one, else a
custom source streaming it from the storage (S3 through django-storages) in bounded reads.

Used by transforms.originals (renders) and assets.imagemeta (the Metadata card).
"""

from __future__ import annotations

import os

import pyvips

READ_BLOCK = 256 * 1024  # bytes handed to libvips per read callback


def local_path(storage, name: str) -> str | None:
    """The file's path when ``storage`` keeps files on this machine and it exists, else None."""
    try:
        path = storage.path(name)
    except NotImplementedError:
        return None
    return path if os.path.exists(path) else None


def vips_source(fh) -> pyvips.SourceCustom:
    """A libvips source reading the open binary file ``fh`` at most READ_BLOCK bytes at a time
    (keep ``fh`` open and the source referenced while the image is used: an image does not
    keep its source's Python object alive, and libvips calls back into it)."""
    source = pyvips.SourceCustom()
    source.on_read(lambda size: fh.read(min(size, READ_BLOCK)))
    return source
