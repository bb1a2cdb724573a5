"""``e_background_removal[:hints_(<names>)][;fineedges_y]``: AI background removal, the first producer.

As Cloudinary documents it: it must be the first component (a 400 otherwise; never on
a layer); the first request for an asset version and a set of options queues one job
and answers 423 with ``Retry-After``; the worker stores the RGBA cut-out once (inputs
above DAM_BG_REMOVAL_MAX_PIXELS, 2048x2048, scaled down first keeping the aspect);
from then on every URL starting with it renders from the stored cut-out.  All of that
is the lifecycle every producer shares (transforms.ai.lifecycle, transforms.ai.jobs);
this module is the producer: its options (`parse`), the models it needs (ISNet, and
NanoDet for hints) and `cut_out` (the salient matte, boxes of the hinted classes,
pymatting's finer edges).  The Background Removal Refiner's mask is an override the
engine applies to the stored cut-out (transforms.overrides, refiners.background).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import numpy as np
import pyvips

from core.errors import BadRequest

from . import detect, lifecycle, matting, producers, weights
from .lifecycle import STALE_AFTER  # noqa: F401 - a pending cut-out older than this is queued again
from .producers import Produced, Producer, register

NAME = "background_removal"
# The foreground objects Cloudinary documents for hints.
HINTS = frozenset(
    "airplane bus dining-table sheep bicycle car dog sofa bird cat horse train boat chair person tv "
    "bottle cow potted-plant motorbike".split()
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Options:
    hints: tuple[str, ...] = ()
    fine_edges: bool = False

    @property
    def canonical(self) -> str:
        parts = []
        if self.hints:
            parts.append(f"hints_({';'.join(self.hints)})")
        if self.fine_edges:
            parts.append("fineedges_y")
        return ";".join(parts)


# --- parsing -------------------------------------------------------------------------------


def _tokens(text: str) -> list[str]:
    """Split on ``;`` (or ``:``) outside parentheses."""
    tokens, depth, current = [], 0, ""
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth < 0:
                raise BadRequest(f"Invalid e_background_removal option: unbalanced parentheses in {text!r}")
        if ch in ";:" and depth == 0:
            tokens.append(current)
            current = ""
            continue
        current += ch
    if depth:
        raise BadRequest(f"Invalid e_background_removal option: unbalanced parentheses in {text!r}")
    tokens.append(current)
    return tokens


def parse(args: tuple[str, ...], qualifiers) -> Options:
    hints: tuple[str, ...] | None = None
    fine: bool | None = None
    for token in _tokens(":".join(args)) if args else []:
        key, sep, value = token.partition("_")
        if key == "hints" and sep and hints is None:
            inner = value[1:-1] if value.startswith("(") and value.endswith(")") else value
            names = [n.strip() for n in inner.split(";")]
            unknown = [n for n in names if n not in HINTS]
            if not names or unknown:
                raise BadRequest(f"Invalid e_background_removal hint {unknown[0] if unknown else ''!r}: "
                                 f"use one of {', '.join(sorted(HINTS))}")
            hints = tuple(sorted(set(names)))
        elif key == "fineedges" and sep and fine is None and value in ("y", "n"):
            fine = value == "y"
        else:
            raise BadRequest(f"Invalid e_background_removal option: {token!r} "
                             "(expected hints_(<object>[;<object>...]) or fineedges_y)")
    return Options(hints or (), bool(fine))


# --- the worker's side -----------------------------------------------------------------------


def scaled_size(width: int, height: int, limit: int) -> tuple[int, int]:
    """The size at most `limit` pixels in total, aspect kept (unchanged when within it)."""
    if width * height <= limit:
        return width, height
    k = math.sqrt(limit / (width * height))
    w, h = max(1, math.floor(width * k)), max(1, math.floor(height * k))
    return w, h


def cut_out(image: pyvips.Image, options: Options) -> pyvips.Image:
    """RGBA uint8: `image` (normalised sRGB, 3 or 4 bands) with the subject's matte as alpha."""
    w, h = scaled_size(image.width, image.height, matting.max_input_pixels())
    if (w, h) != (image.width, image.height):
        image = image.resize(w / image.width, vscale=h / image.height, kernel="lanczos3")
        if (image.width, image.height) != (w, h):
            image = image.crop(0, 0, min(w, image.width), min(h, image.height))
    array = image.numpy()
    rgb = np.ascontiguousarray(array[..., :3])
    alpha = hinted_matte(rgb, options.hints) if options.hints else matting.salient_matte(rgb)
    if options.fine_edges:
        alpha = matting.refine_edges(rgb, alpha)
    if array.shape[2] == 4:  # the original's own transparency stays transparent
        alpha = alpha * (array[..., 3].astype(np.float32) / 255.0)
    rgba = np.dstack([rgb, np.round(alpha * 255).astype(np.uint8)])
    return pyvips.Image.new_from_array(rgba, interpretation="srgb")


