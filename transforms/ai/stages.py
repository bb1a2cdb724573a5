"""Generative steps: AI results made from the image *at a step* of the plan.

Background removal reads the original, so it must come first (transforms.ai.lifecycle).
Generative fill (``b_gen_fill`` with a padding crop) and the generative effects
(``e_gen_remove``...) may come anywhere at the top level of a plan: their input is what
the steps before them made.  Such a step is a *stage*: a `StageProducer` recognises it
(`match`), and the stored AIResult for it is keyed by `StageOptions.canonical`, a digest of
the meaning of the steps before it, of the step itself and of the seed and prompt in
effect -- so a longer chain starting with the same steps reuses it, and another seed is
another result.  The row keeps in ``spec`` what the worker needs to make it again: the
dialect's transformation text, the step's index, the seed and prompt.

- `find(plan, asset)`: the plan's last stage (index, producer, options), with the chosen
  variation applied when a refiner made one for this literal transformation (`install_chooser`;
  refiners.generative).  `source_of` is what transforms.ai.lifecycle asks: a first-step
  producer's effect (background removal) or the last stage.
- The worker (transforms.ai.jobs -> `StageProducer.load_input`) parses the text with the
  dialect that wrote it (`register_dialect`), renders the steps before the stage through
  the engine (an earlier stored AI result in them computed first), applies the step's
  geometry (`prepare_step`: for ``b_gen_fill`` the canvas and the mask of what to make),
  and the producer's `generate` makes the pixels.
- A delivery renders the rest of the plan from the stored result (`pixel_plan`): the
  step's own later operations (radius, border, angle...), then the following steps.
- The derived-cache key holds the stored result's id and etag (or ``pending``) under the
  dependency kind ``generative`` (`dependency`, registered with transforms.dependencies), so a
  new choice, which deletes the rows of that kind, is never met by an old rendering.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, replace
from typing import Any

import pyvips

from core.errors import BadRequest
from transforms import dependencies as D
from transforms import limits, pipeline, sources
from transforms.geometry import compute as compute_geometry
from transforms.models import AIResult
from transforms.ops import registry, resize
from transforms.originals import open_original, open_thumbnail
from transforms.plan import Action, Block, LayerStep
from transforms.values import Background

from . import generation, jobs, producers

GENERATIVE = "generative"  # the dependency kind of every stage's stored result
DEFAULT_SEED = 0  # what "no seed" means: stable, so the same URL always shows the same fill
_dialects: dict[str, Callable[[str], Any]] = {}
_choosers: list[Callable[[Any, Any, int], Choice | None]] = []


@dataclass(frozen=True)
class Choice:
    """A refined variation: the seed and prompt a stage uses instead of its URL's own."""

    seed: int
    prompt: str
    id: str = ""  # what chose it (the refiner's record), for messages


@dataclass(frozen=True)
class StageOptions:
    prefix: str  # the tokens of the steps before the stage (their meaning)
    step: str  # the stage step's token, seed and prompt as in effect
    seed: int
    prompt: str
    dialect: str = ""
    transformation: str = ""  # the dialect's text of the whole plan it was found in, as written (the
    # worker reads it back, and a choice for an earlier generative step in it is found by that literal text)
    index: int = 0  # the stage's top-level step index in that plan

    @property
    def canonical(self) -> str:
        digest = hashlib.sha256(f"{self.prefix}\n{self.step}\n{self.seed}\n{self.prompt}".encode()).hexdigest()
        return f"stage:{digest[:48]}"

    @property
    def spec(self) -> dict:
        return {"dialect": self.dialect, "transformation": self.transformation, "index": self.index,
                "seed": self.seed, "prompt": self.prompt}


@dataclass
class StageInput:
    """What `StageProducer.generate` gets."""

    asset: Any
    image: pyvips.Image  # sRGB uchar, 3 bands: the image after the step's geometry
    mask: pyvips.Image | None  # uchar 1 band, 255 = to generate (b_gen_fill's padding); None for effects
    placed: tuple[int, int, int, int] | None  # (left, top, width, height) of the input inside a padded canvas
    seed: int
    prompt: str
    step: Action
    value: Any  # the stage's options value (the effect's parsed value, or values.GenFill)
    alpha: pyvips.Image | None = None  # uchar 1 band: the input's transparency after the geometry (`image` is flattened)


