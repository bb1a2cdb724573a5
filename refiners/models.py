"""Per-asset data the delivery pipeline applies: background-removal masks, chosen generative variations."""

from __future__ import annotations

from django.conf import settings
from django.db import models

__all__ = ["BackgroundMask", "ChosenVariation", "VariationBatch"]


class BackgroundMask(models.Model):
    """One revision of the hand-painted refinement of an asset's background removal.

    ``strokes`` is the full stroke list (refiners.background documents the format) and
    ``storage_name`` its rasterisation: a single-band PNG in the `derived` storage at the
    cut-out's size (128 = keep the model's matte, 0 = removed, 255 = restored; "" when
    there are no strokes).  Revisions only grow per asset; older ones stay as history.
    The current mask is the newest revision of the asset's current ``version_id``
    (refiners.background.current); a new version of the asset drops the others
    (refiners.receivers)."""

    asset = models.ForeignKey("assets.Asset", on_delete=models.CASCADE, related_name="background_masks")
    version_id = models.CharField(max_length=32, help_text="The asset version these strokes were painted on")
    revision = models.PositiveIntegerField()
    strokes = models.JSONField(default=list, blank=True)
    storage_name = models.CharField(max_length=512, blank=True, default="",
                                    help_text="The rasterised mask PNG in the `derived` storage")
    width = models.PositiveIntegerField(default=0)
    height = models.PositiveIntegerField(default=0)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-revision"]
        constraints = [models.UniqueConstraint(fields=["asset", "revision"], name="background_mask_revision")]
        indexes = [models.Index(fields=["asset", "version_id", "-revision"], name="background_mask_current")]

    def __str__(self) -> str:
        return f"{self.asset_id}@{self.version_id} r{self.revision} ({len(self.strokes or [])} strokes)"


class ChosenVariation(models.Model):
    """The variation of a generative step chosen for an asset version and a *literal*
    transformation text (refiners.generative): deliveries whose transformation is that text,
    or starts with it and "/", get its seed and prompt for their generative steps among the
    text's first ``steps`` top-level steps (transforms.ai.stages chooser).  One per asset
    version and text; an overwrite of the original drops them (refiners.receivers)."""

    asset = models.ForeignKey("assets.Asset", on_delete=models.CASCADE, related_name="chosen_variations")
    version_id = models.CharField(max_length=32, help_text="The asset version it was chosen on")
    transformation = models.TextField(help_text="The literal transformation text (named ones inlined)")
    steps = models.PositiveIntegerField(help_text="How many top-level plan steps the text makes")
    seed = models.BigIntegerField()
    prompt = models.TextField(blank=True, default="")
    result = models.ForeignKey("transforms.AIResult", null=True, blank=True, on_delete=models.SET_NULL,
                               related_name="+", help_text="The stored result it shows")
    chosen_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                  related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["transformation"]
        indexes = [models.Index(fields=["asset", "version_id"], name="chosen_variation_asset")]

    def __str__(self) -> str:
        return f"{self.asset_id}@{self.version_id} {self.transformation} seed {self.seed}"


class VariationBatch(models.Model):
    """One "Transform" of the refiner: the AIResult ids of the variations it asked for, in order."""

    id = models.CharField(primary_key=True, max_length=32)  # short random hex
    asset = models.ForeignKey("assets.Asset", on_delete=models.CASCADE, related_name="variation_batches")
    version_id = models.CharField(max_length=32)
    transformation = models.TextField(help_text="The literal transformation text")
    prompt = models.TextField(blank=True, default="")
    results = models.JSONField(default=list, help_text="AIResult ids, in order")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at"]
        indexes = [models.Index(fields=["asset", "version_id"], name="variation_batch_asset")]

    def __str__(self) -> str:
        return f"{self.id}: {len(self.results)} of {self.transformation}"
