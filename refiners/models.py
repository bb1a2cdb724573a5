"""Per-asset overrides the delivery pipeline applies: background-removal masks."""

from __future__ import annotations

from django.conf import settings
from django.db import models

__all__ = ["BackgroundMask"]


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