class StageProducer(producers.Producer):
    """A producer whose input is the image at its step.  Subclasses implement `match`,
    `varied` and `generate` (and `check_input` for what they refuse)."""

    staged = True
    takes_prompt = True  # the refiner offers a prompt for its variations (False: e.g. removing named objects)

    def match(self, step) -> Any:
        """The step's generative value (with ``seed`` and ``prompt`` attributes) when `step`
        is this producer's, else None."""
        effect = getattr(step, "effect", None)
        return effect.value if effect is not None and effect.name == self.kind else None

    def varied(self, step: Action, seed: int, prompt: str) -> Action:
        """`step` with the seed and prompt of a variation."""
        value = replace(step.effect.value, seed=seed, prompt=prompt)
        return replace(step, effect=replace(step.effect, value=value))

    def remainder(self, step: Action) -> Action:
        """What of `step` a delivery still runs on the stored result: the operations after
        the geometry and the generative one."""
        return replace(step, crop="", width=None, height=None, ar=None, dpr=None, gravity=None, x=None, y=None,
                       zoom=None, effect=None, assignments=())

    def geometry_only(self, step: Action) -> Action:
        """The part of `step` the stage's input has gone through."""
        return Action(assignments=step.assignments, crop=step.crop, width=step.width, height=step.height,
                      ar=step.ar, dpr=step.dpr, gravity=step.gravity, x=step.x, y=step.y, zoom=step.zoom)

    needs_opaque = True  # refuses an input with transparency (Cloudinary: gen fill, remove, replace, recolor)

    def check_input(self, image: pyvips.Image) -> None:
        """400 for an input it cannot work on (the step's input, before its geometry)."""
        if self.needs_opaque and image.hasalpha() and image[image.bands - 1].min() < 255:
            raise BadRequest(f"{self.label} needs an image without transparency")

    def check_request(self, asset, plan, index: int) -> None:
        """400 for what a request can be refused for before anything is queued (a producer's own
        checks of its options against the asset, e.g. regions outside the image)."""

    def generate(self, stage: StageInput) -> producers.Produced:
        raise NotImplementedError

    # the lifecycle's side: options from a row, the input rendered by the engine
    def options_of(self, row) -> StageOptions:
        spec = row.spec or {}
        return StageOptions("", "", int(spec.get("seed", DEFAULT_SEED)), str(spec.get("prompt", "")),
                            str(spec.get("dialect", "")), str(spec.get("transformation", "")),
                            int(spec.get("index", 0)))

    def compute_from(self, asset, options: StageOptions, budget: limits.Budget) -> producers.Produced:
        plan = parse(options.dialect, options.transformation)
        if options.index >= len(plan.steps) or self.match(plan.steps[options.index]) is None:
            raise BadRequest(f"{options.transformation!r} has no {self.label.lower()} at step {options.index + 1}")
        step = self.varied(plan.steps[options.index], options.seed, options.prompt)
        before = render_prefix(asset, replace(plan, steps=plan.steps[:options.index]), budget)
        self.check_input(before)
        stage = prepare_step(asset, before, step, self, budget)
        stage.seed, stage.prompt = options.seed, options.prompt
        return self.generate(stage)


def register_dialect(name: str, parse_text: Callable[[str], Any]) -> None:
    """How the worker reads a stage's transformation text back into a Plan."""
    _dialects[name] = parse_text


def parse(dialect: str, text: str):
    if dialect not in _dialects:
        raise BadRequest(f"No URL dialect {dialect!r} in this process to read {text!r}")
    return _dialects[dialect](text)


def install_chooser(chooser: Callable[[Any, Any, int], Choice | None]) -> None:
    """`chooser(asset, plan, index)`: the refined variation for the stage at `index` of
    `plan` (its ``literal`` text decides), or None."""
    if chooser not in _choosers:
        _choosers.append(chooser)


def chosen(asset, plan, index: int) -> Choice | None:
    for chooser in _choosers:
        found = chooser(asset, plan, index)
        if found is not None:
            return found
    return None


# --- finding the stage ------------------------------------------------------------------------


def stage_producers() -> list[StageProducer]:
    """Every registered stage producer (the effect families loaded first: b_gen_fill's producer
    registers there too, and a plan without an effect has not loaded them)."""
    registry.load()
    return [p for p in producers.PRODUCERS.values() if getattr(p, "staged", False)]


