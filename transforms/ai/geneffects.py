"""The generative effects besides fill: ``e_gen_remove``, ``e_gen_background_replace``, ``e_gen_recolor``,
``e_gen_restore``.

Each is a stage producer (transforms.ai.stages): its input is the image at its step (what the steps
before it made), the first request answers 423 while the worker makes it, the result is stored once per
asset version, meaning of the steps before it, step, seed and prompt, and the Generative AI Refiner can
ask it for variations.  The options values are frozen dataclasses with ``seed`` and ``prompt`` (what a
variation replaces) and a ``canonical`` text; sub-parameters in any order, ``_false`` accepted
(transforms.ai.subparams).  What runs where (README, "AI features"):

- ``e_gen_remove:region_((x_;y_;w_;h_)[;...])`` inpaints those boxes (clipped to the image; at most
  `MAX_REGIONS`; a box wholly outside is a 400) with the configured generation back-end
  (transforms.ai.generation: local PatchMatch by default).  ``prompt_<name>`` / ``prompt_(<a>;<b>)`` with
  COCO object or category names (transforms.values): the detector's box (NanoDet), the salient matte
  (ISNet) inside it, dilated, then inpainted; only the most confident instance unless ``multiple_true``
  (forced by several prompts); ``remove-shadow_true`` also grows the mask below the object (a band under
  its bottom edge, where a cast shadow usually lies: no shadow detection).  Other prompts (and ``text``)
  need a back-end that understands prompts: the whole image goes to it with the instruction to remove
  them (400 naming the settings without one).  Nothing found: the image unchanged, ``"removed": 0`` in
  the metadata.  ``seed_<n>`` varies the fill.  Worked at up to `MAX_SIDE` pixels a side (larger inputs:
  the mask and fill at that size, composited into the full-size image).
- ``e_gen_background_replace[:prompt_<p>][;seed_<n>]``: the salient matte keeps the subject; the
  background (mask = where the matte is under one half) comes from a prompt-capable back-end
  (`DEFAULT_BACKGROUND_PROMPT` when none is given); without one a 400 naming the settings, never a fake
  background.  Edges blend by the matte.
- ``e_gen_recolor:prompt_<name>[;...];to-color_<hex or name>[;multiple_<bool>]``: the object's matte
  recoloured in OKLCh (the target's hue and chroma, the object's lightness variation kept, its mean
  moved half-way to the target's); deterministic, local.
- ``e_gen_restore``: classical restoration, local: JPEG deblocking across the 8x8 grid where the step is
  small, non-local-means denoising with a strength from the estimated noise, a gentle unsharp mask.

All refuse a transparent input (``needs_opaque``) and animated originals (stages.precheck).
"""

from __future__ import annotations

import logging
import math
import re
from dataclasses import dataclass

import numpy as np
import pyvips

from core.errors import BadRequest
from transforms.ops.effectlib import colour_arg
from transforms.values import object_classes

from . import detect, generation, matting, producers, stages, subparams, weights
from .oklab import recolour
from .restoration import restore

log = logging.getLogger(__name__)

MAX_REGIONS = 20
MAX_SIDE = 6140  # e_gen_remove works at up to this many pixels a side
DETECT_THRESHOLD = 0.3  # detector score for a named object
BOX_PADDING = 0.1  # the matte is found in the box grown by this share of its size, each side
DILATE = 0.04  # the removal mask grows by this share of the object's box (at least 3 px)
SHADOW_DEPTH = 0.2  # remove-shadow_true: a band of this share of the box's height below it
DEFAULT_BACKGROUND_PROMPT = "A natural, fitting background behind the subject, matching its lighting and perspective"
REMOVE_INSTRUCTION = "Remove every {what} from the image and fill in the background naturally; change nothing else"


def _text(args) -> str:
    return ":".join(args)


