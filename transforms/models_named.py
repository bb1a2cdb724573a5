"""Named transformations, the log of delivered dynamic transformations, and runtime settings.

One table holds both kinds Cloudinary's Admin API lists under ``/transformations``:
named ones (``named=True``; ``name`` is the name, ``text`` the definition) and the
dynamic transformations the delivery has rendered (``named=False``; ``name`` and
``text`` are both the transformation string).  ``key`` makes each unique and lets
concurrent first deliveries of the same dynamic transformation converge on one row.
"""

from __future__ import annotations

import hashlib

from django.db import models

__all__ = ["RuntimeSetting", "Transformation", "transformation_key"]


def transformation_key(named: bool, name: str) -> str:
    return hashlib.sha256(f"{'named' if named else 'dynamic'}\n{name}".encode()).hexdigest()


class Transformation(models.Model):
    key = models.CharField(max_length=64, unique=True, editable=False,
                           help_text="sha256 of kind + name (see transformation_key)")
    named = models.BooleanField(default=True, db_index=True)
    name = models.TextField(help_text="The name of a named transformation; the transformation text otherwise")
    text = models.TextField(blank=True, default="", help_text="The definition (canonical transformation text)")
    allowed_for_strict = models.BooleanField(default=False)
    used = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]

    def save(self, *args, **kwargs):
        self.key = transformation_key(self.named, self.name)
        super().save(*args, **kwargs)

    @property
    def display_name(self) -> str:
        """What the Admin API lists as ``name``: ``t_<name>`` or the transformation text."""
        return f"t_{self.name}" if self.named else self.name

    def __str__(self) -> str:
        return self.display_name


class RuntimeSetting(models.Model):
    """A setting the Studio can change while the service runs (e.g. strict transformations);
    a row overrides the Django setting of the same meaning."""

    name = models.CharField(max_length=100, unique=True)
    value = models.JSONField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.name}={self.value!r}"
