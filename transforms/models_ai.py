"""Stored AI results the delivery reuses: background-removal cut-outs."""

from __future__ import annotations

from django.db import models

__all__ = ["Cutout"]


class Cutout(models.Model):
    """The background-removed version (RGBA PNG in the `derived` storage) of one asset
    version for one set of e_background_removal options (canonical text, "" = defaults).
    One row per (version_id, options), created by the first request that needs it
    (status pending, one task queued), filled by the worker (done or failed).  Every
    derived image whose plan starts with e_background_removal is rendered from this file
    and keys on its id and etag (transforms.derived.dependencies)."""

    PENDING, DONE, FAILED = "pending", "done", "failed"

    asset = models.ForeignKey("assets.Asset", on_delete=models.CASCADE, related_name="cutouts")
    version_id = models.CharField(max_length=32)
    options = models.CharField(max_length=255, blank=True, default="")
    status = models.CharField(max_length=16, default=PENDING,
                              choices=[(PENDING, PENDING), (DONE, DONE), (FAILED, FAILED)])
    storage_name = models.CharField(max_length=512, blank=True, default="")
    width = models.PositiveIntegerField(default=0)
    height = models.PositiveIntegerField(default=0)
    etag = models.CharField(max_length=32, blank=True, default="", help_text="MD5 of the PNG")
    error = models.TextField(blank=True, default="")
    runs = models.PositiveIntegerField(default=0, help_text="How many times the model ran for this row")
    seconds = models.FloatField(null=True, blank=True, help_text="Model + matting time of the last run")
    client = models.CharField(max_length=64, blank=True, default="",
                              help_text="Who queued the pending run (transforms.ai.quota)")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["version_id", "options"], name="cutout_version_options")]

    def __str__(self) -> str:
        return f"{self.asset_id}@{self.version_id}:{self.options or '-'} ({self.status})"