def producer_of(step) -> tuple[StageProducer, Any] | None:
    if not isinstance(step, Action):
        return None
    for producer in stage_producers():
        value = producer.match(step)
        if value is not None:
            return producer, value
    return None


def contains_stage(steps) -> bool:
    """Whether any step, however nested, is a stage (check_plan: not inside blocks or layers)."""
    for step in steps:
        if isinstance(step, Block) and (contains_stage(step.then) or contains_stage(step.otherwise)):
            return True
        if isinstance(step, LayerStep) and contains_stage((step.own, *step.steps)):
            return True
        if producer_of(step) is not None:
            return True
    return False


def find(plan, asset=None, *, seed: int | None = None, prompt: str | None = None, choose: bool = True):
    """(index, producer, StageOptions) of `plan`'s last top-level stage, or None.  `seed` and
    `prompt` replace the step's own (a variation); else a refiner's choice for `asset` does
    (`choose`), else the URL's."""
    steps = plan.steps
    for index in range(len(steps) - 1, -1, -1):
        found = producer_of(steps[index])
        if found is None:
            continue
        producer, value = found
        use_seed = value.seed if value.seed is not None else DEFAULT_SEED
        use_prompt = value.prompt
        if seed is not None or prompt is not None:
            use_seed = use_seed if seed is None else seed
            use_prompt = use_prompt if prompt is None else prompt
        elif choose and asset is not None:
            choice = chosen(asset, plan, index)
            if choice is not None:
                use_seed, use_prompt = choice.seed, choice.prompt
        step = producer.varied(steps[index], use_seed, use_prompt)
        options = StageOptions(_prefix(plan, asset, index, choose), step.token, use_seed, use_prompt,
                               getattr(plan, "dialect", "cloudinary"), plan.literal or plan.transformation, index)
        return index, producer, options
    return None


def _prefix(plan, asset, index: int, choose: bool) -> str:
    """The meaning of the steps before `index`: their tokens, an earlier generative step's with
    the variation chosen for it (its pixels are this step's input, so its choice is part of it)."""
    tokens = []
    for at, step in enumerate(plan.steps[:index]):
        found = producer_of(step) if choose and asset is not None else None
        choice = chosen(asset, plan, at) if found is not None else None
        tokens.append((found[0].varied(step, choice.seed, choice.prompt) if choice else step).token)
    return "/".join(tokens)


def source_of(plan, asset=None):
    """(producer, options) of the stored result `plan` starts from: a first-step producer's
    effect (background removal), or the plan's last stage; None for neither."""
    steps = getattr(plan, "steps", ())
    first = producers.of_step(steps[0]) if steps else None
    found = find(plan, asset) if steps else None
    if found is not None:
        return found[1], found[2]
    if first is not None and not getattr(first, "staged", False):
        return first, steps[0].effect.value
    return None


def pixel_plan(plan, asset=None):
    """The plan left to run on the stored result of `plan`'s source: after a stage, the
    stage step's remaining operations and the steps after it; after a first-step
    producer, its component without the effect and the rest (an empty action keeps a
    resize of the result from being planned as a shrink-on-load of the original)."""
    found = find(plan, asset, choose=False)
    if found is not None:
        index, producer, _ = found
        rest = producer.remainder(plan.steps[index])
        steps = tuple(plan.steps[index + 1:])
        steps = steps if rest.empty else (rest,) + steps
    else:
        first = replace(plan.steps[0], effect=None)
        rest = tuple(plan.steps[1:])
        steps = rest if first.empty else (first,) + rest
    if steps and isinstance(steps[0], Action) and steps[0].resizes:
        steps = (Action(),) + steps
    return replace(plan, steps=steps)


def precheck(asset, plan) -> None:
    """400 before anything is queued for `plan`'s stage: a prompt no configured back-end
    understands, an animated original, or (for a producer that needs an opaque input) a
    transparent one that no step before it flattens."""
    found = find(plan, asset, choose=False)
    if found is None or asset is None:
        return
    index, producer, options = found
    if options.prompt and producer.takes_prompt:
        generation.check_prompt(options.prompt)
    pages, transparent = original_facts(asset)
    if pages > 1:
        raise BadRequest(f"{producer.label} is not supported on animated images")
    flattened = any(isinstance(s, Action) and s.background is not None and s.background.gen is None
                    for s in plan.steps[:index])
    if producer.needs_opaque and transparent and not flattened:
        raise BadRequest(f"{producer.label} needs an image without transparency")
    producer.check_request(asset, plan, index)


