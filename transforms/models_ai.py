"""Stored AI results the delivery reuses, one model for every producer (transforms.ai.producers).

An `AIResult` is one producer's output (an image in the `derived` storage, plus metadata
such as a confidence score) for one asset version and one set of options (the
producer's canonical text, "" = defaults).  Its life is transforms.ai.lifecycle's: a
request creates it pending and queues one job; a worker claims it (processing, a lease
token and a heartbeat), computes and stores it (done) or records why not (failed); a
failed one is retried after a back-off, a pending or processing one whose job is gone
(no heartbeat) is queued again by the next request.  `Cutout` is the background-removal
producer's view of the same table (a proxy filtered on its kind)."""

from __future__ import annotations

from django.db import models

__all__ = ["AIResult", "Cutout"]


class AIResult(models.Model):
    PENDING, PROCESSING, DONE, FAILED = "pending", "processing", "done", "failed"
    STATUSES = [(s, s) for s in (PENDING, PROCESSING, DONE, FAILED)]

    kind = models.CharField(max_length=64, help_text="The producer (transforms.ai.producers), e.g. background_removal")
    asset = models.ForeignKey("assets.Asset", on_delete=models.CASCADE, related_name="ai_results")
    version_id = models.CharField(max_length=32)
    options = models.CharField(max_length=255, blank=True, default="", help_text="Canonical options, '' = defaults")
    spec = models.JSONField(default=dict, blank=True,
                            help_text="What a generative step's run reads (transforms.ai.stages): its plan text, seed, prompt")
    status = models.CharField(max_length=16, default=PENDING, choices=STATUSES)
    storage_name = models.CharField(max_length=512, blank=True, default="")
    width = models.PositiveIntegerField(default=0)
    height = models.PositiveIntegerField(default=0)
    etag = models.CharField(max_length=32, blank=True, default="", help_text="MD5 of the stored file")
    metadata = models.JSONField(default=dict, blank=True, help_text="What the producer reports, e.g. a confidence")
    error = models.TextField(blank=True, default="")
    runs = models.PositiveIntegerField(default=0, help_text="How many times the producer finished for this row")
    attempts = models.PositiveIntegerField(default=0, help_text="How many times a job started on this row")
    seconds = models.FloatField(null=True, blank=True, help_text="Compute time of the last run")
    client = models.CharField(max_length=64, blank=True, default="",
                              help_text="Who queued the pending run (transforms.ai.quota)")
    lease = models.CharField(max_length=32, blank=True, default="", help_text="The job that claimed the row")
    requested_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True, help_text="Last sign of life of the running job")
    finished_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["kind", "version_id", "options"], name="ai_result_options")]
        indexes = [models.Index(fields=["status", "updated_at"], name="ai_result_status")]

    def __str__(self) -> str:
        return f"{self.kind} {self.asset_id}@{self.version_id}:{self.options or '-'} ({self.status})"


class CutoutManager(models.Manager):
    def get_queryset(self):
        return super().get_queryset().filter(kind=Cutout.KIND)


class Cutout(AIResult):
    """The background-removal results (RGBA PNGs at most DAM_BG_REMOVAL_MAX_PIXELS)."""

    KIND = "background_removal"
    objects = CutoutManager()

    class Meta:
        proxy = True

    def save(self, *args, **kwargs):
        self.kind = self.kind or self.KIND
        super().save(*args, **kwargs)
