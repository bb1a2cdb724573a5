"""The Library's preview dialog and the downloads (viewers and up).

- ``asset_preview``: the preview dialog's content for one asset (an htmx partial; the
  library's script opens it, walks the page's tiles with the arrow keys and closes it).
- ``asset_download``: redirects to a delivery URL with ``fl_attachment`` for the original or a
  chosen format, width and quality (studio.downloads); bad choices get a 400 JSON error.
- ``library_download``: a streamed zip of the selected assets' originals, bounded
  (studio.downloads.check_zip); refused selections go back to the library with a message.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from assets.models import Asset
from core.errors import BadRequest
from core.responses import error_response

from . import downloads, links
from .roles import requires
from .views_library import _back


@requires("viewer")
@require_GET
def asset_preview(request, asset_id: str):
    asset = get_object_or_404(Asset, asset_id=asset_id)
    return render(request, "studio/partials/preview.html", {
        "asset": asset, "tags": asset.tag_names, "preview": links.preview(asset),
        "download_formats": downloads.FORMATS})


@requires("viewer")
@require_GET
def asset_download(request, asset_id: str):
    asset = get_object_or_404(Asset, asset_id=asset_id)
    try:
        options = downloads.DownloadOptions.from_query(request.GET)
    except BadRequest as exc:
        return error_response(exc.message, exc.status)
    return redirect(downloads.download_path(asset, options))


@requires("viewer")
@require_POST
def library_download(request):
    ids = [i for i in request.POST.getlist("ids") if i][: downloads.MAX_ZIP_ASSETS + 1]
    assets = list(Asset.objects.filter(asset_id__in=ids).order_by("public_id", "type"))
    try:
        downloads.check_zip(assets, len(ids))
    except BadRequest as exc:
        messages.error(request, exc.message)
        return redirect(_back(request))
    response = StreamingHttpResponse(downloads.zip_stream(assets), content_type="application/zip")
    name = f"assets-{timezone.now():%Y%m%d-%H%M%S}.zip"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
