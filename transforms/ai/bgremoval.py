"""``e_background_removal[:hints_(<names>)][;fineedges_y]``: AI background removal on the fly.

As Cloudinary documents it: it must be the first component (`check_plan`, a 400
otherwise; never on a layer); the first request for an asset version and a set of
options queues one task and answers 423 with ``Retry-After`` (`open_cutout`); the
worker (`compute`) stores the RGBA cut-out once (inputs above
DAM_BG_REMOVAL_MAX_PIXELS, 2048x2048, scaled down first keeping the aspect); from then
on every URL starting with it renders from the stored cut-out (`pixel_plan` drops the
effect from the steps the pipeline runs) without running the model again, and the
derived-cache key names the cut-out (`dependency`).  A new version of the asset drops
its cut-outs (transforms.ai.receivers).  The Background Removal Refiner's mask of the
asset (refiners.background) is applied to the stored cut-out and its revision enters the
key (refiners.resolve).
"""

from __future__ import annotations

import hashlib
import logging
import math
import os
import time
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import timedelta

import numpy as np
import pyvips
from django.conf import settings
from django.core.files import File
from django.core.files.storage import storages
from django.db import transaction
from django.utils import timezone

from assets import tempfiles
from assets.api.errors import ApiError, BadRequest
from assets.ingest import discard_file
from transforms import sources
from transforms.ops.registry import register

NAME = "background_removal"
# The foreground objects Cloudinary documents for hints.
HINTS = frozenset(
    "airplane bus dining-table sheep bicycle car dog sofa bird cat horse train boat chair person tv "
    "bottle cow potted-plant motorbike".split()
)
FIRST_RULE = "e_background_removal must be the first component of the transformation"
STALE_AFTER = timedelta(minutes=10)  # a pending or failed row older than this is queued again

log = logging.getLogger(__name__)


class CutoutPending(ApiError):
    """Cloudinary answers 423 until the background-removed version exists."""

    status = 423


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


def _apply(image, value, ctx):
    """Nothing left to do on pixels: the executor starts such a plan from the stored
    cut-out (`open_cutout`) and `check_plan` allows the effect nowhere else."""
    return image


register(NAME, parse, _apply, changes_alpha=True,
         depends_on=lambda asset, options: dependency(asset, options))  # defined below


# --- the plan -----------------------------------------------------------------------------


def _is_removal(step) -> bool:
    effect = getattr(step, "effect", None)
    return effect is not None and effect.name == NAME


def check_plan(steps) -> None:
    """400 unless e_background_removal appears only in the first step, as a plain component."""
    from transforms.plan import Block, LayerStep

    def walk(items, top: bool):
        for index, step in enumerate(items):
            if isinstance(step, Block):
                walk(step.then, False)
                walk(step.otherwise, False)
            elif isinstance(step, LayerStep):
                if _is_removal(step.own) or any(_is_removal(s) for s in _flatten(step.steps)):
                    raise BadRequest(f"{FIRST_RULE}; it cannot be used on a layer (apply the base image as an "
                                     "underlay instead)")
            elif _is_removal(step) and not (top and index == 0):
                raise BadRequest(FIRST_RULE)

    walk(steps, True)


def _flatten(steps):
    from transforms.plan import Block, LayerStep

    for step in steps:
        if isinstance(step, Block):
            yield from _flatten(step.then)
            yield from _flatten(step.otherwise)
        elif isinstance(step, LayerStep):
            yield step.own
            yield from _flatten(step.steps)
        else:
            yield step


def options_of(plan) -> Options | None:
    """The options when `plan` starts with e_background_removal, else None."""
    steps = getattr(plan, "steps", ())
    return steps[0].effect.value if steps and _is_removal(steps[0]) else None


def pixel_plan(plan):
    """The plan the pipeline runs on the stored cut-out: the effect taken out of the first
    component (its other parameters stay; an empty action keeps the shrink-on-load of the
    original out of the way when the first remaining step resizes, be it that component
    or the next one)."""
    from transforms.plan import Action

    first, rest = plan.steps[0], tuple(plan.steps[1:])
    first = replace(first, effect=None)
    steps = rest if first.empty else (first,) + rest
    if steps and isinstance(steps[0], Action) and steps[0].resizes:
        steps = (Action(),) + steps
    return replace(plan, steps=steps)


