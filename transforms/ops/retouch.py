"""The pixels of ``e_retouch``: skin smoothing inside detected faces (ImageKit's e-retouch).

No model ships for it (MODELS.md), so the classical recipe: inside each face box, an
ellipse inscribed in the box intersected with a YCrCb skin mask (Cr 133..173, Cb 77..127),
feathered; in that mask an edge-preserving (bilateral) smoothing with 30 % of the fine
detail added back, so the skin keeps some texture and eyes, brows and lips (not skin
coloured) keep theirs.  The filter runs on a copy of the face reduced to at most
`WORK_SIDE` pixels (its result, the smooth base, is enlarged back): the cost is the same
for a small face and a face filling a 100 MP photo, and only that copy goes through numpy.
"""

from __future__ import annotations

import cv2
import numpy as np
import pyvips

from transforms.ops.effectlib import fit

WORK_SIDE = 384
DETAIL_KEPT = 0.3
MARGIN = 0.1  # of the box, read around it so the smoothing sees context (never written)


def _smooth_and_mask(small: np.ndarray, box) -> tuple[np.ndarray, np.ndarray]:
    """(bilateral-smoothed copy, feathered skin-in-ellipse mask 0..1) of an RGB uint8 crop
    holding the face box `box` = (x, y, w, h) in its pixels."""
    height, width = small.shape[:2]
    bx, by, inner_w, inner_h = box
    ycrcb = cv2.cvtColor(small, cv2.COLOR_RGB2YCrCb)
    skin = cv2.inRange(ycrcb, np.array([0, 133, 77], np.uint8), np.array([255, 173, 127], np.uint8))
    feather = max(1.0, inner_w / 40)
    ellipse = np.zeros((height, width), np.uint8)
    axes = (max(1, int(inner_w / 2 - 2 * feather)), max(1, int(inner_h / 2 - 2 * feather)))
    cv2.ellipse(ellipse, (int(bx + inner_w / 2), int(by + inner_h / 2)), axes, 0, 0, 360, 255, -1)
    mask = cv2.bitwise_and(skin, ellipse).astype(np.float32) / 255
    mask = cv2.GaussianBlur(mask, (0, 0), feather)
    inside = np.zeros_like(mask)  # never written outside the box
    inside[max(0, int(by)):int(by + inner_h), max(0, int(bx)):int(bx + inner_w)] = 1
    mask *= inside
    diameter = max(5, int(inner_w / 30) | 1)
    smooth = cv2.bilateralFilter(small, diameter, 40, diameter / 2)
    smooth = cv2.bilateralFilter(smooth, diameter, 30, diameter / 2)
    return smooth, mask


def face(region: pyvips.Image, box: tuple[float, float, float, float]) -> pyvips.Image:
    """`region` (sRGB uchar, 3 bands) with the skin of the face box `box` = (x, y, w, h, in
    the region's pixels) smoothed."""
    factor = min(1.0, WORK_SIDE / max(region.width, region.height))
    small = region.resize(factor, kernel="linear") if factor < 1 else region
    array = np.ascontiguousarray(np.asarray(small.numpy(), dtype=np.uint8).reshape(small.height, small.width, 3))
    smooth, mask = _smooth_and_mask(array, tuple(v * factor for v in box))
    smooth_img = pyvips.Image.new_from_array(smooth).copy(interpretation="srgb")
    mask_img = pyvips.Image.new_from_array(mask)
    if factor < 1:
        sx, sy = region.width / small.width, region.height / small.height
        smooth_img = smooth_img.resize(sx, vscale=sy, kernel="linear")
        mask_img = mask_img.resize(sx, vscale=sy, kernel="linear")
        smooth_img = fit(smooth_img, region.width, region.height)
        mask_img = fit(mask_img, region.width, region.height)
    base = region.cast("float")
    # Inside the mask: the smooth base plus DETAIL_KEPT of what smoothing took away.
    retouched = base + (smooth_img.cast("float") - base) * ((1 - DETAIL_KEPT) * mask_img)
    return retouched

