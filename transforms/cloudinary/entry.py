"""The Cloudinary dialect's entry points: a delivery path or a transformation text read
into the engine's Plan (and `ensure`: a text's derived row), named transformations (``t_``) expanded first
(transforms.cloudinary.named, which validates definitions with build.validate: so the
expansion sits here, above both).  `record_dependencies` reads the rows stored before
DerivedImage.depends existed."""

from __future__ import annotations

from core.errors import ApiError

from .. import dependencies, derived
from ..derived import forget
from ..models import DerivedImage
from ..plan import Plan
from . import named
from .build import build
from .parser import DeliveryPath, canonical, split_transformation


def expand(components: list[str]) -> tuple[list[str], tuple[str, ...]]:
    """Inline named transformations (``t_``)."""
    if not any("t_" in c for c in components):
        return list(components), ()
    expanded, used = named.expand(list(components))
    return list(expanded), tuple(used)


def from_path(parsed: DeliveryPath) -> Plan:
    components = list(parsed.transformations)
    text = canonical("/".join(components))
    expanded, used = expand(components)
    return build(expanded, extension=parsed.extension, transformation=text, named=used)


def from_text(text: str, fmt: str | None = None) -> Plan:
    components = split_transformation(text)
    expanded, used = expand(components)
    return build(expanded, extension=fmt, transformation=canonical(text), named=used)


def ensure(asset, transformation_text: str, fmt: str | None = None) -> DerivedImage:
    """The derived image of `transformation_text` (and `fmt`, else the asset's format or
    the one f_ names) for `asset`: rendered now if missing, reused if cached.  For eager
    transformations and the Studio; raises ApiError subclasses (400 for a bad
    transformation).  f_auto resolves as for a browser without WebP/AVIF."""
    return derived.ensure(asset, from_text(transformation_text, fmt).for_asset(asset))


def record_dependencies(asset) -> int:
    """Record what `asset`'s derived rows stored before rows recorded it (``depends``
    empty) depend on, reading each one's transformation once, so that the invalidation
    filters see them; a row whose transformation no longer reads (a named one changed)
    could never be served again and is deleted.  Returns how many rows were read."""
    legacy = list(DerivedImage.objects.filter(asset_id=asset.pk, depends="").values_list("pk", "transformation"))
    unreadable = []
    for pk, text in legacy:
        try:
            depends = dependencies.recorded(dependencies.of_plan(asset, from_text(text)))
        except ApiError:
            unreadable.append(pk)
            continue
        DerivedImage.objects.filter(pk=pk, depends="").update(depends=depends)
    if unreadable:
        forget(DerivedImage.objects.filter(pk__in=unreadable))
    return len(legacy)
