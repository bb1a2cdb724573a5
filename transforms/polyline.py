"""Polyline simplification (Ramer-Douglas-Peucker) over numpy.

The Background Removal Refiner's brush strokes arrive as drags with a point every pixel
or so; drawing a wide brush along thousands of tiny segments costs far more than along
the few that describe the same shape within a fraction of a pixel.  This lives in the
engine (it is pure geometry, no Django) so both the refiner's validation and the
engine's mask rasterising can use it without importing upwards.
"""

from __future__ import annotations

import numpy as np


def distances_to_segment(points: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Distance of each of `points` to the segment a-b (to `a` when a == b).  The
    projection is clamped onto the segment, so a point beyond an end is measured to that
    end rather than to the infinite line through a and b."""
    ab = b - a
    length2 = float(ab @ ab)
    rel = points - a
    if length2 == 0.0:
        return np.hypot(rel[:, 0], rel[:, 1])
    t = np.clip((rel @ ab) / length2, 0.0, 1.0)
    off = rel - t[:, None] * ab
    return np.hypot(off[:, 0], off[:, 1])


def simplify(points: np.ndarray, tolerance: float) -> np.ndarray:
    """The subset of the (N, 2) `points` (first and last always kept, order preserved)
    such that every dropped point lies within `tolerance` of the simplified chain.
    Iterative (an explicit stack), so a long stroke cannot exhaust Python's recursion."""
    n = len(points)
    if tolerance <= 0 or n < 3:
        return points
    keep = np.zeros(n, bool)
    keep[0] = keep[-1] = True
    stack = [(0, n - 1)]
    while stack:
        start, end = stack.pop()
        if end - start < 2:
            continue
        dist = distances_to_segment(points[start + 1:end], points[start], points[end])
        worst = int(np.argmax(dist))
        if dist[worst] > tolerance:
            split = start + 1 + worst
            keep[split] = True
            stack.append((start, split))
            stack.append((split, end))
    return points[keep]
