"""Rendered files in the `derived` storage, one row per cache key."""

from __future__ import annotations

import uuid

from django.db import models


def new_derived_id() -> str:
    return uuid.uuid4().hex


class DerivedImage(models.Model):
    """A rendered file.  ``key`` is the hash of the version, the plan's meaning, the format
    and what else the pixels depend on (see transforms.derived.cache_key), so an asset's
    new version never meets an old rendering; rows of replaced versions are removed by
    transforms.receivers.  ``transformation`` is the URL's text (parameter order fixed,
    named transformations not expanded)."""

    derived_id = models.CharField(max_length=32, unique=True, default=new_derived_id, editable=False)
    asset = models.ForeignKey("assets.Asset", on_delete=models.CASCADE, related_name="derived")
    key = models.CharField(max_length=64, unique=True)
    version_id = models.CharField(max_length=32, db_index=True)
    transformation = models.TextField(blank=True, default="")
    format = models.CharField(max_length=16)
    storage_name = models.CharField(max_length=512, help_text="Name of the file in the `derived` storage")
    bytes = models.BigIntegerField()
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    etag = models.CharField(max_length=32, help_text="MD5 of the rendered bytes")
    named = models.CharField(max_length=1024, blank=True, default="", db_index=True,
                             help_text='Named transformations used, as "|a|b|" (for invalidation)')
    depends = models.TextField(blank=True, default="",
                               help_text='What the pixels depend on besides the plan, as "|kind|kind|" '
                                         '(transforms.dependencies; "" = stored before kinds were recorded)')
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.asset_id}:{self.transformation or '-'}.{self.format}"

from .models_named import *  # noqa: E402,F401,F403  (named transformations, runtime settings)
from .models_ai import *  # noqa: E402,F401,F403  (background-removal cut-outs)
from .models_render import *  # noqa: E402,F401,F403  (admission leases, negative cache of renders)
