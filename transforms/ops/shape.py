"""Shape and frame: rounded corners (``r_``), borders (``bo_``), rotation and flips
(``a_``), opacity (``o_``) and flattening onto a background (``b_``).

Every function takes and returns sRGB uchar images (3 bands, or 4 with alpha);
rounding, arbitrary rotation and opacity add an alpha band, which the encoder
flattens onto white for formats without transparency.
"""

from __future__ import annotations

import math

import pyvips

from .resize import colour_for, with_alpha


def _rounded_path(w: float, h: float, corners) -> str:
    tl, tr, br, bl = corners
    return (f"M{tl},0 H{w - tr} A{tr},{tr} 0 0 1 {w},{tr} V{h - br} A{br},{br} 0 0 1 {w - br},{h} "
            f"H{bl} A{bl},{bl} 0 0 1 0,{h - bl} V{tl} A{tl},{tl} 0 0 1 {tl},0 Z")


def mask(width: int, height: int, corners) -> pyvips.Image:
    """A one-band uchar mask: 255 inside the rounded rectangle (an ellipse for ``max``)."""
    if corners is None:
        shape = f'<ellipse cx="{width / 2}" cy="{height / 2}" rx="{width / 2}" ry="{height / 2}" fill="#fff"/>'
    else:
        limit = min(width, height) / 2
        clamped = tuple(max(0.0, min(float(c), limit)) for c in corners)
        shape = f'<path d="{_rounded_path(width, height, clamped)}" fill="#fff"/>'
    svg = (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}">{shape}</svg>')
    return pyvips.Image.svgload_buffer(svg.encode())[3]


def round_corners(image: pyvips.Image, corners) -> pyvips.Image:
    """`corners`: (top-left, top-right, bottom-right, bottom-left) in pixels, or None for max."""
    if corners is not None and not any(corners):
        return image
    shape = mask(image.width, image.height, corners)
    image = with_alpha(image)
    alpha = (image[image.bands - 1] * shape / 255).cast("uchar")
    return image[0:image.bands - 1].bandjoin(alpha)


def border(image: pyvips.Image, width: int, rgba, corners=False) -> pyvips.Image:
    """A `width`-pixel frame; with rounded `corners` (None = max) the frame follows them."""
    w, h = image.width + 2 * width, image.height + 2 * width
    if corners is False or (corners is not None and not any(corners)):
        if rgba[3] < 255:
            image = with_alpha(image)
        return image.embed(width, width, w, h, extend="background", background=colour_for(image, rgba))
    outer = None if corners is None else tuple(c + width for c in corners)
    frame = pyvips.Image.black(w, h).new_from_image(list(rgba)).copy(interpretation="srgb").cast("uchar")
    frame = round_corners(frame[0:3], outer) if rgba[3] == 255 else _scaled_alpha(frame, mask(w, h, outer))
    return frame.composite2(with_alpha(image), "over", x=width, y=width).cast("uchar")


def _scaled_alpha(frame: pyvips.Image, shape: pyvips.Image) -> pyvips.Image:
    return frame[0:3].bandjoin((frame[3] * shape / 255).cast("uchar"))


def rotate(image: pyvips.Image, degrees: float) -> pyvips.Image:
    """Clockwise; right angles are exact, others grow the canvas with transparent corners."""
    turn = degrees % 360
    if turn == 0:
        return image
    if turn in (90, 180, 270):
        return {90: image.rot90, 180: image.rot180, 270: image.rot270}[turn]()
    image = with_alpha(image).premultiply()
    radians = math.radians(turn)
    cos, sin = math.cos(radians), math.sin(radians)
    rotated = image.affine([cos, -sin, sin, cos], interpolate=pyvips.Interpolate.new("bicubic"),
                           background=[0] * image.bands, extend="background")
    return rotated.unpremultiply().cast("uchar")


def flip(image: pyvips.Image, word: str) -> pyvips.Image:
    return image.fliphor() if word == "hflip" else image.flipver()


def opacity(image: pyvips.Image, percent: float) -> pyvips.Image:
    if percent >= 100:
        return image
    image = with_alpha(image)
    alpha = (image[image.bands - 1] * (max(percent, 0) / 100.0)).cast("uchar")
    return image[0:image.bands - 1].bandjoin(alpha)


def flatten(image: pyvips.Image, rgba) -> pyvips.Image:
    """Transparent areas onto an opaque colour; a transparent colour keeps the alpha."""
    if not image.hasalpha() or rgba[3] < 255:
        return image
    return image.flatten(background=colour_for(image, rgba)[: image.bands - 1]).cast("uchar")
