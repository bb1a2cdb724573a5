"""The local generation back-end: PatchMatch outpainting and inpainting, no model, no set-up.

Contract: ``outpaint(image, mask, seed, keep_out)`` and ``inpaint(image, mask, seed, keep_out)`` take
RGB uint8 arrays (H x W x 3) and masks (H x W, non-zero = make these pixels) and return an RGB uint8
array of the same size whose pixels under the mask are synthesised (the caller composites the kept
pixels back).  The same seed gives the same pixels; another seed a visibly different fill.

How (measured in /work/shared/MODELS.md, "Measured 2026-12"): PatchMatch over the whole image copies
the subject (a second face) into new borders, so each new border is filled from only a band of the
original next to it.  Top and bottom pads first (over the original's columns), then left and right
pads over the full height, so corners are filled from material that already continues both ways.
Per side, at most ``CAP`` of the output side is synthesised; beyond it the fill continues as a
blurred extension of the synthesised strip, cross-faded, so a huge pad never repeats the subject.
``keep_out`` (the subject: a background-removal matte, face boxes) is excluded from PatchMatch's
sources with its ``global_mask``.  The seed sets PatchMatch's random search and, for visible variety,
the band width (64-160 px), the patch radius (3-4: 5 doubles the time) and whether a mirrored copy of
the band joins the sources.
Work is bounded: the canvas is processed at most ``WORK_SIDE`` pixels on its long side and the
synthesised part scaled back up, so a 2048 px source costs seconds and tens of MB, not minutes.
PatchMatch's seed is process-global state, so calls are serialised by a lock.
"""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass

import numpy as np
import pyvips
from scipy import ndimage

CAP = 0.3  # synthesised share of the output side per pad; beyond it, a blurred extension
WORK_SIDE = 1024  # long side of the canvas PatchMatch works on
INPAINT_WORK_PIXELS = 512 * 512  # inpainting works on a crop around the holes of at most this many pixels
MIN_SOURCE_SHARE = 0.25  # a band with less usable source than this (keep_out) is widened

_LOCK = threading.Lock()


@dataclass(frozen=True)
class Variation:
    """What the seed decides besides PatchMatch's own random search."""

    seed32: int
    band: int  # width (px at work scale) of the original's band next to a pad that sources it
    radius: int  # PatchMatch patch radius
    mirror: bool  # a mirrored copy of the band joins the sources

    @classmethod
    def of(cls, seed: int) -> "Variation":
        seed32 = seed % 2**32
        rng = random.Random(seed32)
        return cls(seed32=seed32, band=rng.randint(64, 160), radius=rng.randint(3, 4), mirror=rng.random() < 0.5)


def _patchmatch(image: np.ndarray, hole: np.ndarray, excluded: np.ndarray | None, var: Variation) -> np.ndarray:
    import patchmatch  # heavy native library: loaded by the processes that generate, not by every import

    hole_u8 = (hole > 0).astype(np.uint8)
    glob = None if excluded is None else ((excluded > 0) & (hole_u8 == 0)).astype(np.uint8)
    if glob is not None and (not glob.any() or (glob | hole_u8).all()):
        glob = None  # nothing excluded, or nothing left but the subject to copy from
    with _LOCK:
        patchmatch.set_random_seed(var.seed32)
        return patchmatch.inpaint(image, hole_u8, global_mask=glob, patch_size=var.radius)


def _resize(array: np.ndarray, width: int, height: int, *, kernel: str = "linear") -> np.ndarray:
    """``array`` (H x W x C or H x W, uint8) resized to width x height."""
    if array.shape[1] == width and array.shape[0] == height:
        return array
    image = pyvips.Image.new_from_array(np.ascontiguousarray(array))
    out = image.resize(width / image.width, vscale=height / image.height, kernel=kernel)
    # resize rounds; crop or embed to the exact size
    if (out.width, out.height) != (width, height):
        out = out.crop(0, 0, min(out.width, width), min(out.height, height)).embed(0, 0, width, height, extend="copy")
    result = out.numpy()
    return result.reshape(height, width, -1) if array.ndim == 3 else result.reshape(height, width)