def _object(name: str) -> tuple[str, ...] | None:
    """The detector classes an object or category name selects (``wine glass``, ``wine-glass``,
    ``wine_glass`` alike), None for any other prompt."""
    return object_classes(re.sub(r"[\s-]+", "_", name.strip().lower()))


def _groups(text: str) -> list[str]:
    """`text` split on ``;`` outside parentheses."""
    return subparams.pieces(text, strict="e_gen_remove region")


def _box(text: str) -> tuple[int, int, int, int]:
    """``(x_10;y_20;w_30;h_40)`` (any order) -> (x, y, w, h)."""
    if not (text.startswith("(") and text.endswith(")")):
        raise BadRequest(f"Invalid e_gen_remove region {text!r}: expected (x_<n>;y_<n>;w_<n>;h_<n>)")
    found: dict[str, int] = {}
    for piece in text[1:-1].split(";"):
        key, sep, value = piece.strip().partition("_")
        if not sep or key not in ("x", "y", "w", "h") or key in found or not re.fullmatch(r"\d{1,6}", value):
            raise BadRequest(f"Invalid e_gen_remove region {text!r}: {piece!r} is not x_, y_, w_ or h_ "
                             "with a whole number of pixels (each once)")
        found[key] = int(value)
    if len(found) != 4:
        raise BadRequest(f"Invalid e_gen_remove region {text!r}: needs x_, y_, w_ and h_")
    if found["w"] == 0 or found["h"] == 0:
        raise BadRequest(f"Invalid e_gen_remove region {text!r}: w_ and h_ must be positive")
    return found["x"], found["y"], found["w"], found["h"]


def regions(value: str) -> tuple[tuple[int, int, int, int], ...]:
    """``(x_;y_;w_;h_)`` or ``((x_;y_;w_;h_);(...))`` -> boxes."""
    if not (value.startswith("(") and value.endswith(")")):
        raise BadRequest(f"Invalid e_gen_remove region {value!r}: expected (x_<n>;y_<n>;w_<n>;h_<n>) "
                         "or ((x_;y_;w_;h_);(...))")
    inner = value[1:-1].strip()
    boxes = tuple(_box(g.strip()) for g in _groups(inner)) if inner.startswith("(") else (_box(value),)
    if len(boxes) > MAX_REGIONS:
        raise BadRequest(f"Invalid e_gen_remove region: at most {MAX_REGIONS} regions")
    return boxes


def clipped(boxes, width: int, height: int) -> list[tuple[int, int, int, int]]:
    """The boxes clipped to a width x height image (x0, y0, x1, y1); 400 for one wholly outside."""
    out = []
    for x, y, w, h in boxes:
        x0, y0, x1, y1 = min(x, width), min(y, height), min(x + w, width), min(y + h, height)
        if x1 <= x0 or y1 <= y0:
            raise BadRequest(f"Invalid e_gen_remove region (x_{x};y_{y};w_{w};h_{h}): outside the "
                             f"{width}x{height} image")
        out.append((x0, y0, x1, y1))
    return out


# --- options --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RemoveOptions:
    regions: tuple[tuple[int, int, int, int], ...] = ()
    objects: tuple[str, ...] = ()  # prompt_ names: COCO objects/categories, or free text (needs a back-end)
    multiple: bool = False
    remove_shadow: bool = False
    seed: int | None = None
    prompt: str = ""  # a variation's prompt for the generator (the refiner offers none: takes_prompt False)

    @property
    def canonical(self) -> str:
        if self.regions:
            parts = ["region_(" + ";".join(f"(x_{x};y_{y};w_{w};h_{h})" for x, y, w, h in self.regions) + ")"]
        else:
            parts = [f"prompt_({';'.join(self.objects)})", f"multiple_{str(self.multiple).lower()}",
                     f"remove-shadow_{str(self.remove_shadow).lower()}"]
        if self.seed is not None:
            parts.append(f"seed_{self.seed}")
        if self.prompt:
            parts.append(f"with_{self.prompt}")
        return ";".join(parts)

    @property
    def free_text(self) -> tuple[str, ...]:
        """The prompts no detector class answers (``text`` among them)."""
        return tuple(o for o in self.objects if _object(o) is None)


