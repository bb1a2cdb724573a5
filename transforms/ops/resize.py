"""Applying a computed geometry to pixels, and the pixel facts geometry may need.

`apply` does what transforms.geometry decided: one crop, one resize (alpha
premultiplied so edges do not darken), one pad onto a canvas.  `salient_box` finds
the region ``g_auto`` keeps (edges and colourfulness on a small copy); `auto_background`
picks the colour of ``b_auto`` (the border's mean, or the predominant colour).
"""

from __future__ import annotations

import numpy as np
import pyvips

from ..geometry import Box, Geometry

WHITE = (255, 255, 255, 255)


def _resize(image: pyvips.Image, width: int, height: int) -> pyvips.Image:
    if (image.width, image.height) == (width, height):
        return image
    alpha = image.hasalpha()
    if alpha:
        image = image.premultiply()
    image = image.resize(width / image.width, vscale=height / image.height, kernel="lanczos3")
    if alpha:
        image = image.unpremultiply().cast("uchar")
    if (image.width, image.height) != (width, height):  # rounding inside libvips
        image = image.embed(0, 0, width, height, extend="copy")
    return image


def with_alpha(image: pyvips.Image) -> pyvips.Image:
    return image if image.hasalpha() else image.bandjoin(255)


def colour_for(image: pyvips.Image, rgba) -> list[float]:
    """`rgba` as a background for `image`'s bands."""
    r, g, b, a = rgba
    return [r, g, b, a][: image.bands] if image.bands >= 3 else [round((r + g + b) / 3), a][: image.bands]


def pad(image: pyvips.Image, width: int, height: int, left: int, top: int, rgba=WHITE) -> pyvips.Image:
    if rgba[3] < 255:
        image = with_alpha(image)
    return image.embed(left, top, width, height, extend="background", background=colour_for(image, rgba))


def apply(image: pyvips.Image, geometry: Geometry, background=WHITE) -> pyvips.Image:
    box = geometry.crop
    if box is not None and (box.x, box.y, box.w, box.h) != (0, 0, image.width, image.height):
        image = image.crop(box.x, box.y, min(box.w, image.width - box.x), min(box.h, image.height - box.y))
    image = _resize(image, geometry.width, geometry.height)
    canvas = geometry.canvas
    if canvas is not None and (canvas.width, canvas.height) != (image.width, image.height):
        image = pad(image, canvas.width, canvas.height, canvas.left, canvas.top, background)
    return image


def _small(image: pyvips.Image, side: int) -> tuple[np.ndarray, float]:
    """An RGB float array of `image` at most `side` pixels a side, and the scale back."""
    scale = max(image.width, image.height) / side
    small = image.resize(1 / scale) if scale > 1 else image
    if small.hasalpha():
        small = small.flatten(background=[255] * (small.bands - 1))
    if small.bands < 3:
        small = small.bandjoin([small, small])
    array = small[0:3].numpy().astype(np.float32)
    return array, max(scale, 1.0)


def salient_box(image: pyvips.Image) -> Box:
    """The region holding most of what catches the eye (edges and saturated colour)."""
    rgb, scale = _small(image, 128)
    grey = rgb.mean(axis=2)
    gy, gx = np.gradient(grey)
    edges = np.hypot(gx, gy)
    saturation = rgb.max(axis=2) - rgb.min(axis=2)
    saliency = edges / (edges.max() or 1) + 0.5 * saturation / (saturation.max() or 1)
    h, w = saliency.shape
    # Centre bias, as a viewer's eye has one.
    yy, xx = np.mgrid[0:h, 0:w]
    saliency *= 1.0 - 0.5 * (((xx - w / 2) / w) ** 2 + ((yy - h / 2) / h) ** 2)
    threshold = np.quantile(saliency, 0.85)
    ys, xs = np.nonzero(saliency >= threshold)
    if len(xs) == 0:
        return Box(0, 0, image.width, image.height)
    x0, x1 = np.quantile(xs, [0.05, 0.95])
    y0, y1 = np.quantile(ys, [0.05, 0.95])
    box = Box(int(x0 * scale), int(y0 * scale), max(1, int((x1 - x0 + 1) * scale)),
              max(1, int((y1 - y0 + 1) * scale)))
    return Box(box.x, box.y, min(box.w, image.width - box.x), min(box.h, image.height - box.y))


def auto_background(image: pyvips.Image, mode: str = "border") -> tuple[int, int, int, int]:
    rgb, _ = _small(image, 64)
    if mode == "predominant":
        quantised = (rgb // 32).astype(np.int32)
        codes = quantised[..., 0] * 64 + quantised[..., 1] * 8 + quantised[..., 2]
        top = np.bincount(codes.ravel()).argmax()
        colour = rgb[codes == top].mean(axis=0)
    else:
        edge = np.concatenate([rgb[0], rgb[-1], rgb[:, 0], rgb[:, -1]])
        colour = edge.mean(axis=0)
    r, g, b = (int(round(float(c))) for c in colour)
    return (r, g, b, 255)
