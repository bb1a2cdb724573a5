"""The Generative AI Refiner's store: batches of variations and the chosen one per literal text.

- `generate(asset, text, count, prompt)`: `count` (1-`MAX_PER_CALL`) distinct random seeds for
  the last generative step of `text`, each a stored AI result requested from the lifecycle
  (transforms.ai.lifecycle.request: a pending row, a worker job on commit), kept in a
  `VariationBatch`; at most `MAX_PER_TRANSFORMATION` per asset version and text (429 beyond).
- `batch_dict`: a batch's state for polling; a variation whose job was lost (or that failed
  longer ago than the lifecycle's back-off) is queued again, as a delivery would.
- `choose(asset, text, variation)`: the variation (an AIResult of this asset version and of
  that text's generative step, done) becomes the standard result for the literal text:
  a `ChosenVariation`; `unchoose` drops it.  Both forget the derived rows of the kind
  ``generative`` (transforms.derived.forget_depending), so no delivery keeps an old rendering;
  the choice enters the cache key by itself (stages.dependency reads the chosen seed's row).
- `chooser(asset, plan, index)`: installed into transforms.ai.stages at ready; the choice for
  a plan whose ``literal`` equals a chosen text or starts with it and "/", for a stage among
  that text's steps (the longest text wins); never for a plan using variables (``$``).
- `drop_other_versions(asset)`: an overwrite of the original drops every choice and batch.
Texts are the literal components (named transformations inlined: ``plan.literal``), never a
canonical form: another parameter order or anything before the text is another text.
"""

from __future__ import annotations

import secrets
from urllib.parse import quote

from django.db import transaction

from assets.links import base_url, delivery_path
from assets.models import Asset
from core.errors import ApiError, BadRequest, Conflict, NotFound
from transforms import derived
from transforms.ai import generation, lifecycle, stages, subparams
from transforms.cloudinary.entry import from_text
from transforms.cloudinary.variation import with_variation
from transforms.models import AIResult

from ..models import ChosenVariation, VariationBatch

MAX_PER_CALL = 8
MAX_PER_TRANSFORMATION = 32  # variations per asset version and text
MAX_TEXT = 2000
SEED_RANGE = 2**31
URL_SAFE = ",/:;_$!*'()@=~-."


class TooMany(ApiError):
    status = 429


def _text(text) -> str:
    if not isinstance(text, str) or not text.strip():
        raise BadRequest("Missing required parameter - transformation")
    if len(text) > MAX_TEXT:
        raise BadRequest(f"Invalid transformation: longer than {MAX_TEXT} characters")
    if "$" in text:
        raise BadRequest("User defined variables are not supported in refined transformations")
    return text.strip()


def plan_of(asset, text: str):
    """`text` read as a delivery of the asset in its own format reads it."""
    return from_text(text).for_asset(asset)


def step_of(asset, text):
    """(plan, index, producer) of the last generative step of `text`; 400 without one."""
    plan = plan_of(asset, _text(text))
    if "$" in plan.literal:  # a named transformation that uses variables
        raise BadRequest("User defined variables are not supported in refined transformations")
    found = stages.find(plan, asset, choose=False)
    if found is None:
        raise BadRequest(f"{text!r} has no generative step (b_gen_fill or an e_gen_ effect) to refine")
    return plan, found[0], found[1]


def _count(value) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise BadRequest(f"Invalid count: expected an integer from 1 to {MAX_PER_CALL}")
    try:
        count = int(value)
    except ValueError:
        raise BadRequest(f"Invalid count {value!r}: expected an integer from 1 to {MAX_PER_CALL}") from None
    if not 1 <= count <= MAX_PER_CALL:
        raise BadRequest(f"Invalid count {count}: from 1 to {MAX_PER_CALL} variations per call")
    return count