@dataclass(frozen=True)
class BackgroundOptions:
    seed: int | None = None
    prompt: str = ""

    @property
    def canonical(self) -> str:
        parts = [f"prompt_{self.prompt}"] if self.prompt else []
        return ";".join(parts + ([f"seed_{self.seed}"] if self.seed is not None else []))


@dataclass(frozen=True)
class RecolorOptions:
    objects: tuple[str, ...]
    color: tuple[int, int, int]
    multiple: bool = False
    seed: int | None = None  # no effect on the pixels (recolouring is deterministic); kept for the refiner
    prompt: str = ""

    @property
    def canonical(self) -> str:
        r, g, b = self.color
        return f"prompt_({';'.join(self.objects)});to-color_{r:02x}{g:02x}{b:02x};multiple_{str(self.multiple).lower()}"


@dataclass(frozen=True)
class RestoreOptions:
    seed: int | None = None  # no effect (no parameters); kept for the refiner
    prompt: str = ""

    @property
    def canonical(self) -> str:
        return ""


def parse_remove(args, qualifiers) -> RemoveOptions:
    effect = "e_gen_remove"
    found = subparams.split(_text(args), ("prompt", "region", "multiple", "remove-shadow", "seed"), effect=effect)
    if ("prompt" in found) == ("region" in found):
        raise BadRequest("Invalid e_gen_remove: give either prompt_<object> or region_(x_;y_;w_;h_)")
    seed = subparams.seed(found["seed"], effect) if "seed" in found else None
    if "region" in found:
        if "multiple" in found or "remove-shadow" in found:
            raise BadRequest("Invalid e_gen_remove: multiple_ and remove-shadow_ go with prompt_, not region_")
        return RemoveOptions(regions=regions(found["region"]), seed=seed)
    objects = subparams.prompts(found["prompt"], effect)
    multiple = subparams.boolean(found["multiple"], "multiple", effect) if "multiple" in found else False
    shadow = subparams.boolean(found["remove-shadow"], "remove-shadow", effect) if "remove-shadow" in found else False
    options = RemoveOptions(objects=objects, multiple=multiple or len(objects) > 1, remove_shadow=shadow, seed=seed)
    if options.free_text and generation.prompt_backend() is None:
        raise BadRequest(f"e_gen_remove:prompt_{options.free_text[0]} is not an object the local detector knows "
                         f"(COCO names such as person, cat, cup): other prompts need a back-end that understands "
                         f"prompts: {generation.PROMPT_SETTINGS}")
    return options


def parse_background(args, qualifiers) -> BackgroundOptions:
    effect = "e_gen_background_replace"
    found = subparams.split(_text(args), ("prompt", "seed"), effect=effect)
    seed = subparams.seed(found["seed"], effect) if "seed" in found else None
    prompt = subparams.prompt(found["prompt"], effect) if "prompt" in found else ""
    require_prompt_backend(effect)
    return BackgroundOptions(seed, prompt)


def require_prompt_backend(effect: str) -> None:
    if generation.prompt_backend() is None:
        raise BadRequest(f"{effect} generates the background with a back-end that understands prompts, and none "
                         f"is configured: {generation.PROMPT_SETTINGS}")


def parse_recolor(args, qualifiers) -> RecolorOptions:
    effect = "e_gen_recolor"
    found = subparams.split(_text(args), ("prompt", "to-color", "multiple"), effect=effect)
    for key in ("prompt", "to-color"):
        if key not in found:
            raise BadRequest(f"Invalid e_gen_recolor: {key}_ is required")
    objects = subparams.prompts(found["prompt"], effect)
    unknown = [o for o in objects if _object(o) is None]
    if unknown:
        raise BadRequest(f"Invalid e_gen_recolor prompt {unknown[0]!r}: recolouring finds objects by the local "
                         "detector's COCO names (person, car, cup...) or their categories")
    r, g, b, _ = colour_arg("gen_recolor", found["to-color"], "to-color")
    multiple = subparams.boolean(found["multiple"], "multiple", effect) if "multiple" in found else False
    return RecolorOptions(objects, (r, g, b), multiple or len(objects) > 1)


