"""Upload API ``generate_archive``: ``POST /v1_1/<cloud>/<resource_type>/generate_archive``
(the SDKs' ``create_archive``/``create_zip``: ``mode=create``, the default) and the signed
``GET`` of ``download_archive_url``/``download_zip_url``/``download_folder``
(``mode=download``).

Parameters: ``public_ids``, ``prefixes``, ``tags`` (any; assets of the URL's resource type
and ``type``), ``target_format`` (zip, the default, or tgz), ``flatten_folders``,
``transformations`` (``|``-separated, each rendered through the engine), ``skip_transformation_name``,
``expires_at`` (a download URL refused after it), and for create ``target_public_id``,
``target_tags``.  ``download`` streams the archive; ``create`` stores it as a raw asset and
answers its JSON with ``file_count`` and ``resource_count``.  Bounds: assets.archive.
"""

from __future__ import annotations

import os
import time

from django.http import StreamingHttpResponse
from django.utils.http import content_disposition_header
from rest_framework.response import Response

from core.errors import BadRequest

from .. import archive, ingest, tasks, tempfiles
from .params import as_bool, as_int, as_list
from .serialize import resource_json

MODES = ("create", "download")
MIME = {"zip": "application/zip", "tgz": "application/gzip"}


def _entries(params: dict, resource_type: str) -> tuple[list[archive.Entry], int, str]:
    target_format = str(params.get("target_format") or "zip").lower()
    if target_format not in archive.FORMATS:
        raise BadRequest(f"Invalid target_format {target_format!r}: one of {', '.join(archive.FORMATS)}")
    raw_transformations = params.get("transformations") or ""
    items = raw_transformations if isinstance(raw_transformations, list) else str(raw_transformations).split("|")
    transformations = tasks.check_eager([i for i in items if str(i).strip()])
    flatten = as_bool(params.get("flatten_folders"), False, "flatten_folders")
    skip = as_bool(params.get("skip_transformation_name"), False, "skip_transformation_name")
    type_ = params.get("type") or "upload"
    if type_ not in ("upload", "private", "authenticated"):
        raise BadRequest(f"Invalid type {type_!r}")
    assets = archive.select(public_ids=as_list(params.get("public_ids")), prefixes=as_list(params.get("prefixes")),
                            tags=as_list(params.get("tags")), resource_type=resource_type, type_=type_)
    entries = archive.plan(assets, transformations, flatten=flatten, skip_transformation_name=skip)
    return entries, len(assets), target_format


def generate_archive(request, params: dict, resource_type: str, *, get: bool = False):
    mode = str(params.get("mode") or ("download" if get else "create")).lower()
    if mode not in MODES:
        raise BadRequest(f"Invalid mode {mode!r}: create or download")
    if get and mode != "download":
        raise BadRequest("A generate_archive GET downloads (mode=download); create an archive with POST")
    if params.get("expires_at") not in (None, "") and as_int(params["expires_at"], name="expires_at") < time.time():
        raise BadRequest("The archive's download URL has expired (expires_at)")
    if as_bool(params.get("async"), False, "async"):
        raise BadRequest("async archives are not supported: archives are made while you wait")
    if resource_type == "auto":
        resource_type = "image"
    entries, resource_count, target_format = _entries(params, resource_type)
    if mode == "download":
        response = StreamingHttpResponse(archive.stream(entries, target_format), content_type=MIME[target_format])
        response["Content-Disposition"] = content_disposition_header(True, f"archive.{target_format}")
        return response
    return Response(_create(request, params, entries, resource_count, target_format))


def _create(request, params: dict, entries, resource_count: int, target_format: str) -> dict:
    path = tempfiles.path("archive", "." + target_format)
    try:
        with open(path, "wb") as out:
            for piece in archive.stream(entries, target_format):
                out.write(piece)
        size = os.path.getsize(path)
        public_id = params.get("target_public_id") or ingest._random_id(20)
        if not str(public_id).endswith("." + target_format):
            public_id = f"{public_id}.{target_format}"  # a raw file's public_id keeps its extension
        result = ingest.store(incoming=ingest.Incoming(path, size, f"archive.{target_format}"),
                              public_id=ingest.validate_public_id(str(public_id)), type="upload", overwrite=True,
                              tags=as_list(params.get("target_tags")), resource_type="raw")
    finally:
        if os.path.exists(path):
            os.unlink(path)
    body = resource_json(result.asset, request)
    body.update(file_count=len(entries), resource_count=resource_count)
    return body
