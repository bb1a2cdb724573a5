"""Images and helpers for the background-removal tests (the AI cut-out, its eager
rendering and the refiner): a generated scene with an obvious subject, the regions where
subject and background must be, the RGBA pixels of a response, and polling an
on-the-fly URL through its 423s until the worker has computed the cut-out."""

from __future__ import annotations

import time

import numpy as np
import pyvips


def scene(width: int = 320, height: int = 240) -> np.ndarray:
    """A textured red disc on a plain, slightly graded light background."""
    yy, xx = np.mgrid[0:height, 0:width]
    image = np.zeros((height, width, 3), np.float32)
    image[...] = (200, 210, 225)
    image += (yy / height * 30)[..., None]
    radius = min(width, height) * 0.3
    disc = ((xx - width / 2) ** 2 + (yy - height / 2) ** 2) ** 0.5 < radius
    texture = np.random.default_rng(1).normal(0, 25, (height, width, 1)) + (np.sin(xx / 6) * 30)[..., None]
    image = np.where(disc[..., None], np.array([200, 40, 30], np.float32) + texture, image)
    return np.clip(image, 0, 255).astype(np.uint8)


def centre(a: np.ndarray) -> np.ndarray:
    h, w = a.shape[:2]
    return a[h * 2 // 5:h * 3 // 5, w * 2 // 5:w * 3 // 5]


def corners(a: np.ndarray) -> list[np.ndarray]:
    h, w = a.shape[:2]
    dy, dx = max(1, h // 10), max(1, w // 10)
    return [a[:dy, :dx], a[:dy, -dx:], a[-dy:, :dx], a[-dy:, -dx:]]


def rgba(response) -> np.ndarray:
    body = b"".join(response.streaming_content) if response.streaming else response.content
    return pyvips.Image.new_from_buffer(body, "").numpy()


def wait_for_200(client, url: str, log_path, timeout: float = 180.0):
    deadline = time.monotonic() + timeout
    while True:
        response = client.get(url)
        if response.status_code != 423 or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert response.status_code == 200, (response.status_code, response.content[:300],
                                         open(log_path).read()[-4000:])
    return response