def parse_restore(args, qualifiers) -> RestoreOptions:
    if any(args):
        raise BadRequest(f"Invalid e_gen_restore: it takes no parameters ({_text(args)!r})")
    return RestoreOptions()


# --- finding objects ------------------------------------------------------------------------------


def object_boxes(rgb: np.ndarray, names: tuple[str, ...], multiple: bool) -> list[tuple[str, float, tuple]]:
    """The detections of the named objects' classes (most confident first); only the best one
    unless `multiple`."""
    wanted = {c for name in names for c in (_object(name) or ())}
    found = [d for d in detect.detect(rgb, threshold=DETECT_THRESHOLD) if d[0] in wanted]
    return found if multiple else found[:1]


def object_matte(rgb: np.ndarray, boxes) -> np.ndarray:
    """float32 HxW in [0, 1]: per box, the salient matte of the box grown by BOX_PADDING, kept inside it
    ("Keep only the car", MODELS.md); the whole box when the matte finds nothing there."""
    height, width = rgb.shape[:2]
    alpha = np.zeros((height, width), np.float32)
    for _, _, (bx0, by0, bx1, by1) in boxes:
        px, py = (bx1 - bx0) * BOX_PADDING, (by1 - by0) * BOX_PADDING
        x0, y0 = max(0, int(bx0 - px)), max(0, int(by0 - py))
        x1, y1 = min(width, int(math.ceil(bx1 + px))), min(height, int(math.ceil(by1 + py)))
        if x1 - x0 < 2 or y1 - y0 < 2:
            continue
        crop = matting.salient_matte(np.ascontiguousarray(rgb[y0:y1, x0:x1]))
        if crop.max() < 0.5:
            crop = np.zeros_like(crop)
            crop[int(by0) - y0:int(math.ceil(by1)) - y0, int(bx0) - x0:int(math.ceil(bx1)) - x0] = 1.0
        np.maximum(alpha[y0:y1, x0:x1], crop, out=alpha[y0:y1, x0:x1])
    return alpha


def _dilated(mask: np.ndarray, radius: int) -> np.ndarray:
    from scipy import ndimage

    if radius <= 0:
        return mask
    structure = np.ones((2 * radius + 1, 2 * radius + 1), bool)
    return ndimage.binary_dilation(mask, structure=structure)


def _image(array: np.ndarray) -> pyvips.Image:
    return pyvips.Image.new_from_array(np.ascontiguousarray(array), interpretation="srgb")


def _gray(mask: np.ndarray) -> pyvips.Image:
    return pyvips.Image.new_from_array(np.ascontiguousarray(mask.astype(np.uint8) * 255))


def _sized(image: pyvips.Image, width: int, height: int, kernel: str) -> pyvips.Image:
    """`image` scaled to exactly width x height (resize rounds: cut, or the edge repeated)."""
    out = image.resize(width / image.width, vscale=height / image.height, kernel=kernel)
    out = out.crop(0, 0, min(width, out.width), min(height, out.height))
    return out.embed(0, 0, width, height, extend="copy")


def _models_of(producer, options) -> tuple:
    """The model files the stage's value needs (options: the stage's StageOptions)."""
    try:
        plan = stages.parse(options.dialect, options.transformation)
        value = producer.match(plan.steps[options.index])
    except (BadRequest, IndexError, AttributeError):
        return ()
    return producer.models_for(value) if value is not None else ()


