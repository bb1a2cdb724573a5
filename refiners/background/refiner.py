"""The Background Removal Refiner on the refiner protocol (refiners.base).

Its revisions are hand-painted stroke lists (refiners.background.store); for a plan
starting with e_background_removal it contributes the current mask as an
``alpha_mask`` override of the stored cut-out, and the mask's revision to that plan's
cache key (``:mask:<revision>``, unchanged from before the protocol).
"""

from __future__ import annotations

from transforms.ai import bgremoval
from transforms.overrides import Override

from .. import base
from . import store


class BackgroundRefiner(base.Refiner):
    name = bgremoval.NAME
    payload = "strokes"
    screen = "refine-background"

    def validate(self, payload):
        return store.validate(payload)

    def save(self, asset, payload, *, base_revision=None, user=None):
        return store.save(asset, payload, base_revision=base_revision, user=user)

    def current(self, asset):
        return store.current(asset)

    def as_dict(self, revision, asset) -> dict:
        return store.as_dict(revision, asset)

    def revision(self, asset) -> int:
        return store.background_mask_revision(asset)

    def override(self, asset, plan) -> Override | None:
        if bgremoval.options_of(plan) is None:
            return None  # no query for any other plan
        mask = store.background_mask(asset)
        return Override(bgremoval.NAME, "alpha_mask", mask) if mask is not None else None

    def dependency(self, asset, kind: str) -> str:
        return store.background_removal(asset) if kind == bgremoval.NAME else ""


REFINER = base.register(BackgroundRefiner())
