"""A delivery request as a typed, validated, canonical plan.

Today a plan is an output format and an (always empty) transformation: transformation
parameters arrive with the transformation engine, and until then any transformation
component is rejected by name rather than ignored.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from assets.api.errors import BadRequest

from .encode import ENCODERS, MIME_TYPES, canonical_format
from .parser import DeliveryPath


@dataclass(frozen=True)
class Plan:
    format: str | None  # canonical output format; None: the asset's own
    transformation: str = ""  # canonical transformation string ("" = none)

    @property
    def is_known_format(self) -> bool:
        return self.format is None or self.format in ENCODERS or self.format in MIME_TYPES

    def for_asset(self, asset) -> "ResolvedPlan":
        """Fill in the asset's format; reject a format we can neither stream nor encode."""
        fmt = self.format or asset.format
        if fmt != asset.format and fmt not in ENCODERS:
            raise BadRequest(f"Unsupported format: {fmt}")
        return ResolvedPlan(fmt, self.transformation, passthrough=fmt == asset.format and not self.transformation)


@dataclass(frozen=True)
class ResolvedPlan(Plan):
    format: str
    passthrough: bool = False  # the original's bytes are the answer (if it needs no rotation)


def from_path(parsed: DeliveryPath) -> Plan:
    if parsed.transformations:
        raise BadRequest(f"Transformations are not supported yet: {parsed.transformations[0]}")
    return Plan(canonical_format(parsed.extension))


def without_format(plan: Plan) -> Plan:
    return replace(plan, format=None)
