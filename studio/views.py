"""Browser pages. Only builds URLs; the delivery view does all image work."""

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from assets.links import base_url
from assets.models import Asset

from . import links, snippets


@login_required
def home(request):
    recent = list(Asset.objects.filter(type="upload").order_by("-created_at", "-id")[:24])
    return render(request, "studio/home.html", {
        "items": links.tiles(recent),  # the library's 240x240 thumbnails, not the originals
        "total": Asset.objects.count(),
        "cloud_name": settings.DAM_CLOUD_NAME,
        "config_code": snippets.sdk_config(settings.DAM_CLOUD_NAME, base_url(request)),
    })