def _prompt(producer, value) -> str | None:
    """None: the step's own prompt; else the normalised prompt (400 when it cannot be used)."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise BadRequest("Invalid prompt: expected text")
    if not producer.takes_prompt:
        raise BadRequest(f"{producer.label} takes no prompt in the refiner")
    prompt = subparams.prompt(value, "prompt")
    if "," in prompt or "/" in prompt:
        raise BadRequest("Invalid prompt: a prompt in a transformation URL cannot contain ',' or '/'")
    generation.check_prompt(prompt)
    return prompt


def variation_text(plan, asset, seed: int, prompt: str | None) -> str | None:
    """The literal text with the variation written in, if it reads back as that variation."""
    expected = stages.find(plan, asset, seed=seed, prompt=prompt)[2].canonical
    try:
        text = with_variation(plan.literal, seed, prompt)
        found = stages.find(plan_of(asset, text), asset, choose=False)
    except ApiError:
        return None
    return text if found is not None and found[2].canonical == expected else None


def url_of(asset, text: str | None, request=None) -> str | None:
    """The delivery URL of `text` for `asset` (unsigned; DAM_PUBLIC_BASE_URL or the request's host)."""
    return None if text is None else base_url(request) + delivery_path(asset, quote(text, safe=URL_SAFE))


def existing(asset, literal: str) -> int:
    batches = VariationBatch.objects.filter(asset_id=asset.pk, version_id=asset.version_id, transformation=literal)
    return sum(len(b.results) for b in batches.only("results"))


def generate(asset, text, count, prompt=None) -> VariationBatch:
    plan, _, producer = step_of(asset, text)
    count, prompt = _count(count), _prompt(producer, prompt)
    stages.precheck(asset, plan)
    made = existing(asset, plan.literal)
    if made + count > MAX_PER_TRANSFORMATION:
        raise TooMany(f"At most {MAX_PER_TRANSFORMATION} variations per asset version and transformation: "
                      f"{made} made for {plan.literal!r}, {count} more asked for; choose one of them")
    if prompt is not None and variation_text(plan, asset, 1, prompt) is None:
        raise BadRequest("Invalid prompt: it cannot be written into a transformation URL")
    if variation_text(plan, asset, 1, None) is None:
        raise BadRequest(f"{producer.label} has no variations to choose from: its URL syntax takes no seed")
    seeds: list[int] = []
    while len(seeds) < count:
        seed = secrets.randbelow(SEED_RANGE)
        if seed not in seeds:
            seeds.append(seed)
    rows = [lifecycle.request(asset, producer, stages.find(plan, asset, seed=s, prompt=prompt)[2]) for s in seeds]
    return VariationBatch.objects.create(id=secrets.token_hex(8), asset=asset, version_id=asset.version_id,
                                         transformation=plan.literal, prompt=prompt or "",
                                         results=[r.pk for r in rows])


def batch(asset, batch_id: str) -> VariationBatch:
    found = VariationBatch.objects.filter(pk=str(batch_id), asset_id=asset.pk).first()
    if found is None:
        raise NotFound(f"Variation batch {batch_id} not found for {asset.public_id}")
    return found


def _status(statuses: list[str]) -> str:
    if any(s in (AIResult.PENDING, AIResult.PROCESSING) for s in statuses):
        started = any(s != AIResult.PENDING for s in statuses)
        return "processing" if started else "pending"
    return "failed" if statuses and all(s == AIResult.FAILED for s in statuses) else "complete"


def batch_dict(asset, found: VariationBatch, request=None) -> dict:
    rows = {r.pk: r for r in AIResult.objects.filter(pk__in=found.results, asset_id=asset.pk)}
    plan = plan_of(asset, found.transformation) if found.version_id == asset.version_id else None
    variations = []
    for pk in found.results:
        row = rows.get(pk)
        if row is None or plan is None:
            variations.append({"id": str(pk), "seed": None, "url": None, "status": "failed",
                               "error": "the variation is gone (the asset changed)"})
            continue
        seed, prompt = int(row.spec.get("seed", 0)), str(row.spec.get("prompt", ""))
        if row.status != AIResult.DONE and lifecycle.is_stale(row):  # its job was lost (or failed a while ago)
            found_step = stages.find(plan, asset, seed=seed, prompt=prompt)
            row = lifecycle.request(asset, found_step[1], found_step[2])
        item = {"id": str(pk), "seed": seed, "prompt": prompt, "status": row.status,
                "url": url_of(asset, variation_text(plan, asset, seed, prompt or None), request)}
        if row.error:
            item["error"] = row.error
        variations.append(item)
    return {"id": found.pk, "status": _status([v["status"] for v in variations]),
            "transformation": found.transformation, "prompt": found.prompt, "variations": variations}


# --- choosing ------------------------------------------------------------------------------------


def _variation(asset, plan, producer, variation) -> AIResult:
    try:
        pk = int(str(variation))
    except ValueError:
        raise BadRequest(f"Invalid variation {variation!r}: expected the id of a variation") from None
    row = AIResult.objects.filter(pk=pk, asset_id=asset.pk).first()
    if row is None:
        raise NotFound(f"Variation {pk} not found for {asset.public_id}")
    if row.version_id != asset.version_id:
        raise Conflict(f"{asset.public_id} changed since variation {pk} was made; generate variations again")
    seed, prompt = int(row.spec.get("seed", 0)), str(row.spec.get("prompt", ""))
    expected = stages.find(plan, asset, seed=seed, prompt=prompt)[2].canonical
    if row.kind != producer.kind or row.options != expected:
        raise BadRequest(f"Variation {pk} is not a variation of the generative step of {plan.literal!r}")
    if row.status != AIResult.DONE:
        raise Conflict(f"Variation {pk} is {row.status}, not complete: choose it once it is")
    return row


def choose(asset, text, variation, user=None) -> ChosenVariation:
    plan, _, producer = step_of(asset, text)
    row = _variation(asset, plan, producer, variation)
    with transaction.atomic():
        locked = Asset.objects.select_for_update().filter(pk=asset.pk).only("pk", "version_id").first()
        if locked is None:
            raise NotFound(f"Resource not found - {asset.public_id}")
        if locked.version_id != row.version_id:
            raise Conflict(f"{asset.public_id} was replaced by a new version meanwhile; generate variations again")
        chosen, _ = ChosenVariation.objects.update_or_create(
            asset=asset, version_id=asset.version_id, transformation=plan.literal,
            defaults={"steps": len(plan.steps), "seed": int(row.spec.get("seed", 0)),
                      "prompt": str(row.spec.get("prompt", "")), "result": row,
                      "chosen_by": user if getattr(user, "pk", None) else None})
    forget(asset)
    return chosen


def unchoose(asset, text) -> None:
    literal = from_text(_text(text)).literal
    deleted, _ = ChosenVariation.objects.filter(asset_id=asset.pk, version_id=asset.version_id,
                                                transformation=literal).delete()
    if not deleted:
        raise NotFound(f"No chosen variation for {literal!r} on {asset.public_id}")
    forget(asset)


def forget(asset) -> None:
    derived.forget_depending(stages.GENERATIVE, asset=asset)


def chosen(asset) -> list[ChosenVariation]:
    return list(ChosenVariation.objects.filter(asset_id=asset.pk, version_id=asset.version_id))


def chosen_dict(asset, request=None) -> dict:
    out = []
    for item in chosen(asset):
        out.append({"transformation": item.transformation,
                    "variation": str(item.result_id) if item.result_id else None,
                    "seed": item.seed, "prompt": item.prompt, "url": url_of(asset, item.transformation, request)})
    return {"chosen": out}


def chooser(asset, plan, index: int) -> stages.Choice | None:
    literal = getattr(plan, "literal", "")
    if not literal or "$" in literal or getattr(asset, "pk", None) is None:
        return None
    best = None
    rows = ChosenVariation.objects.filter(asset_id=asset.pk, version_id=asset.version_id)
    for text, steps, seed, prompt, pk in rows.values_list("transformation", "steps", "seed", "prompt", "pk"):
        if (literal == text or literal.startswith(text + "/")) and index < steps:
            if best is None or len(text) > len(best[0]):
                best = (text, seed, prompt, pk)
    return None if best is None else stages.Choice(best[1], best[2], str(best[3]))


def label_of(asset, text: str) -> str:
    """The label of the last generative step of `text` ("Generative fill"...) when it has
    variations to choose from (its syntax takes a seed); "" for none or a bad text."""
    try:
        plan = plan_of(asset, text) if text else None
        found = stages.find(plan, asset, choose=False) if plan is not None else None
        if found is None or variation_text(plan, asset, 1, None) is None:
            return ""
    except ApiError:
        return ""
    return found[1].label


def preview_token(asset, text: str) -> str:
    """Which choice a delivery of `text` shows ("<id>.<seed>", "" for none): a screen's
    preview URL adds it to its query string, so a new choice shows at once."""
    try:
        plan = plan_of(asset, text) if text else None
        found = stages.find(plan, asset, choose=False) if plan is not None else None
    except ApiError:
        return ""
    choice = chooser(asset, plan, found[0]) if found is not None else None
    return f"{choice.id}.{choice.seed}" if choice is not None else ""


def drop_other_versions(asset) -> None:
    """An overwrite of the original: every choice and batch of the older versions goes."""
    ChosenVariation.objects.filter(asset_id=asset.pk).exclude(version_id=asset.version_id).delete()
    VariationBatch.objects.filter(asset_id=asset.pk).exclude(version_id=asset.version_id).delete()
