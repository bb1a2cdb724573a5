"""Rows every web process of a deployment shares to bound first renders
(transforms.admission, transforms.failures)."""

from __future__ import annotations

from django.db import models

__all__ = ["RenderLease", "RenderFailure"]


class RenderLease(models.Model):
    """One of ``DAM_MAX_DEPLOYMENT_RENDERS`` slots, held by a first render in progress in
    some process of the deployment.  The unique ``slot`` makes taking one exact on SQLite
    and PostgreSQL alike (two processes racing for a slot: one INSERT fails); the holder
    deletes its row when the render ends, and a row past ``expires_at`` (its process was
    killed) is free for the next taker, so a crash never leaks a slot for longer than
    one render may last."""

    slot = models.PositiveIntegerField(unique=True)
    token = models.CharField(max_length=32, help_text="The holder's random id: only it deletes the row")
    holder = models.CharField(max_length=128, blank=True, default="", help_text="host:pid, for operators")
    expires_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"slot {self.slot} ({self.holder}, until {self.expires_at:%H:%M:%S})"


class RenderFailure(models.Model):
    """A render that ran out of its time budget, remembered per derived-cache key until
    ``expires_at`` (``DAM_RENDER_FAILURE_TTL``): the same URL answers the same 422 at once
    instead of burning the CPU again.  The key names the asset version, so a new version
    renders again."""

    key = models.CharField(max_length=64, unique=True)
    message = models.TextField()
    expires_at = models.DateTimeField(db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.key[:12]}: {self.message}"
