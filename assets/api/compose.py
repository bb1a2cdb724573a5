"""Upload API ``text``, ``multi`` and ``sprite``: images made by the engine (through the
``compose`` hook: transforms.cloudinary.compose) and stored as assets.

- ``text``: ``text`` with ``font_family``, ``font_size``, ``font_color``, ``font_weight``,
  ``font_style``, ``text_decoration``, ``text_align``, ``background``, ``opacity`` -> a PNG
  image asset (``public_id``, else a random one); the answer is the upload's.
- ``multi``: the images tagged ``tag`` (public_id order, still images), each rendered with
  ``transformation`` (its ``f_gif``/``f_webp``/``f_pdf`` names the result, GIF by default)
  -> an animated GIF/WebP image asset, or a PDF raw asset, ``multi/[<transformation>/]<tag>``;
  answers ``{url, secure_url, public_id, version}``.
- ``sprite``: the tagged images stacked into one PNG (or JPG with ``f_jpg``) plus a CSS and
  a JSON file (raw assets) of where each is, under ``sprite/[<transformation>/]<tag>``;
  answers ``{css_url, image_url, json_url, secure_*, public_id, version, image_infos}``.
``urls``, ``mode=download`` and ``async`` are refused with a message.
"""

from __future__ import annotations

import json
import os
import re

from rest_framework.response import Response

from core.errors import BadRequest

from .. import ingest, tempfiles
from ..hooks import hook
from ..models import Asset
from .params import as_bool
from .serialize import upload_json

FORMAT = re.compile(r"(?:^|,)f_([a-z0-9]+)(?=,|$)")


def _store(data: bytes, public_id: str, resource_type: str, tags: list[str] | None = None,
           suffix: str = "") -> Asset:
    path = tempfiles.path("compose")
    try:
        with open(path, "wb") as fh:
            fh.write(data)
        result = ingest.store(incoming=ingest.Incoming(path, len(data), public_id.rsplit("/", 1)[-1]),
                              public_id=ingest.validate_public_id(public_id), type="upload", overwrite=True,
                              tags=tags or [], resource_type=resource_type, suffix_if_raw=suffix)
    finally:
        if os.path.exists(path):
            os.unlink(path)
    return result.asset


def do_text(request, params: dict, credential):
    png = hook("compose").text_image(params.get("text"), params)
    public_id = params.get("public_id") or ingest._random_id(20)
    asset = _store(png, str(public_id), "image")
    return Response(upload_json(asset, request, credential.key, credential.secret))


def _tagged(params: dict) -> tuple[str, list[Asset], str, str | None]:
    """(tag, its still images, the transformation as sent, the format it names)."""
    if params.get("urls"):
        raise BadRequest("urls are not supported: tag the images and pass tag")
    if str(params.get("mode") or "create") != "create":
        raise BadRequest("mode=download is not supported: create it and fetch its URL")
    if as_bool(params.get("async"), False, "async"):
        raise BadRequest("async is not supported: the result is made while you wait")
    tag = str(params.get("tag") or "").strip()
    if not tag:
        raise BadRequest("Missing required parameter - tag")
    if "/" in tag:
        raise BadRequest(f"Invalid tag {tag!r} for a combined image: no '/'")
    transformation = str(params.get("transformation") or "").strip().strip("/")
    last = transformation.rsplit("/", 1)[-1]
    found = FORMAT.search(last)
    fmt = found.group(1) if found else None
    assets = list(Asset.objects.filter(resource_type="image", type="upload", tags__name=tag)
                  .exclude(format="pdf").order_by("public_id")[:101])
    if not assets:
        raise BadRequest(f"No images found with tag {tag}")
    return tag, assets, transformation, fmt


def _without_format(transformation: str) -> str:
    head, _, last = transformation.rpartition("/")
    last = ",".join(p for p in last.split(",") if not re.fullmatch(r"f_[a-z0-9]+", p))
    return "/".join(p for p in (head, last) if p)


def do_multi(request, params: dict, credential):
    tag, assets, transformation, fmt = _tagged(params)
    fmt = fmt or "gif"
    if fmt not in ("gif", "webp", "pdf"):
        raise BadRequest(f"Invalid format {fmt!r} for multi: gif, webp or pdf")
    compose = hook("compose")
    frames = compose.frames(assets, _without_format(transformation))
    data = compose.animation(frames, fmt, delay=100)
    public_id = f"multi/{transformation}/{tag}" if transformation else f"multi/{tag}"
    if fmt == "pdf":
        asset = _store(data, public_id + ".pdf", "raw")
    else:
        asset = _store(data, public_id, "image")
    body = upload_json(asset, request, credential.key, credential.secret)
    return Response({k: body[k] for k in ("url", "secure_url", "public_id", "version", "asset_id")})


def _css_class(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]", "_", name)


def do_sprite(request, params: dict, credential):
    tag, assets, transformation, fmt = _tagged(params)
    fmt = {"jpeg": "jpg"}.get(fmt or "png", fmt or "png")
    if fmt not in ("png", "jpg"):
        raise BadRequest(f"Invalid format {fmt!r} for a sprite: png or jpg")
    compose = hook("compose")
    frames = compose.frames(assets, _without_format(transformation))
    data, boxes = compose.sprite(frames, fmt)
    base = f"sprite/{transformation}/{tag}" if transformation else f"sprite/{tag}"
    image = _store(data, base, "image")
    image_body = upload_json(image, request, credential.key, credential.secret)
    infos = {a.public_id: {"x": x, "y": y, "width": w, "height": h} for a, (x, y, w, h) in zip(assets, boxes)}
    css = "".join(
        f".{_css_class(tag)}-{_css_class(pid)} {{ background: url('{image_body['secure_url']}') no-repeat; "
        f"background-position: -{box['x']}px -{box['y']}px; width: {box['width']}px; height: {box['height']}px; }}\n"
        for pid, box in infos.items())
    css_asset = _store(css.encode(), base + ".css", "raw")
    json_asset = _store(json.dumps({"image_url": image_body["secure_url"], "image_infos": infos}).encode(),
                        base + ".json", "raw")
    css_body = upload_json(css_asset, request, credential.key, credential.secret)
    json_body = upload_json(json_asset, request, credential.key, credential.secret)
    return Response({
        "public_id": image.public_id, "version": image.version,
        "image_url": image_body["url"], "secure_image_url": image_body["secure_url"],
        "css_url": css_body["url"], "secure_css_url": css_body["secure_url"],
        "json_url": json_body["url"], "secure_json_url": json_body["secure_url"],
        "image_infos": infos,
    })