def no_prompt(producer, stage: stages.StageInput) -> None:
    """400 for a variation's prompt given to an effect that has no use for one (never ignored silently)."""
    if stage.prompt:
        raise BadRequest(f"{producer.label} takes no prompt")


class _Effect(stages.StageProducer):
    takes_prompt = False

    def models_for(self, value) -> tuple:
        return ()

    def models_needed(self, options) -> tuple:
        return _models_of(self, options)


# --- e_gen_remove ----------------------------------------------------------------------------------


class GenerativeRemove(_Effect):
    kind = "gen_remove"
    label = "Generative remove"

    def parse(self, args, qualifiers) -> RemoveOptions:
        return parse_remove(args, qualifiers)

    def models_for(self, value: RemoveOptions) -> tuple:
        return (weights.NANODET, weights.ISNET) if value.objects and not value.free_text else ()

    def check_request(self, asset, plan, index: int) -> None:
        """400 before anything is queued for regions wholly outside the image, when the step's input is
        the original (the first step, with no geometry of its own); later steps are checked by the worker."""
        if index != 0:
            return
        step = plan.steps[0]
        value = self.match(step)
        if value is not None and value.regions and not self.geometry_only(step).resizes:
            clipped(value.regions, asset.width, asset.height)

    def generate(self, stage: stages.StageInput) -> producers.Produced:
        value: RemoveOptions = stage.value
        generation.check_prompt(stage.prompt)
        full = stage.image
        k = min(1.0, MAX_SIDE / max(full.width, full.height))
        image = full.resize(k, kernel="lanczos3") if k < 1 else full
        rgb = np.ascontiguousarray(image.numpy()[:, :, :3])
        height, width = rgb.shape[:2]
        meta: dict = {"seed": stage.seed}
        if value.regions:
            boxes = clipped(value.regions, full.width, full.height)
            mask = np.zeros((height, width), bool)
            for x0, y0, x1, y1 in boxes:
                mask[int(y0 * k):math.ceil(y1 * k), int(x0 * k):math.ceil(x1 * k)] = True
            meta["regions"] = [[x0, y0, x1 - x0, y1 - y0] for x0, y0, x1, y1 in boxes]
            prompt = stage.prompt
        elif value.free_text:
            mask = np.ones((height, width), bool)  # the back-end finds and removes them itself
            prompt = REMOVE_INSTRUCTION.format(what=", ".join(value.objects))
            if stage.prompt:
                prompt += ". " + stage.prompt
            meta["objects"] = list(value.objects)
        else:
            found = object_boxes(rgb, value.objects, value.multiple)
            meta["removed"] = len(found)
            meta["found"] = [{"name": n, "score": round(s, 3), "box": [round(v) for v in b]} for n, s, b in found]
            if not found:
                log.info("e_gen_remove: no %s found; the image is unchanged", ", ".join(value.objects))
                return producers.Produced(full, meta)
            mask = self._object_mask(rgb, found, value.remove_shadow)
            prompt = stage.prompt
        job = generation.FillJob(_image(rgb), _gray(mask), stage.seed, prompt, None, "inpaint")
        filled = generation.fill(job)
        meta["backend"] = generation.backend_name(prompt)
        meta["removed_share"] = round(float(mask.mean()), 4)
        if k < 1:  # the fill made at MAX_SIDE, composited into the full-size image
            big = _sized(_gray(mask), full.width, full.height, "nearest")
            up = _sized(filled, full.width, full.height, "lanczos3")
            filled = (big > 0).ifthenelse(up, full).copy(interpretation="srgb")
        return producers.Produced(filled, meta)

    @staticmethod
    def _object_mask(rgb: np.ndarray, found, shadow: bool) -> np.ndarray:
        height, width = rgb.shape[:2]
        mask = object_matte(rgb, found) > 0.5
        biggest = max(max(b[2] - b[0], b[3] - b[1]) for _, _, b in found)
        mask = _dilated(mask, max(3, round(biggest * DILATE)))
        if shadow:  # a band below each object's bottom edge, as wide as the object
            for _, _, (x0, y0, x1, y1) in found:
                depth = max(2, round((y1 - y0) * SHADOW_DEPTH))
                top, bottom = max(0, int(y1 - depth / 2)), min(height, int(y1 + depth))
                mask[top:bottom, max(0, int(x0)):min(width, math.ceil(x1))] = True
        return mask


