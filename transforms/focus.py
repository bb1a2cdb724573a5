"""The asset's faces as the engine reads them: stored ones, or detected now.

Faces are detected in the worker after every upload and overwrite and stored on the
asset (assets.focus); a face-dependent request that arrives before the worker got to it
runs the detector itself, once per asset version (the result is stored, so later
requests and the worker find it). Given faces (``face_coordinates``, the Focus Area
Refiner) override detection. The detector is provided by transforms.ai.faces at import
(`provide`): the dependency declarations and the pipeline sit below the AI package and
reach it through here.  Object gravities read `objects`, provided the same way by
transforms.ai.detect.
"""

from __future__ import annotations

from typing import Callable

_detector: Callable | None = None
_objects: Callable | None = None


def provide(detector: Callable) -> None:
    """`detector(asset) -> [[x, y, w, h], ...]`: detect, store and return the asset's faces."""
    global _detector
    _detector = detector


def provide_objects(detector: Callable) -> None:
    """`detector(rgb uint8 HxWx3, threshold=) -> [(COCO class, score, (x0, y0, x1, y1))]`
    (transforms.ai.detect at import): what object gravities read."""
    global _objects
    _objects = detector


def objects(rgb, threshold: float) -> list:
    """The objects in `rgb` (transforms.ai.detect: NanoDet, loaded on first use)."""
    if _objects is None:
        raise RuntimeError("no object detector in this process (transforms.ai.detect is imported at start)")
    return list(_objects(rgb, threshold=threshold))


def known(asset) -> bool:
    return bool(asset.faces_version) and asset.faces_version == asset.version_id


def faces(asset) -> list[list[int]]:
    """The faces of the asset's current version (on its original's pixels)."""
    if asset is None:
        return []
    if not known(asset) and _detector is not None and getattr(asset, "pk", None):
        return list(_detector(asset))
    return list(asset.face_coordinates or [])