# --- stored cut-outs -------------------------------------------------------------------------


def cutout_row(asset, options: Options):
    from transforms.models import Cutout

    return Cutout.objects.filter(version_id=asset.version_id, options=options.canonical).first()


def dependency(asset, options: Options) -> str:
    """What the derived-cache key records of the cut-out (its id and etag once stored)."""
    from transforms.models import Cutout

    from refiners import resolve

    row = cutout_row(asset, options)
    if row is None or row.status != Cutout.DONE:
        return "cutout:pending"
    return f"cutout:{row.pk}:{row.etag}" + resolve.background_removal(asset)  # + the refiner's mask revision


def _retry_after() -> dict:
    return {"Retry-After": str(int(settings.DAM_BG_REMOVAL_RETRY_AFTER))}


def request(asset, options: Options, requester=None):
    """The asset version's cut-out row for `options`: created pending with one task queued
    (on commit) when missing; a pending or failed one older than STALE_AFTER is queued again
    (by whichever request wins the update).  A delivery's `requester` (quota.Requester)
    queues a run only within transforms.ai.quota's bounds (401/429 otherwise)."""
    from transforms.models import Cutout

    from . import models, quota

    client = requester.client if requester is not None else ""
    row = cutout_row(asset, options)
    if row is not None and row.status == Cutout.DONE:
        return row
    models.require(models.ISNET)  # a clear 503 naming fetch_models rather than a failing task
    if row is None:
        with transaction.atomic():
            quota.admit(asset, options, requester)
            row, created = Cutout.objects.get_or_create(version_id=asset.version_id, options=options.canonical,
                                                        defaults={"asset": asset, "client": client})
        if created:
            _enqueue(row.pk)
        return row
    if row.status != Cutout.DONE and timezone.now() - row.updated_at > STALE_AFTER:
        with transaction.atomic():
            quota.admit(asset, options, requester, requeue=True)
            requeued = Cutout.objects.filter(pk=row.pk, updated_at=row.updated_at).update(
                status=Cutout.PENDING, error="", client=client, updated_at=timezone.now())
        if requeued:
            _enqueue(row.pk)
            row.refresh_from_db()
    return row


def _enqueue(cutout_id: int) -> None:
    from transforms.tasks import remove_background

    transaction.on_commit(lambda: remove_background.delay(cutout_id))


@contextmanager
def _open_png(row, mask=None):
    """The stored cut-out, with the refiner's mask (refiners.background) applied."""
    from refiners import background

    with storages["derived"].open(row.storage_name, "rb") as fh:
        data = fh.read()
    yield background.apply(pyvips.Image.new_from_buffer(data, "", access="sequential"), mask)


def open_cutout(asset, plan):
    """For a plan starting with e_background_removal: a context manager yielding the stored
    cut-out as a pyvips image; 423 (task queued) while it does not exist.  None otherwise."""
    from transforms.models import Cutout

    options = options_of(plan)
    if options is None:
        return None
    row = request(asset, options)
    if row.status == Cutout.DONE:
        if storages["derived"].exists(row.storage_name):
            from refiners import resolve

            return _open_png(row, resolve.background_mask(asset))
        log.warning("cut-out file %s is missing; computing it again", row.storage_name)
        Cutout.objects.filter(pk=row.pk).delete()
        row = request(asset, options)
    raise_unless_done(asset, row)


def raise_unless_done(asset, row) -> None:
    """422 for a failed run, 423 with Retry-After while one is queued or running."""
    from transforms.models import Cutout

    if row.status == Cutout.DONE:
        return
    if row.status == Cutout.FAILED:
        raise ApiError(f"Background removal failed for {asset.public_id}: {row.error}", 422)
    raise CutoutPending(f"Background removal of {asset.public_id} is in progress; try again shortly",
                        headers=_retry_after())


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
    from . import matting

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
    from . import detect, matting

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