# --- e_gen_background_replace ----------------------------------------------------------------------


class GenerativeBackgroundReplace(_Effect):
    kind = "gen_background_replace"
    label = "Generative background replace"
    takes_prompt = True

    def parse(self, args, qualifiers) -> BackgroundOptions:
        return parse_background(args, qualifiers)

    def models_for(self, value) -> tuple:
        return (weights.ISNET,)

    needs_opaque = False  # on a transparent image the transparent area is the background to make

    def generate(self, stage: stages.StageInput) -> producers.Produced:
        require_prompt_backend("e_gen_background_replace")
        prompt = stage.prompt or DEFAULT_BACKGROUND_PROMPT
        rgb = np.ascontiguousarray(stage.image.numpy()[:, :, :3])
        if stage.alpha is not None and stage.alpha.min() < 255:
            alpha = stage.alpha.numpy().astype(np.float32) / 255.0  # the subject is what is opaque already
        else:
            alpha = matting.salient_matte(rgb)
        background = alpha < 0.5
        job = generation.FillJob(stage.image, _gray(background), stage.seed, prompt, None, "inpaint")
        made = generation.fill(job).numpy().astype(np.float32)
        a = alpha[:, :, None]
        out = np.where(background[:, :, None], a * rgb + (1 - a) * made, rgb)  # the subject exactly, edges blended
        meta = {"seed": stage.seed, "prompt": prompt, "backend": generation.backend_name(prompt),
                "background_share": round(float(background.mean()), 4)}
        return producers.Produced(_image(np.clip(np.round(out), 0, 255).astype(np.uint8)), meta)


# --- e_gen_recolor -------------------------------------------------------------------------------------


class GenerativeRecolor(_Effect):
    kind = "gen_recolor"
    label = "Generative recolor"

    def parse(self, args, qualifiers) -> RecolorOptions:
        return parse_recolor(args, qualifiers)

    def models_for(self, value) -> tuple:
        return (weights.NANODET, weights.ISNET)

    def generate(self, stage: stages.StageInput) -> producers.Produced:
        value: RecolorOptions = stage.value
        no_prompt(self, stage)
        rgb = np.ascontiguousarray(stage.image.numpy()[:, :, :3])
        found = object_boxes(rgb, value.objects, value.multiple)
        meta = {"recoloured": len(found), "to_color": "%02x%02x%02x" % value.color,
                "found": [{"name": n, "score": round(s, 3), "box": [round(v) for v in b]} for n, s, b in found]}
        if not found:
            return producers.Produced(stage.image, meta)
        alpha = object_matte(rgb, found)
        return producers.Produced(_image(recolour(rgb, alpha, value.color)), meta)


# --- e_gen_restore -------------------------------------------------------------------------------------


class GenerativeRestore(_Effect):
    kind = "gen_restore"
    label = "Generative restore"

    def parse(self, args, qualifiers) -> RestoreOptions:
        return parse_restore(args, qualifiers)

    def generate(self, stage: stages.StageInput) -> producers.Produced:
        no_prompt(self, stage)
        out, meta = restore(np.ascontiguousarray(stage.image.numpy()[:, :, :3]))
        return producers.Produced(_image(out), meta)


REMOVE = producers.register(GenerativeRemove())
BACKGROUND_REPLACE = producers.register(GenerativeBackgroundReplace())
RECOLOR = producers.register(GenerativeRecolor())
RESTORE = producers.register(GenerativeRestore())
