"""``e_genvar[:seed_<n>][;prompt_<text>]``: a generated variation of the image that keeps its structure.

ImageKit's ``e-genvar`` ("slight variations ... in colour, texture and other visual elements ... the
structure and essence preserved") has no Cloudinary counterpart: this is our extension, and the
ImageKit dialect maps ``e-genvar`` to it.  A stage producer (transforms.ai.stages): its input is the
image at its step, the first request answers 423, the result is stored per seed and prompt, and the
Generative AI Refiner can ask it for variations (another seed, another prompt).

The whole image goes to the configured generation back-end that understands prompts
(transforms.ai.generation: the OpenAI-compatible images edits endpoint ``DAM_IMAGE_EDIT_URL``, or
IOPaint with ``DAM_INPAINT_PROMPTS``) with the mask covering everything and `INSTRUCTION` (plus the
URL's prompt); IOPaint gets the seed, the OpenAI API has none (each seed is still its own stored
result).  Nothing local can make a variation, so without such a back-end the URL is a 400 naming the
settings, never a copy passed off as a variation.  A transparent input keeps its alpha.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyvips

from core.errors import BadRequest

from . import generation, producers, stages, subparams

INSTRUCTION = ("Create a variation of this image: keep its composition, structure, subjects and perspective; "
               "vary colours, textures and small details naturally")


@dataclass(frozen=True)
class VariationOptions:
    seed: int | None = None
    prompt: str = ""

    @property
    def canonical(self) -> str:
        parts = [f"seed_{self.seed}"] if self.seed is not None else []
        return ";".join(parts + ([f"prompt_{self.prompt}"] if self.prompt else []))


def require_backend() -> None:
    if generation.prompt_backend() is None:
        raise BadRequest(f"e_genvar makes a variation with a back-end that understands prompts, and none "
                                    f"is configured: {generation.PROMPT_SETTINGS}")


def parse(args, qualifiers) -> VariationOptions:
    effect = "e_genvar"
    found = subparams.split(":".join(args), ("seed", "prompt"), effect=effect)
    seed = subparams.seed(found["seed"], effect) if "seed" in found else None
    prompt = subparams.prompt(found["prompt"], effect) if "prompt" in found else ""
    require_backend()
    return VariationOptions(seed, prompt)


def instruction(prompt: str) -> str:
    return f"{INSTRUCTION}. {prompt}" if prompt else INSTRUCTION


class GenerativeVariation(stages.StageProducer):
    kind = "genvar"
    label = "Generative variation"
    takes_prompt = True
    needs_opaque = False  # the variation keeps the structure, so the input's alpha still fits it
    changes_alpha = True

    def parse(self, args, qualifiers) -> VariationOptions:
        return parse(args, qualifiers)

    def generate(self, stage: stages.StageInput) -> producers.Produced:
        require_backend()
        prompt = instruction(stage.prompt)
        everything = (pyvips.Image.black(stage.image.width, stage.image.height) + 255).cast("uchar")
        job = generation.FillJob(stage.image, everything, stage.seed, prompt, None, "inpaint")
        made = generation.fill(job)
        if stage.alpha is not None and stage.alpha.min() < 255:
            made = made.bandjoin(stage.alpha).copy(interpretation="srgb")
        meta = {"seed": stage.seed, "prompt": stage.prompt, "backend": generation.backend_name(prompt)}
        return producers.Produced(made, meta)


GENVAR = producers.register(GenerativeVariation())
