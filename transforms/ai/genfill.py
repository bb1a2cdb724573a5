"""Generative fill (``b_gen_fill`` with a padding crop): the padding made, not a colour.

A stage producer (transforms.ai.stages): the worker renders the steps before it, pads
the result as the step's geometry says (the canvas and the mask of the new area), and
the configured generation back-end (transforms.ai.generation: local PatchMatch by
default, or an operator's HTTP back-end) makes the new area, with the subject kept out
of the sources it copies from (the salient-object matte when the model is fetched, and
the faces).  The original's pixels inside the canvas stay exactly as the pad placed them.
The seed (``seed_<n>``, default 0) picks the variation; a prompt needs a back-end that
understands prompts (`generation.check_prompt`, a 400 naming the settings otherwise).
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import replace

import numpy as np
import pyvips

from core.errors import BadRequest
from transforms import focus
from transforms.values import Background, GenFill

from . import generation, producers, stages, weights

log = logging.getLogger(__name__)
MATTE_SIDE = 1024  # the subject's matte is found on the placed original at most this size
MATTES_KEPT = 4  # per process: a worker making a batch of variations finds the subject once (ISNet: ~2 s)
_mattes: dict[str, np.ndarray] = {}


class GenerativeFill(stages.StageProducer):
    kind = "gen_fill"
    label = "Generative fill"

    def match(self, step):
        background = getattr(step, "background", None)
        return background.gen if isinstance(background, Background) and background.gen is not None else None

    def varied(self, step, seed: int, prompt: str):
        return replace(step, background=Background(gen=GenFill(prompt, seed)))

    def remainder(self, step):
        return replace(super().remainder(step), background=None)

    def parse(self, args, qualifiers):  # not an effect: b_gen_fill is read by the dialect (values.GenFill)
        raise BadRequest("gen_fill is a background (b_gen_fill), not an effect")

    def generate(self, stage: stages.StageInput) -> producers.Produced:
        generation.check_prompt(stage.prompt)
        if stage.mask is None or stage.placed is None:  # the geometry made no padding: nothing to generate
            return producers.Produced(stage.image, {"seed": stage.seed, "generated": 0.0})
        keep_out = subject_mask(stage)
        job = generation.FillJob(stage.image, stage.mask, stage.seed, stage.prompt, keep_out, "outpaint")
        filled = generation.fill(job)
        share = float(stage.mask.avg()) / 255.0
        return producers.Produced(filled, {"seed": stage.seed, "prompt": stage.prompt, "generated": round(share, 4),
                                           "backend": generation.backend_name(stage.prompt)})


def subject_mask(stage: stages.StageInput) -> pyvips.Image:
    """255 where the subject is on the canvas: the salient-object matte of the placed
    original (when the model is fetched) and the faces; never copied into the padding."""
    left, top, width, height = stage.placed
    canvas = stage.image
    subject = pyvips.Image.black(width, height).cast("uchar")
    if weights.is_present(weights.ISNET, verify=False):
        from . import matting  # onnxruntime loads only where a matte is needed

        inner = canvas.crop(left, top, width, height)
        k = min(1.0, MATTE_SIDE / max(width, height))
        small = inner.resize(k) if k < 1 else inner
        rgb = np.ascontiguousarray(small.numpy()[:, :, :3], dtype=np.uint8)
        key = hashlib.md5(rgb.tobytes(), usedforsecurity=False).hexdigest()  # the variations of one input share it
        found_matte = _mattes.get(key)
        if found_matte is None:
            found_matte = (matting.salient_matte(rgb) > 0.5).astype(np.uint8) * 255
            _mattes[key] = found_matte
            while len(_mattes) > MATTES_KEPT:
                _mattes.pop(next(iter(_mattes)))
        found = pyvips.Image.new_from_array(found_matte)
        if k < 1:
            found = found.resize(width / found.width, vscale=height / found.height, kernel="nearest")
        subject = found.crop(0, 0, min(width, found.width), min(height, found.height)).cast("uchar")
        subject = subject.morph(pyvips.Image.new_from_array([[255] * 9] * 9), "dilate")  # a margin around it
    mask = pyvips.Image.black(canvas.width, canvas.height).cast("uchar").insert(subject, left, top)
    asset = stage.asset
    faces = focus.faces(asset) if asset is not None and getattr(asset, "pk", None) else []
    if faces and asset.width and asset.height:
        sx, sy = width / asset.width, height / asset.height  # faces are on the original; the placed image is it scaled
        for x, y, w, h in faces:
            box = pyvips.Image.black(max(1, int(w * sx)), max(1, int(h * sy))).add(255).cast("uchar")
            mask = mask.insert(box, left + int(x * sx), top + int(y * sy))
    return mask


PRODUCER = producers.register(GenerativeFill(), effect=False)
