"""transforms.polyline.simplify: the refiner's stroke simplification (Douglas-Peucker)."""

import numpy as np
import pytest
from skimage.measure import approximate_polygon

from transforms.polyline import distances_to_segment, simplify


def _chain_distance(points, chain):
    """Distance of each of `points` to the nearest segment of `chain`."""
    return np.min([distances_to_segment(points, a, b) for a, b in zip(chain[:-1], chain[1:])], axis=0)


@pytest.mark.parametrize("tolerance", [0.1, 0.5, 3.0])
def test_every_dropped_point_lies_within_tolerance(tolerance):
    rng = np.random.default_rng(7)
    points = np.cumsum(rng.normal(size=(500, 2)), axis=0)
    out = simplify(points, tolerance)
    assert 2 <= len(out) < len(points)
    assert (out[0] == points[0]).all() and (out[-1] == points[-1]).all()
    assert _chain_distance(points, out).max() <= tolerance + 1e-9


def test_keeps_order_and_only_original_points():
    rng = np.random.default_rng(3)
    points = np.cumsum(rng.normal(size=(300, 2)), axis=0)
    out = simplify(points, 0.5)
    index = [int(np.flatnonzero((points == p).all(axis=1))[0]) for p in out]
    assert index == sorted(index)


def test_a_straight_drag_becomes_one_segment():
    points = np.column_stack([np.linspace(0, 100, 1000), np.linspace(0, 50, 1000)])
    assert simplify(points, 0.5).tolist() == [[0.0, 0.0], [100.0, 50.0]]


def test_a_closed_stroke_keeps_its_shape():
    angle = np.linspace(0, 2 * np.pi, 400)
    circle = np.column_stack([50 * np.cos(angle), 50 * np.sin(angle)])
    out = simplify(circle, 0.5)
    assert 10 < len(out) < 100
    assert _chain_distance(circle, out).max() <= 0.5 + 1e-9


def test_agrees_with_scikit_image():
    """The same points as skimage.measure.approximate_polygon (which the refiner used
    before; scikit-image is only a test dependency)."""
    rng = np.random.default_rng(11)
    for _ in range(50):
        points = np.cumsum(rng.normal(size=(int(rng.integers(3, 300)), 2)), axis=0)
        for tolerance in (0.2, 1.0):
            np.testing.assert_allclose(simplify(points, tolerance), approximate_polygon(points, tolerance))


def test_short_chains_and_zero_tolerance_are_unchanged():
    points = np.array([[0.0, 0.0], [1.0, 0.1], [2.0, 0.0]])
    assert simplify(points, 0.0) is points
    assert len(simplify(points[:2], 5.0)) == 2