def compute(cutout_id: int) -> str:
    """Run the model for one cut-out row and store the PNG.  Returns what happened."""
    from transforms.originals import normalise, open_original
    from transforms.models import Cutout

    row = Cutout.objects.select_related("asset").filter(pk=cutout_id).first()
    if row is None or row.status == Cutout.DONE:
        return "gone" if row is None else "done already"
    asset = row.asset
    if asset.version_id != row.version_id:
        Cutout.objects.filter(pk=row.pk).delete()
        return "stale"
    options = parse(tuple([row.options]) if row.options else (), {})
    started = time.monotonic()
    try:
        with open_original(asset) as image:
            image = normalise(image.autorot()).copy_memory()
        result = cut_out(image, options)
        with tempfiles.scratch_dir("cutout") as tmp:
            out = os.path.join(tmp, "cutout.png")
            # An intermediate read back by renders, never served as is: stored uncompressed. At
            # 2048x2048 it encodes in 0.02 s (level 1: 0.12 s, level 6: 0.23 s) and decodes in
            # 0.014 s (level 1 or 6: 0.07 s), so every render from it is faster too; +46% bytes
            # over level 1 (bench/bg_removal.py).
            result.pngsave(out, compression=0)
            digest = hashlib.md5(usedforsecurity=False)
            with open(out, "rb") as fh:
                digest.update(fh.read())
            tag = hashlib.sha1(row.options.encode()).hexdigest()[:10]
            name = f"{row.version_id[:2]}/{row.version_id}/cutout-{tag}.png"
            with open(out, "rb") as fh:
                stored = storages["derived"].save(name, File(fh, name=name))
    except ApiError as exc:
        return _failed(row, exc.message)
    except Exception as exc:  # noqa: BLE001 - recorded on the row, answered as 422
        log.exception("background removal of %s failed", asset)
        return _failed(row, f"{type(exc).__name__}: {exc}")
    seconds = time.monotonic() - started
    with transaction.atomic():
        current = Cutout.objects.select_for_update().filter(pk=row.pk).first()
        if current is None:  # the asset was replaced or deleted meanwhile
            transaction.on_commit(lambda: discard_file(stored, "derived"))
            return "gone"
        current.status, current.storage_name, current.error = Cutout.DONE, stored, ""
        current.width, current.height, current.etag = result.width, result.height, digest.hexdigest()
        current.runs, current.seconds = current.runs + 1, seconds
        current.save()
    log.info("background removal of %s (%s) took %.2fs", asset, row.options or "defaults", seconds)
    return "done"


def compute_now(asset, options: Options) -> str:
    """The asset version's cut-out for `options`, computed in this process when it is not
    stored yet (eager renders, which must come back rendered rather than 423).  Returns
    "done already" or what `compute` did; ApiError when the removal failed (422) or the
    asset changed meanwhile (503)."""
    from transforms.models import Cutout

    row, _ = Cutout.objects.get_or_create(version_id=asset.version_id, options=options.canonical,
                                          defaults={"asset": asset})
    if row.status == Cutout.DONE:
        if row.storage_name and storages["derived"].exists(row.storage_name):
            return "done already"
        log.warning("cut-out file %s is missing; computing it again", row.storage_name)
        Cutout.objects.filter(pk=row.pk).update(status=Cutout.PENDING)
    outcome = compute(row.pk)
    row = Cutout.objects.filter(pk=row.pk).first()
    if row is not None and row.status == Cutout.DONE:
        return outcome
    if row is not None and row.status == Cutout.FAILED:
        raise ApiError(f"Background removal failed for {asset.public_id}: {row.error}", 422)
    raise ApiError(f"Resource changed while rendering, try again - {asset.public_id}", 503, {"Retry-After": "1"})


def _failed(row, message: str) -> str:
    from transforms.models import Cutout

    Cutout.objects.filter(pk=row.pk).update(status=Cutout.FAILED, error=message[:2000], runs=row.runs + 1,
                                            updated_at=timezone.now())
    return "failed"


def _stored_source(asset, plan, stack):
    """The executor's source for a plan starting with the effect (transforms.sources)."""
    cutout = open_cutout(asset, plan)
    return None if cutout is None else sources.Start("ai_result", stack.enter_context(cutout), pixel_plan(plan))


sources.register("ai_result", _stored_source, priority=10)
