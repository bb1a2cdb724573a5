"""Which per-asset overrides a plan depends on, and their revisions.

The derived cache asks this (through the effect's own dependency hook) so that an
override enters the cache key of exactly the plans it changes: for now the background
mask, which every plan starting with e_background_removal uses
(transforms.ai.bgremoval.dependency and open_cutout).
"""

from __future__ import annotations

from .models import BackgroundMask


def masks(asset):
    """The background masks painted on the asset's current version, newest revision first."""
    return BackgroundMask.objects.filter(asset_id=asset.pk, version_id=asset.version_id).order_by("-revision")


def background_mask(asset) -> BackgroundMask | None:
    """The asset's current background mask (the strokes are read only if needed)."""
    return masks(asset).defer("strokes").first()


def background_mask_revision(asset) -> int:
    """The current background mask's revision (0: none)."""
    return masks(asset).values_list("revision", flat=True).first() or 0


def background_removal(asset) -> str:
    """The cache-key part of the overrides of plans starting with e_background_removal."""
    revision = background_mask_revision(asset)
    return f":mask:{revision}" if revision else ""
