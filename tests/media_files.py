"""Small non-image files for tests: a minimal MP4 (ftyp + moov with mvhd/tkhd + mdat) whose
header says its size and duration (no frames: for sniffing and delivery), and a real,
playable VP8 WebM encoded by OpenCV's FFmpeg (opencv is in the venv; there is no ffmpeg
binary on the machine)."""

from __future__ import annotations

import struct
import tempfile
from pathlib import Path


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


def make_webm(width: int = 160, height: int = 90, frames: int = 20, fps: int = 10) -> bytes:
    """A real VP8 WebM a browser plays: a colour ramp over ``frames`` frames."""
    import cv2  # heavy: only the tests that make a video import it
    import numpy as np

    with tempfile.TemporaryDirectory() as folder:
        path = str(Path(folder) / "clip.webm")
        writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*"VP80"), fps, (width, height))
        assert writer.isOpened(), "OpenCV cannot write VP8 WebM here"
        for index in range(frames):
            frame = np.zeros((height, width, 3), np.uint8)
            frame[:, :, 2] = 40 + index * 10
            frame[:, : width // 2, 1] = 200
            writer.write(frame)
        writer.release()
        return Path(path).read_bytes()
