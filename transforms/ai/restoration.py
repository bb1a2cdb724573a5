"""e_gen_restore's classical restoration (transforms.ai.geneffects; no restoration model ships in
any package reachable here): JPEG block edges softened, non-local-means denoising at a
strength from the estimated noise (opencv), a gentle sharpen of edges."""

from __future__ import annotations

import math

import numpy as np
import pyvips

SHARPEN = 0.5  # the unsharp mask on edges (pyvips sharpen m2; flat areas untouched)


def _image(array: np.ndarray) -> pyvips.Image:
    return pyvips.Image.new_from_array(array, interpretation="srgb")


def noise_sigma(gray: np.ndarray) -> float:
    """Immerkær's fast estimate of Gaussian noise (grey levels) from a 3x3 Laplacian difference."""
    from scipy import ndimage

    kernel = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], np.float32)
    h, w = gray.shape
    if h < 3 or w < 3:
        return 0.0
    response = ndimage.convolve(gray.astype(np.float32), kernel)[1:-1, 1:-1]
    return float(math.sqrt(math.pi / 2) * np.abs(response).sum() / (6 * (w - 2) * (h - 2)))


def deblock(rgb: np.ndarray, step: float) -> np.ndarray:
    """Soften JPEG's 8x8 block edges: across each grid line, pixel pairs whose difference is under
    `step` (a real edge is larger) are pulled towards their mean."""
    out = rgb.astype(np.float32)
    for axis in (0, 1):
        n = out.shape[axis]
        for line in range(8, n - 1, 8):
            a = np.take(out, line - 1, axis=axis)
            b = np.take(out, line, axis=axis)
            diff = b - a
            soft = (np.abs(diff).max(axis=-1, keepdims=True) < step) * diff / 4
            index = [slice(None)] * 3
            index[axis] = line - 1
            out[tuple(index)] = a + soft
            index[axis] = line
            out[tuple(index)] = b - soft
    return np.clip(np.round(out), 0, 255).astype(np.uint8)


def restore(rgb: np.ndarray) -> tuple[np.ndarray, dict]:
    """Deblock, denoise (non-local means, strength from the estimated noise), sharpen gently."""
    import cv2  # opencv-python-headless: loaded only where restoration runs

    gray = rgb.astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)
    sigma = noise_sigma(gray)
    out = deblock(rgb, max(6.0, 3 * sigma))
    strength = float(np.clip(0.9 * sigma, 1.0, 25.0))
    bgr = np.ascontiguousarray(out[:, :, ::-1])
    out = cv2.fastNlMeansDenoisingColored(bgr, None, strength, strength, 7, 21)[:, :, ::-1]
    image = _image(np.ascontiguousarray(out)).sharpen(sigma=0.7, m1=0.0, m2=SHARPEN, x1=3)
    sharpened = np.ascontiguousarray(image.colourspace("srgb").cast("uchar").numpy()[:, :, :3])
    return sharpened, {"noise_sigma": round(sigma, 2), "denoise_strength": round(strength, 2)}