def _keep_box(mask: np.ndarray) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1) of the pixels to keep (mask == 0)."""
    keep = mask == 0
    rows, cols = np.flatnonzero(keep.any(axis=1)), np.flatnonzero(keep.any(axis=0))
    if rows.size == 0:
        raise ValueError("nothing to keep: outpainting needs part of the original")
    return int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1


def _fill_left(canvas: np.ndarray, excluded: np.ndarray, pad: int, available: int, cap: int, var: Variation) -> None:
    """Fill columns [0, pad) of ``canvas`` (in place) from a band of the ``available`` columns after them."""
    height = canvas.shape[0]
    synth = min(pad, cap)
    band = min(var.band, available)
    # widen the band while the subject leaves too little of it as a source
    while band < available and (excluded[:, pad : pad + band] == 0).mean() < MIN_SOURCE_SHARE:
        band = min(available, band * 2)
    source = canvas[:, pad : pad + band]
    source_excluded = excluded[:, pad : pad + band]
    if not (source_excluded == 0).any():
        source_excluded = np.zeros_like(source_excluded)  # nothing but the subject to copy from
    parts = [np.zeros((height, synth, 3), np.uint8), source]
    parts_excluded = [np.zeros((height, synth), bool), source_excluded]
    if var.mirror:
        parts.append(source[::-1])
        parts_excluded.append(source_excluded[::-1])
    work = np.ascontiguousarray(np.concatenate(parts, axis=1))
    hole = np.zeros(work.shape[:2], np.uint8)
    hole[:, :synth] = 1
    filled = _patchmatch(work, hole, np.concatenate(parts_excluded, axis=1), var)
    canvas[:, pad - synth : pad] = filled[:, :synth]
    if pad > synth:
        _extend_left(canvas, pad, synth)


def _extend_left(canvas: np.ndarray, pad: int, synth: int) -> None:
    """Columns [0, pad - synth): the synthesised strip continued outwards, blurred, cross-faded into it.

    The strip is tiled outwards by reflection and blurred (sigma a sixth of its width), drifting towards its
    mean colour with the distance; the outer half of the synthesised strip fades into that extension.
    """
    rest = pad - synth
    strip = canvas[:, rest:pad].astype(np.float32)
    tiles = [strip if i % 2 == 0 else strip[:, ::-1] for i in range(-(-rest // synth) + 1)]
    tiled = np.concatenate(tiles[::-1], axis=1)[:, -(rest + synth) :]  # ends with the strip itself
    sigma = max(2.0, synth / 6)
    blurred = ndimage.gaussian_filter(tiled, sigma=(sigma, sigma, 0), mode="nearest")
    mean = blurred.mean(axis=(0, 1), keepdims=True)
    outward = np.clip((rest - np.arange(rest + synth, dtype=np.float32)) / max(1, rest), 0, 1)  # 1 at the edge
    extension = blurred + (mean - blurred) * (0.5 * outward)[None, :, None]
    fade = np.clip(1 - np.arange(synth, dtype=np.float32) / max(1, synth / 2), 0, 1)[None, :, None]
    canvas[:, :rest] = np.clip(extension[:, :rest], 0, 255).astype(np.uint8)
    canvas[:, rest:pad] = np.clip(extension[:, rest:] * fade + strip * (1 - fade), 0, 255).astype(np.uint8)


def _oriented(canvas: np.ndarray, excluded: np.ndarray, side: str) -> tuple[np.ndarray, np.ndarray]:
    """Views that put ``side`` on the left (transposes and flips, undone by the same call's inverse)."""
    if side == "left":
        return canvas, excluded
    if side == "right":
        return canvas[:, ::-1], excluded[:, ::-1]
    if side == "top":
        return canvas.transpose(1, 0, 2), excluded.T
    return canvas[::-1].transpose(1, 0, 2), excluded[::-1].T


def _check(deadline: float | None) -> None:
    if deadline is not None and time.monotonic() > deadline:
        raise TimeoutError("generation ran out of time")


def outpaint(image: np.ndarray, mask: np.ndarray, seed: int, keep_out: np.ndarray | None = None,
             deadline: float | None = None) -> np.ndarray:
    """New borders around the kept box of ``image`` (see the module docstring); TimeoutError when
    ``deadline`` (``time.monotonic()``) passes between two borders."""
    height, width = mask.shape
    x0, y0, x1, y1 = _keep_box(mask)
    scale = min(1.0, WORK_SIDE / max(width, height))
    work_w, work_h = max(1, round(width * scale)), max(1, round(height * scale))
    excluded = np.zeros((work_h, work_w), bool)
    if keep_out is not None and keep_out.any():
        small = _resize((keep_out > 0).astype(np.uint8) * 255, work_w, work_h, kernel="linear") > 0
        excluded = ndimage.binary_dilation(small, iterations=max(2, round(4 * scale)))
    var = Variation.of(seed)
    bx0, by0 = round(x0 * scale), round(y0 * scale)
    bx1, by1 = work_w - round((width - x1) * scale), work_h - round((height - y1) * scale)
    # the kept box scaled on its own, so no pad pixel bleeds into its edge
    canvas = np.zeros((work_h, work_w, 3), np.uint8)
    canvas[by0:by1, bx0:bx1] = _resize(np.ascontiguousarray(image[y0:y1, x0:x1]), bx1 - bx0, by1 - by0)
    # top and bottom over the original's columns, then left and right over the full height
    column = (slice(None), slice(bx0, bx1))
    sides = (("top", by0, by1 - by0, work_h, column), ("bottom", work_h - by1, by1 - by0, work_h, column),
             ("left", bx0, bx1 - bx0, work_w, None), ("right", work_w - bx1, bx1 - bx0, work_w, None))
    for side, pad, available, extent, region in sides:
        if pad <= 0 or available <= 0:
            continue
        _check(deadline)
        sub_canvas = canvas if region is None else canvas[region]
        sub_excluded = excluded if region is None else excluded[region]
        view, view_excluded = _oriented(sub_canvas, sub_excluded, side)
        local = np.ascontiguousarray(view)
        _fill_left(local, np.ascontiguousarray(view_excluded), pad, available, max(1, round(CAP * extent)), var)
        view[...] = local
    if scale == 1.0:
        result = canvas
    else:
        result = _resize(canvas, width, height, kernel="linear")
    holes_inside = mask[y0:y1, x0:x1] > 0
    if holes_inside.any():  # masked pixels inside the kept box: inpaint them with the new borders as context
        _check(deadline)
        result = inpaint(result, np.where(np.pad(holes_inside, ((y0, height - y1), (x0, width - x1))), 255, 0)
                         .astype(np.uint8), seed, keep_out)
    return result


def inpaint(image: np.ndarray, mask: np.ndarray, seed: int, keep_out: np.ndarray | None = None) -> np.ndarray:
    """The holes of ``mask`` filled by PatchMatch from their surroundings, never from ``keep_out``."""
    height, width = mask.shape
    hole = mask > 0
    if not hole.any():
        return image.copy()
    rows, cols = np.flatnonzero(hole.any(axis=1)), np.flatnonzero(hole.any(axis=0))
    hy0, hy1, hx0, hx1 = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
    margin = max(32, (max(hy1 - hy0, hx1 - hx0) + 1) // 2)
    cy0, cy1 = max(0, hy0 - margin), min(height, hy1 + margin)
    cx0, cx1 = max(0, hx0 - margin), min(width, hx1 + margin)
    crop, crop_hole = image[cy0:cy1, cx0:cx1], hole[cy0:cy1, cx0:cx1]
    crop_excluded = np.zeros_like(crop_hole) if keep_out is None else keep_out[cy0:cy1, cx0:cx1] > 0
    ch, cw = crop_hole.shape
    scale = min(1.0, (INPAINT_WORK_PIXELS / (ch * cw)) ** 0.5)
    var = Variation.of(seed)
    if scale < 1.0:
        ww, wh = max(1, round(cw * scale)), max(1, round(ch * scale))
        small = _resize(np.ascontiguousarray(crop), ww, wh)
        small_hole = _resize(crop_hole.astype(np.uint8) * 255, ww, wh) > 0
        small_excluded = _resize(crop_excluded.astype(np.uint8) * 255, ww, wh) > 0
        filled = _resize(_patchmatch(small, small_hole, small_excluded, var), cw, ch)
    else:
        filled = _patchmatch(np.ascontiguousarray(crop), crop_hole, crop_excluded, var)
    out = image.copy()
    region = out[cy0:cy1, cx0:cx1]
    region[crop_hole] = filled[crop_hole]
    return out
