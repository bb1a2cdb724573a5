"""Writing a generative step's variation into a Cloudinary transformation text.

`with_variation(text, seed, prompt)`: `text` with the seed (and, when `prompt` is given, the
prompt) of its last generative component written in -- ``b_gen_fill`` or an ``e_gen_*``
effect of a stage producer (transforms.ai.stages) -- so that a delivery URL with the result
shows exactly that variation (the Generative AI Refiner's variation URLs, refiners.generative).
The other components and parameters keep their order and spelling; the sub-parameters
``seed_`` and ``prompt_`` are replaced (the prompt last: a ``;`` in it then continues it).
BadRequest when the text has no generative component.  A prompt containing ``,`` or ``/``
cannot be written (the URL grammar splits on them): callers check the round trip.
"""

from __future__ import annotations

import re

from core.errors import BadRequest
from transforms.ai import stages

from .parser import split_component, split_transformation

_KEY = re.compile(r"[a-z][a-z-]*_")


def _generative(key: str, value: str) -> bool:
    kinds = {p.kind for p in stages.stage_producers()}
    name = value.partition(":")[0]
    return (key == "b" and name == "gen_fill") or (key == "e" and name in kinds and name != "gen_fill")


def _pieces(args: str) -> list[str]:
    """The sub-parameters of `args`, a prompt's continuation pieces joined back to it."""
    pieces: list[str] = []
    depth, current = 0, []
    for ch in args:
        depth += ch == "("
        depth -= ch == ")" and depth > 0
        if ch == ";" and depth == 0:
            pieces.append("".join(current))
            current = []
        else:
            current.append(ch)
    pieces.append("".join(current))
    merged: list[str] = []
    for piece in pieces if args else []:
        if merged and merged[-1].startswith("prompt_") and not _KEY.match(piece):
            merged[-1] += ";" + piece
        else:
            merged.append(piece)
    return merged


def with_variation(text: str, seed: int, prompt: str | None = None) -> str:
    components = split_transformation(text)
    for position in range(len(components) - 1, -1, -1):
        params = list(split_component(components[position]))
        for i, (key, value) in enumerate(params):
            if not _generative(key, value):
                continue
            name, _, args = value.partition(":")
            drop = ("seed_",) + (("prompt_",) if prompt is not None else ())
            kept = [p for p in _pieces(args) if not p.startswith(drop)]
            kept.append(f"seed_{int(seed)}")
            if prompt:
                kept.append(f"prompt_{prompt}")
            prompts = [p for p in kept if p.startswith("prompt_")]
            kept = [p for p in kept if not p.startswith("prompt_")] + prompts  # a prompt last
            params[i] = (key, f"{name}:{';'.join(kept)}")
            components[position] = ",".join(f"{k}_{v}" for k, v in params)
            return "/".join(components)
    raise BadRequest(f"{text!r} has no generative step (b_gen_fill or an e_gen_ effect)")
