"""The pixels of ``e_improve`` and ``e_enhance``: a careful classical photo correction.

No model ships for these (see MODELS.md), so the recipe is the classical one: auto-levels
at the 0.5 / 99.5 % luminance percentiles after a partial grey-world white balance (on
each channel above its own black point, so a coloured veil goes too; all measured on a
subsample, applied as one linear map per channel), CLAHE on the CIELAB lightness, a light
vibrance (low-chroma colours gain more than saturated ones) and a light unsharp mask on L.
`Recipe` holds the strengths: indoor corrects a warm cast (tungsten) more strongly, outdoor
adds a little more vibrance; enhance adds a mild denoise (a small bilateral filter on L, a
chroma blur on a/b) and more detail (a wide "clarity" unsharp for local contrast).

CLAHE runs in OpenCV on the 8-bit L band (libvips' hist_local took 0.5-0.9 s at 2.7 MP,
OpenCV 9 ms); only that band goes through numpy, and above `FULL_PIXELS` it is computed on a
reduced copy whose correction is enlarged back, so numpy holds a byte or two a pixel at
most; the CIELAB copy read twice is kept in memory (6 bytes a pixel) only up to FULL_PIXELS.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
import pyvips

from transforms.ops.effectlib import fit, gaussblur

FULL_PIXELS = 4096 * 4096  # larger L bands get their CLAHE on a reduced copy
STATS_SIDE = 384  # the sample the white balance and levels are measured on
LUMA = np.array([0.299, 0.587, 0.114])


@dataclass(frozen=True)
class Recipe:
    balance: float  # share of the grey-world correction applied
    warm_balance: float  # the same when the cast is warm (red above blue)
    clip: float  # CLAHE clip limit
    vibrance: float  # chroma gain of neutral colours (fading to 0 at chroma 60)
    sharpen: float  # unsharp amount on L, sigma 1
    clarity: float = 0.0  # wide unsharp amount on L (local contrast)
    denoise: bool = False


OUTDOOR = Recipe(balance=0.6, warm_balance=0.6, clip=1.5, vibrance=0.2, sharpen=0.3)
INDOOR = Recipe(balance=0.6, warm_balance=0.85, clip=1.5, vibrance=0.08, sharpen=0.3)
ENHANCE = Recipe(balance=0.6, warm_balance=0.75, clip=2.0, vibrance=0.15, sharpen=0.5, clarity=0.35, denoise=True)


def _stats(rgb: pyvips.Image) -> np.ndarray:
    side = max(rgb.width, rgb.height)
    small = rgb.resize(STATS_SIDE / side, kernel="nearest") if side > STATS_SIDE else rgb  # a sample suffices
    return np.asarray(small.numpy(), dtype=np.float64).reshape(-1, 3)


def levels(rgb: pyvips.Image, recipe: Recipe) -> tuple[list[float], list[float]]:
    """(multipliers, offsets) per channel: each channel's black point (0.5 %) to zero, so a
    coloured veil goes; partial grey-world gains on what is left; then the luminance stretch
    (0.5 / 99.5 %)."""
    px = _stats(rgb)
    black = np.percentile(px, 0.5, axis=0)
    lifted = np.maximum(px - black, 0)
    luma = lifted @ LUMA
    usable = lifted[(luma > 4) & (px.max(axis=1) < 250)]
    if len(usable) < 16:
        usable = lifted
    means = np.maximum(usable.mean(axis=0), 1.0)
    share = recipe.warm_balance if means[0] > means[2] * 1.05 else recipe.balance
    gains = np.clip(1 + share * (means.mean() / means - 1), 0.7, 1.5)  # a coloured scene is not all cast
    lo, hi = np.percentile((lifted * gains) @ LUMA, [0.5, 99.5])
    scale = min(255 / (hi - lo), 4.0) if hi - lo > 1 else 1.0
    scale = max(scale, 1.0)
    return ([float(g * scale) for g in gains],
            [float(-(b * g + lo) * scale) for b, g in zip(black, gains, strict=True)])


def _clahe_delta(lq: pyvips.Image, recipe: Recipe) -> pyvips.Image:
    """What the (denoise and) CLAHE change in the 8-bit L band `lq`, as a float image."""
    factor = math.sqrt(lq.width * lq.height / FULL_PIXELS)
    source = lq.resize(1 / factor, kernel="linear") if factor > 1 else lq
    array = np.ascontiguousarray(np.asarray(source.numpy(), dtype=np.uint8).reshape(source.height, source.width))
    done = array
    if recipe.denoise:
        done = cv2.bilateralFilter(done, 5, 12, 3)
    done = cv2.createCLAHE(clipLimit=recipe.clip, tileGridSize=(8, 8)).apply(done)
    delta = pyvips.Image.new_from_array(done.astype(np.float32) - array.astype(np.float32))
    if factor > 1:
        delta = fit(delta.resize(lq.width / delta.width, vscale=lq.height / delta.height, kernel="linear"),
                    lq.width, lq.height)
    return delta


def correct(rgb: pyvips.Image, recipe: Recipe) -> pyvips.Image:
    """`rgb` (sRGB uchar, 3 bands) corrected; sRGB float-or-uchar, 3 bands (effectlib.merge rounds)."""
    multipliers, offsets = levels(rgb, recipe)
    leveled = rgb.linear(multipliers, offsets)
    leveled = (leveled < 0).ifthenelse(0, (leveled > 255).ifthenelse(255, leveled)).cast("uchar")
    # LabS (16-bit CIELAB) computed once: L is read twice (through numpy for CLAHE, then
    # in the pipeline below); at most FULL_PIXELS x 6 bytes in memory, larger images recompute.
    labs = leveled.copy(interpretation="srgb").colourspace("labs")
    if labs.width * labs.height <= FULL_PIXELS:
        labs = labs.copy_memory()
    lightness, a, b = labs[0] / 327.67, labs[1] / 256, labs[2] / 256
    lq = (lightness * 2.55 + 0.5).cast("uchar")
    lightness = lightness + _clahe_delta(lq, recipe) / 2.55
    if recipe.clarity:
        wide = gaussblur(lightness, max(lightness.width, lightness.height) / 150)
        lightness = lightness + (lightness - wide) * recipe.clarity
    if recipe.sharpen:
        lightness = lightness + (lightness - lightness.gaussblur(1.0, precision="approximate")) * recipe.sharpen
    lightness = (lightness < 0).ifthenelse(0, (lightness > 100).ifthenelse(100, lightness))
    if recipe.denoise:
        a, b = a.gaussblur(1.2, precision="approximate"), b.gaussblur(1.2, precision="approximate")
    if recipe.vibrance:
        chroma = (a * a + b * b) ** 0.5
        gain = 1 + recipe.vibrance * (1 - chroma / 60)
        gain = (gain < 1).ifthenelse(1, gain)
        a, b = a * gain, b * gain
    out = lightness.bandjoin([a, b]).copy(interpretation="lab").colourspace("srgb")
    return out
