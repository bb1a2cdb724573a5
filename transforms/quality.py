"""``q_auto``: the lowest encoder quality whose result still looks like the image.

"Looks like" is measured, not guessed: the most detailed tiles of the image (up to
four 128x128 tiles, where compression artefacts show first) are encoded at candidate
qualities and compared with the originals by SSIM on luminance; a binary search finds
the smallest quality reaching the level's target.  ``Save-Data: on`` turns
``q_auto`` (good) into eco (transforms.plan).  Lossless formats ignore quality.
"""

from __future__ import annotations

import pyvips

TARGETS = {"best": 0.993, "good": 0.985, "eco": 0.975, "low": 0.96}  # mean SSIM on the sample
RANGES = {"jpg": (30, 95), "webp": (30, 95), "avif": (20, 85)}
TILE = 128


def _luma(image: pyvips.Image) -> pyvips.Image:
    if image.hasalpha():
        image = image.flatten(background=[255] * (image.bands - 1))
    if image.bands >= 3:
        image = image[0:3].colourspace("b-w")
    return image[0].cast("float")


def ssim(a: pyvips.Image, b: pyvips.Image) -> float:
    """Mean structural similarity of two same-sized images (luminance, Gaussian window)."""
    x, y = _luma(a), _luma(b)
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    blur = lambda im: im.gaussblur(1.5, precision="float")  # noqa: E731
    mx, my = blur(x), blur(y)
    sxx, syy, sxy = blur(x * x) - mx * mx, blur(y * y) - my * my, blur(x * y) - mx * my
    index = ((mx * my * 2 + c1) * (sxy * 2 + c2)) / ((mx * mx + my * my + c1) * (sxx + syy + c2))
    return float(index.avg())


def sample(image: pyvips.Image) -> pyvips.Image:
    """Up to four of the most detailed TILE x TILE tiles, joined; small images whole."""
    if image.width <= 2 * TILE and image.height <= 2 * TILE:
        return image
    luma = _luma(image)
    across, down = max(1, image.width // TILE), max(1, image.height // TILE)
    step_x, step_y = (image.width - TILE) / max(across - 1, 1), (image.height - TILE) / max(down - 1, 1)
    tiles = []
    for j in range(down):
        for i in range(across):
            x, y = int(i * step_x), int(j * step_y)
            w, h = min(TILE, image.width - x), min(TILE, image.height - y)
            tiles.append((luma.crop(x, y, w, h).deviate(), x, y, w, h))
    tiles.sort(key=lambda t: -t[0])
    chosen = [image.crop(x, y, w, h) for _, x, y, w, h in tiles[:4] if (w, h) == (TILE, TILE)]
    if not chosen:
        return image.crop(0, 0, min(image.width, 2 * TILE), min(image.height, 2 * TILE))
    return pyvips.Image.arrayjoin(chosen, across=2)


def _encode(image: pyvips.Image, fmt: str, q: int) -> bytes:
    if fmt == "jpg":
        return image.jpegsave_buffer(Q=q, optimize_coding=False, keep=0)
    if fmt == "webp":
        return image.webpsave_buffer(Q=q, effort=2, keep=0)
    return image.heifsave_buffer(Q=q, effort=0, compression="av1", keep=0)


def choose(image: pyvips.Image, fmt: str, level: str) -> int | None:
    """The quality for `image` (already prepared for `fmt`) at `level`; None when `fmt`
    has no quality to choose."""
    if fmt not in RANGES:
        return None
    target = TARGETS[level]
    tiles = sample(image).copy_memory()
    if tiles.hasalpha() and fmt == "jpg":
        tiles = tiles.flatten(background=[255] * (tiles.bands - 1))
    low, high = RANGES[fmt]
    best = high
    while low <= high:
        q = (low + high) // 2
        decoded = pyvips.Image.new_from_buffer(_encode(tiles, fmt, q), "")
        if decoded.bands != tiles.bands:
            decoded = decoded[0:tiles.bands] if decoded.bands > tiles.bands else decoded
        if ssim(tiles, decoded) >= target:
            best, high = q, q - 1
        else:
            low = q + 1
    return best
