"""The pixels of ``e_dropshadow``: a shadow cast on the ground by a cut-out object, from its alpha.

The model: the object stands on the ground at the bottom of its alpha (the lowest opaque
row) and the ground recedes into the picture (up in the image is further away).  The light
has an azimuth, measured clockwise seen from above with 0 (= 360) directly behind the object
(ImageKit's convention), 90 to its right, 180 in front (the viewer's side), 270 to its left;
and an elevation above the ground.  The shadow falls away from the light: at azimuth 0 it
comes towards the viewer (down in the image), at 90 it falls to the left, at 180 behind the
object (up), at 270 to the right; the default 215 (light front-left) casts it behind and to
the right.  Each point of the silhouette at height h above the ground lands h / tan(elevation)
further along that direction, the depth component foreshortened by `DEPTH` (an affine
shear of the alpha), so a lower elevation gives a longer shadow; it also blurs more and
fades with distance from the object (a penumbra), and a lower light gives a lighter one.
`spread` (0..100) sets the blur.  A soft contact shadow darkens the ground where the object
meets it.  The canvas keeps its size (what falls outside it is cut), the object is drawn
over the shadow and the rest stays transparent.

Everything is libvips (gaussblur, affine, composite) on the alpha band, the shadow computed
where the object is at most `WORK_SIZE` pixels tall: ~0.1 s at 2 MP.
"""

from __future__ import annotations

import math

import numpy as np
import pyvips

from transforms.ops.effectlib import fit, gaussblur, merge

DEPTH = 0.5  # how much a shadow's depth (towards or away from the viewer) is foreshortened on screen
MIN_DEPTH = 0.2  # a side light still casts a shadow with some depth (objects have thickness)
MAX_LENGTH = 3.0  # the shadow's length in object heights (1 / tan(elevation), a grazing light bounded)
OPACITY = 0.7  # of the shadow next to the object, light overhead
CONTACT_OPACITY = 0.6
WORK_SIZE = 400  # the object's height in pixels the shadow is computed at (at most)


def silhouette_box(alpha: pyvips.Image) -> tuple[int, int, int, int] | None:
    """(left, top, right, bottom) of the pixels at least half opaque (right/bottom
    exclusive), or None when there are none."""
    columns, rows = (alpha > 127).project()
    cols = np.asarray(columns.numpy()).reshape(-1)
    rws = np.asarray(rows.numpy()).reshape(-1)
    xs, ys = np.flatnonzero(cols), np.flatnonzero(rws)
    if not len(xs) or not len(ys):
        return None
    return int(xs[0]), int(ys[0]), int(xs[-1]) + 1, int(ys[-1]) + 1


def direction(azimuth: float) -> tuple[float, float]:
    """The unit vector (x right, y down the image) along which the shadow falls."""
    rad = math.radians(azimuth)
    return -math.sin(rad), math.cos(rad)


def cast(image: pyvips.Image, azimuth: int, elevation: int, spread: int) -> pyvips.Image:
    """`image` (sRGB uchar with alpha) over its shadow; same size, RGBA."""
    width, height = image.width, image.height
    alpha = image.extract_band(3)
    box = silhouette_box(alpha)
    if box is None:
        return image
    # The shadow is soft: it is computed where the object is at most WORK_SIZE pixels tall
    # and enlarged back, so its cost does not grow with the photo.
    factor = min(1.0, WORK_SIZE / max(box[3] - box[1], 1))
    small = alpha.resize(factor, kernel="linear") if factor < 1 else alpha
    sy = small.height / height
    shadow = _shadow(small, box[1] * sy, box[3] * sy, azimuth, elevation, spread)
    if factor < 1:
        shadow = fit(shadow.resize(width / small.width, vscale=height / small.height, kernel="linear"), width, height)
    shadow_alpha = (shadow * 255 + 0.5).cast("uchar")
    layer = pyvips.Image.black(width, height, bands=3).bandjoin(shadow_alpha).copy(interpretation="srgb")
    out = layer.composite2(image, "over")
    return merge(out.extract_band(0, n=3), out.extract_band(3))


def _shadow(alpha: pyvips.Image, top: float, bottom: float, azimuth: int, elevation: int,
            spread: int) -> pyvips.Image:
    """The shadow's opacity (float 0..1, the size of `alpha`) for a silhouette from row
    `top` to row `bottom` (exclusive)."""
    width, height = alpha.width, alpha.height
    ground = bottom - 0.5  # the object's lowest pixel centre touches the ground
    size = max(bottom - top, 1.0)  # the object's height: the scale of everything below
    length = min(MAX_LENGTH, 1 / math.tan(math.radians(max(elevation, 1))))
    dx, dy = direction(azimuth)
    shear = dx * length  # x shift per unit of height
    depth = dy * length * DEPTH
    if abs(depth) < MIN_DEPTH:
        depth = math.copysign(MIN_DEPTH, depth) if depth else MIN_DEPTH
    # A silhouette point (x, y) at height h = ground - y lands at (x + shear h, ground + depth h):
    # x' = x - shear y + shear ground, y' = -depth y + (1 + depth) ground.
    mask = alpha.cast("float") / 255
    projected = mask.affine([1, -shear, 0, -depth], odx=shear * ground, ody=(1 + depth) * ground,
                            oarea=[0, 0, width, height], interpolate=pyvips.Interpolate.new("bilinear"),
                            extend="black")
    # Penumbra: sharper near the object, blurrier and lighter where it is far (t = h / size).
    sigma_near = size * (0.004 + 0.03 * spread / 100)
    sigma_far = sigma_near * (1 + 1.5 * length) + size * 0.01 * length
    rows = pyvips.Image.xyz(width, height)[1].cast("float")
    t = ((rows - ground) / (depth * size))
    t = (t < 0).ifthenelse(0, (t > 1).ifthenelse(1, t))
    near, far = gaussblur(projected, sigma_near), gaussblur(projected, sigma_far)
    strength = OPACITY * (0.55 + 0.45 * math.sin(math.radians(elevation)))
    shadow = (near * (1 - t) + far * t) * (1 - 0.6 * t) * strength
    shadow = (shadow > 1).ifthenelse(1, shadow)
    # Contact: the bottom few percent of the silhouette, pressed onto the ground and blurred.
    band = max(2.0, size * 0.08)
    foot = ((rows >= bottom - band) & (rows < bottom)).ifthenelse(mask, 0).cast("float")
    contact = gaussblur(foot, max(1.0, size * 0.025)) * (CONTACT_OPACITY * 3.0)
    contact = (contact > CONTACT_OPACITY).ifthenelse(CONTACT_OPACITY, contact)
    return (shadow + contact - shadow * contact).copy_memory()
