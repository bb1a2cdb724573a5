"""Object detection (COCO's 80 classes) for ``hints_(...)``: NanoDet-m 416.

`detect(rgb)` -> [(class name, score, (x0, y0, x1, y1) in source pixels)], after
per-class NMS.  The model (transforms.ai.weights.NANODET, converted from its
TensorFlow.js graph at fetch time) takes NCHW BGR normalised by ImageNet's
mean/std at 416x416 (aspect not kept); per stride 8/16/32 it gives class scores
(already sigmoid) and 4 sides x 11-bin distance distributions (softmax, expected bin
x stride) from cell centres.
"""

from __future__ import annotations

import numpy as np
import pyvips

from .. import focus
from ..values import COCO_CLASSES
from . import weights

SIDE = 416
MEAN = np.array([103.53, 116.28, 123.675], np.float32)
STD = np.array([57.375, 57.12, 58.395], np.float32)
COCO = COCO_CLASSES  # the 80 classes in the model's output order (transforms.values spells them)
# Cloudinary's documented hint names -> COCO classes.
HINT_CLASSES = {
    "airplane": "airplane", "bus": "bus", "dining-table": "dining-table", "sheep": "sheep", "bicycle": "bicycle",
    "car": "car", "dog": "dog", "sofa": "couch", "bird": "bird", "cat": "cat", "horse": "horse", "train": "train",
    "boat": "boat", "chair": "chair", "person": "person", "tv": "tv", "bottle": "bottle", "cow": "cow",
    "potted-plant": "potted-plant", "motorbike": "motorcycle",
}
OUTPUTS = {8: ("Identity", "Identity_3"), 16: ("Identity_1", "Identity_4"), 32: ("Identity_2", "Identity_5")}
BINS = 11


def _softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _iou(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    x0, y0 = np.maximum(box[0], boxes[:, 0]), np.maximum(box[1], boxes[:, 1])
    x1, y1 = np.minimum(box[2], boxes[:, 2]), np.minimum(box[3], boxes[:, 3])
    inter = np.clip(x1 - x0, 0, None) * np.clip(y1 - y0, 0, None)
    area = lambda b: (b[..., 2] - b[..., 0]) * (b[..., 3] - b[..., 1])  # noqa: E731
    return inter / np.maximum(area(box) + area(boxes) - inter, 1e-6)


def detect(rgb: np.ndarray, threshold: float = 0.3, iou: float = 0.5):
    height, width = rgb.shape[:2]
    image = pyvips.Image.new_from_array(np.ascontiguousarray(rgb[..., :3], dtype=np.uint8))
    small = image.resize(SIDE / width, vscale=SIDE / height, kernel="linear").numpy()[:SIDE, :SIDE]
    if small.shape[:2] != (SIDE, SIDE):
        small = np.pad(small, ((0, SIDE - small.shape[0]), (0, SIDE - small.shape[1]), (0, 0)), mode="edge")
    bgr = small[..., ::-1].astype(np.float32)
    tensor = ((bgr - MEAN) / STD).transpose(2, 0, 1)[None].astype(np.float32)
    names = [n for pair in OUTPUTS.values() for n in pair]
    results = dict(zip(names, weights.run(weights.NANODET, names, {"input_1": np.ascontiguousarray(tensor)})))
    found_boxes, found_scores, found_classes = [], [], []
    for stride, (score_name, box_name) in OUTPUTS.items():
        scores, dists = results[score_name][0], results[box_name][0]
        n = SIDE // stride
        cells = np.where(scores.max(axis=1) > threshold)[0]
        for cell in cells:
            cls = int(scores[cell].argmax())
            cy, cx = (cell // n + 0.5) * stride, (cell % n + 0.5) * stride
            d = (_softmax(dists[cell].reshape(4, BINS)) * np.arange(BINS)).sum(axis=1) * stride
            found_boxes.append([cx - d[0], cy - d[1], cx + d[2], cy + d[3]])
            found_scores.append(float(scores[cell, cls]))
            found_classes.append(cls)
    out = []
    if not found_boxes:
        return out
    boxes, scores, classes = np.array(found_boxes), np.array(found_scores), np.array(found_classes)
    scale = np.array([width / SIDE, height / SIDE, width / SIDE, height / SIDE])
    for cls in np.unique(classes):
        index = np.where(classes == cls)[0]
        index = index[np.argsort(-scores[index])]
        while index.size:
            best, index = index[0], index[1:]
            box = np.clip(boxes[best] * scale, 0, [width, height, width, height])
            out.append((COCO[cls], float(scores[best]), tuple(float(v) for v in box)))
            if index.size:
                index = index[_iou(boxes[best], boxes[index]) < iou]
    return sorted(out, key=lambda d: -d[1])


# Object gravities (transforms.pipeline) reach the detector through transforms.focus (looked up at call time).
focus.provide_objects(lambda rgb, threshold: detect(rgb, threshold=threshold))
