"""Small non-image files for tests: a minimal MP4 (ftyp + moov with mvhd/tkhd + mdat) whose
header says its size and duration; no encoder runs (the machine has none)."""

from __future__ import annotations

import struct


def box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I4s", 8 + len(payload), kind) + payload


def make_mp4(width: int = 320, height: int = 240, duration_ms: int = 2000, brand: bytes = b"isom") -> bytes:
    ftyp = box(b"ftyp", brand + struct.pack(">I", 512) + brand + b"mp41")
    mvhd = box(b"mvhd", struct.pack(">IIIII", 0, 0, 0, 1000, duration_ms) + b"\0" * 80)
    matrix = struct.pack(">9I", 0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x40000000)
    tkhd = box(b"tkhd", struct.pack(">IIIIII", 7, 0, 0, 1, 0, duration_ms) + b"\0" * 8
               + struct.pack(">hhhh", 0, 0, 0, 0) + matrix + struct.pack(">II", width << 16, height << 16))
    moov = box(b"moov", mvhd + box(b"trak", tkhd))
    return ftyp + moov + box(b"mdat", b"\0" * 64)