HINT_THRESHOLD = 0.3  # detector score
HINT_PADDING = 0.1  # of the box's size, each side


def hinted_matte(rgb: np.ndarray, hints: tuple[str, ...]) -> np.ndarray:
    """Keep only objects of the hinted classes: the detector's boxes for them (padded
    10%), the salient matte of the crop spanning them, alpha 0 outside the boxes.
    Nothing of those classes found: nothing kept."""
    height, width = rgb.shape[:2]
    wanted = {detect.HINT_CLASSES[h] for h in hints}
    boxes = []
    for name, score, (x0, y0, x1, y1) in detect.detect(rgb, threshold=HINT_THRESHOLD):
        if name in wanted:
            px, py = (x1 - x0) * HINT_PADDING, (y1 - y0) * HINT_PADDING
            boxes.append((max(0, int(x0 - px)), max(0, int(y0 - py)), min(width, int(np.ceil(x1 + px))),
                          min(height, int(np.ceil(y1 + py)))))
    alpha = np.zeros((height, width), np.float32)
    if not boxes:
        log.info("no %s found for hints", ", ".join(hints))
        return alpha
    x0, y0 = min(b[0] for b in boxes), min(b[1] for b in boxes)
    x1, y1 = max(b[2] for b in boxes), max(b[3] for b in boxes)
    crop = matting.salient_matte(np.ascontiguousarray(rgb[y0:y1, x0:x1]))
    keep = np.zeros((height, width), bool)
    for bx0, by0, bx1, by1 in boxes:
        keep[by0:by1, bx0:bx1] = True
    alpha[y0:y1, x0:x1] = crop
    alpha[~keep] = 0.0
    return alpha


class BackgroundRemoval(Producer):
    kind = NAME
    label = "Background removal"
    dependency_tag = "cutout"  # the derived-cache keys' name for it since before the lifecycle was shared
    changes_alpha = True

    def parse(self, args, qualifiers) -> Options:
        return parse(args, qualifiers)

    def models_needed(self, options: Options) -> tuple:
        return (weights.ISNET, weights.NANODET) if options.hints else (weights.ISNET,)

    def compute(self, image: pyvips.Image, options: Options) -> Produced:
        result = cut_out(image, options)
        return Produced(result, {"confidence_score": confidence(result.extract_band(3).numpy())})


def confidence(alpha: np.ndarray) -> float:
    """How decisive the matte is (1 = every pixel clearly subject or background), 0 when
    nothing was kept."""
    a = alpha.astype(np.float32) / 255.0
    if a.max() < 0.5:
        return 0.0
    return round(float(1.0 - np.mean(4.0 * a * (1.0 - a))), 4)


PRODUCER = register(BackgroundRemoval())


# --- the shared lifecycle, bound to this producer (the refiner's screen, bench/bg_removal.py) ---


def options_of(plan) -> Options | None:
    """The options when `plan` starts with e_background_removal, else None."""
    found = lifecycle.source_of(plan)
    return found[1] if found is not None and found[0] is PRODUCER else None


def cutout_row(asset, options: Options):
    return producers.row_for(asset, PRODUCER, options)


def request(asset, options: Options, requester=None):
    return lifecycle.request(asset, PRODUCER, options, requester)


def dependency(asset, options: Options) -> str:
    return producers.dependency(asset, PRODUCER, options)


def compute(cutout_id: int) -> str:
    return lifecycle.jobs.compute(cutout_id)


pixel_plan = lifecycle.pixel_plan