_facts: dict[str, tuple[int, bool]] = {}


def original_facts(asset) -> tuple[int, bool]:
    """(pages, whether some pixel is transparent) of the asset's original, read once per
    process and version (the header, and the alpha of a small copy when there is one)."""
    found = _facts.get(asset.version_id)
    if found is None:
        with open_original(asset) as image:
            pages = image.get("n-pages") if image.get_typeof("n-pages") else 1
            alpha, width, height = image.hasalpha(), image.width, image.height
        transparent = False
        if alpha:
            k = min(1.0, 256 / max(width, height))
            small = open_thumbnail(asset, max(1, round(width * k)), max(1, round(height * k)), True)
            transparent = bool(small.hasalpha() and small[small.bands - 1].min() < 255)
        if len(_facts) > 1024:
            _facts.clear()
        found = _facts[asset.version_id] = (int(pages), transparent)
    return found


# --- the worker's side ----------------------------------------------------------------------------


def render_prefix(asset, prefix, budget: limits.Budget) -> pyvips.Image:
    """The image the steps before a stage make (from the original, or from an earlier
    stored AI result, computed here first when missing), sRGB uchar, in memory."""
    nested = source_of(prefix, asset)
    if nested is not None:
        jobs.compute_now(asset, *nested)
    with ExitStack() as stack:
        start = sources.choose(asset, prefix, stack)
        image = pipeline.run_plan(asset, start.image, start.plan, budget=budget, shrink_on_load=start.original)
        image = image.copy_memory()
    if image.interpretation not in ("srgb", "b-w") or image.format != "uchar":
        image = image.colourspace("srgb").cast("uchar")
    return image


def prepare_step(asset, image: pyvips.Image, step: Action, producer: StageProducer,
                 budget: limits.Budget) -> StageInput:
    """The step's geometry applied to `image`; for a padding with generated fill, the canvas
    (the new area grey for now) and the mask of what to make."""
    state = pipeline.State(asset, budget, image.width, image.height)
    geometry_step = producer.geometry_only(step)
    value = producer.match(step)
    mask, placed = None, None
    if geometry_step.resizes:
        if isinstance(step.background, Background) and step.background.gen is not None:
            request = pipeline.request(geometry_step, image, state)
            geometry = compute_geometry(image.width, image.height, request)
            limits.check_output(*geometry.out_size)
            image = resize.apply(image, geometry, (128, 128, 128, 255))  # the mask says what is new
            canvas = geometry.canvas
            if canvas is not None:
                placed = (canvas.left, canvas.top, geometry.width, geometry.height)
                keep = pyvips.Image.black(geometry.width, geometry.height).cast("uchar")
                everything = (pyvips.Image.black(canvas.width, canvas.height) + 255).cast("uchar")
                mask = everything.insert(keep, canvas.left, canvas.top)
        else:
            image = pipeline.action(image, geometry_step, state)
    image = image.copy_memory()
    alpha = None
    if image.hasalpha():
        alpha = image[image.bands - 1].cast("uchar")
        image = image.flatten(background=[255] * (image.bands - 1))
    if image.bands < 3:
        image = image.bandjoin([image, image])
    return StageInput(asset, image[0:3].cast("uchar"), mask, placed, DEFAULT_SEED, "", step, value, alpha)


# --- what the derived-cache key records --------------------------------------------------------------


def dependency(asset, plan):
    """The stage's stored result (id and etag once done) under the kind ``generative``."""
    found = find(plan, asset) if asset is not None and asset.pk else None
    if found is None:
        return
    _, producer, options = found
    row = AIResult.objects.filter(kind=producer.kind, version_id=asset.version_id,
                                  options=options.canonical).only("pk", "status", "etag").first()
    if row is None or row.status != AIResult.DONE:
        yield D.Dependency(GENERATIVE, f"gen:{producer.kind}:pending")
    else:
        yield D.Dependency(GENERATIVE, f"gen:{producer.kind}:{row.pk}:{row.etag}")


D.register_plan_dependency(dependency)

