"""OKLab colour maths (Björn Ottosson's) for e_gen_recolor (transforms.ai.geneffects): an
object's pixels moved to a target hue and chroma while their lightness variation is kept,
the chroma reduced where sRGB cannot show it so the hue stays exact."""

from __future__ import annotations

import math

import numpy as np


def _linear(srgb: np.ndarray) -> np.ndarray:
    c = srgb.astype(np.float32) / 255.0
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


def _encoded(linear: np.ndarray) -> np.ndarray:
    c = np.clip(linear, 0.0, 1.0)
    return np.where(c <= 0.0031308, 12.92 * c, 1.055 * np.power(c, 1 / 2.4) - 0.055) * 255.0


_M1 = np.array([[0.4122214708, 0.5363325363, 0.0514459929], [0.2119034982, 0.6806995451, 0.1073969566],
                [0.0883024619, 0.2817188376, 0.6299787005]], np.float32)
_M2 = np.array([[0.2104542553, 0.7936177850, -0.0040720468], [1.9779984951, -2.4285922050, 0.4505937099],
                [0.0259040371, 0.7827717662, -0.8086757660]], np.float32)


def to_oklab(srgb: np.ndarray) -> np.ndarray:
    """uint8 ...x3 sRGB -> float32 OKLab (Björn Ottosson's)."""
    lms = _linear(srgb) @ _M1.T
    return np.cbrt(lms) @ _M2.T


def _oklab_linear(lab: np.ndarray) -> np.ndarray:
    return ((lab @ np.linalg.inv(_M2).T) ** 3) @ np.linalg.inv(_M1).T


def from_oklab(lab: np.ndarray) -> np.ndarray:
    """OKLab -> float32 sRGB 0..255 (clipped to the gamut per channel)."""
    return _encoded(_oklab_linear(lab))


def _in_gamut(lab: np.ndarray) -> np.ndarray:
    """`lab` with each pixel's chroma reduced (hue and lightness kept) until it fits sRGB."""
    low, high = np.zeros(lab.shape[:-1], np.float32), np.ones(lab.shape[:-1], np.float32)
    fits = lambda k: (np.abs(_oklab_linear(lab * np.stack([np.ones_like(k), k, k], -1)) - 0.5) <= 0.5 + 1e-4).all(-1)  # noqa: E731
    whole = fits(high)
    for _ in range(10):  # bisection on the chroma scale
        middle = (low + high) / 2
        ok = fits(middle)
        low, high = np.where(ok, middle, low), np.where(ok, high, middle)
    k = np.where(whole, 1.0, low)
    return lab * np.stack([np.ones_like(k), k, k], -1)


def recolour(rgb: np.ndarray, alpha: np.ndarray, target: tuple[int, int, int]) -> np.ndarray:
    """`rgb` with the pixels under `alpha` given the target's hue and chroma in OKLCh (the chroma reduced
    where sRGB cannot show it, the hue never changed); their lightness variation is kept, its mean moved
    half-way to the target's; blended by `alpha`."""
    lab = to_oklab(rgb)
    goal = to_oklab(np.array(target, np.uint8)[None, None])[0, 0]
    weight = alpha > 0.5
    mean_l = float(lab[..., 0][weight].mean()) if weight.any() else float(lab[..., 0].mean())
    chroma, hue = float(np.hypot(goal[1], goal[2])), math.atan2(goal[2], goal[1])
    out = np.empty_like(lab)
    out[..., 0] = np.clip(lab[..., 0] + 0.5 * (goal[0] - mean_l), 0.0, 1.0)
    out[..., 1], out[..., 2] = chroma * math.cos(hue), chroma * math.sin(hue)
    made = from_oklab(_in_gamut(out))
    a = alpha[..., None]
    return np.clip(np.round(a * made + (1 - a) * rgb), 0, 255).astype(np.uint8)
