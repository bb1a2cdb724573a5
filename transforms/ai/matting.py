"""Mattes: which pixels are the salient subject, as alpha in [0, 1].

`salient_matte(rgb)` runs the background-removal model (transforms.ai.weights.ISNET:
whole image resized bilinearly to its fixed 1024x1024 input, RGB as (pixel-128)/256,
its [0, 1] output resized back).  `refine_edges(rgb, alpha)` recovers fine detail
(fur, hair) in the band where the matte is unsure: closed-form matting (pymatting)
on a trimap from the eroded matte, the sure regions kept as they were.
"""

from __future__ import annotations

import os

import numpy as np
import pyvips
from django.conf import settings

from . import weights

SIDE = 1024
SURE_FG, SURE_BG = 0.95, 0.05


def _resize(array: np.ndarray, width: int, height: int) -> np.ndarray:
    image = pyvips.Image.new_from_array(array)
    out = image.resize(width / image.width, vscale=height / image.height, kernel="linear")
    if out.width != width or out.height != height:  # rounding: pin the exact size
        out = out.embed(0, 0, width, height, extend="copy").crop(0, 0, width, height)
    return out.numpy()


def salient_matte(rgb: np.ndarray) -> np.ndarray:
    """`rgb` uint8 HxWx3 -> float32 HxW in [0, 1] (1 = subject)."""
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"salient_matte needs HxWx3 RGB, got {rgb.shape}")
    height, width = rgb.shape[:2]
    small = _resize(np.ascontiguousarray(rgb, dtype=np.uint8), SIDE, SIDE)
    tensor = np.ascontiguousarray(small.transpose(2, 0, 1)[None], dtype=np.float32)  # one pass, then in place
    tensor -= 128.0
    tensor *= 1.0 / 256.0
    (out,) = weights.run(weights.ISNET, ["output"], {"input": tensor})
    matte = _resize(np.ascontiguousarray(out[0, 0], dtype=np.float32), width, height)
    if matte.dtype != np.float32 or not matte.flags.writeable:
        matte = matte.astype(np.float32)
    return np.clip(matte, 0.0, 1.0, out=matte)


def _numba_cache() -> None:
    """pymatting compiles with numba on first use: keep the compiled code with the weights."""
    os.environ.setdefault("NUMBA_CACHE_DIR", str(weights.model_dir() / "numba"))


def trimap(alpha: np.ndarray, band: int | None = None) -> np.ndarray:
    """1 = sure subject (eroded alpha > 0.95), 0 = sure background (eroded alpha < 0.05,
    i.e. the background eroded), 0.5 = to solve."""
    from scipy import ndimage

    band = band or max(2, round(max(alpha.shape) / 200))
    structure = np.ones((2 * band + 1, 2 * band + 1), bool)
    fg = ndimage.binary_erosion(alpha > SURE_FG, structure)
    bg = ndimage.binary_erosion(alpha < SURE_BG, structure)
    out = np.full(alpha.shape, 0.5, np.float64)
    out[fg], out[bg] = 1.0, 0.0
    return out


def refine_edges(rgb: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """`alpha` float HxW in [0, 1] refined in its unsure band; float32 in [0, 1]."""
    _numba_cache()
    from pymatting import estimate_alpha_cf

    tri = trimap(alpha)
    unknown = tri == 0.5
    if not unknown.any() or unknown.all() or not (tri == 1).any():
        return alpha.astype(np.float32)
    refined = estimate_alpha_cf(rgb.astype(np.float64) / 255.0, tri)
    out = alpha.astype(np.float32).copy()
    out[unknown] = np.clip(refined[unknown], 0.0, 1.0)
    return out


def warm_up() -> None:
    """Compile (and cache) pymatting's numba code once, e.g. at fetch time."""
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 255, (24, 24, 3)).astype(np.uint8)
    alpha = np.zeros((24, 24), np.float32)
    alpha[6:18, 6:18] = 1.0
    refine_edges(rgb, alpha)


def max_input_pixels() -> int:
    return int(settings.DAM_BG_REMOVAL_MAX_PIXELS)
