"""Template tags of the organise screens: the folder and collection choices the asset
page's Manage card offers (templates/studio/partials/asset_manage.html), so the card
needs nothing from the asset page's view."""

from __future__ import annotations

from django import template

from assets.models import Collection, Folder

register = template.Library()
MAX_CHOICES = 500


@register.simple_tag
def folder_paths() -> list[str]:
    return list(Folder.objects.order_by("path").values_list("path", flat=True)[:MAX_CHOICES])


@register.simple_tag
def collection_choices() -> list:
    return list(Collection.objects.order_by("name", "id")[:MAX_CHOICES])
