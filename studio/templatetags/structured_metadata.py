"""The asset page's Structured metadata card and the Library's metadata filters
(``{% metadata_rows asset posted errors as rows %}``, ``{% metadata_filters query as rows %}``):
one row per field (assets.metadata_fields), in the fields' order."""

from __future__ import annotations

from django import template

from studio import metadata_form

register = template.Library()


@register.simple_tag
def metadata_rows(asset, posted=None, errors=None) -> list[dict]:
    return metadata_form.rows(asset, posted or None, errors or None)


@register.simple_tag
def metadata_filters(query) -> list[dict]:
    return metadata_form.filter_rows(getattr(query, "metadata", None) or {})
