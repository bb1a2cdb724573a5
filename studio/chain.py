"""A Studio chain against the engine: validation with its parser, the delivery URL of the
chain so far, and the same URL as code for the SDKs and cURL.

Only URLs and text are built here; the delivery view renders them.  A chain is its
transformation text as the delivery view sees it (percent-decoded once, so a text
layer's comma is ``%2C``); the URL carries it percent-encoded once more, and the
signature covers the decoded text (what transforms.signatures checks on any server).
"""

from __future__ import annotations

import json
from urllib.parse import quote

from django.conf import settings

from assets import signing
from assets.api.errors import BadRequest
from transforms import named
from transforms.api_named import info
from transforms.parser import build_path, signed_part
from transforms.text import decode_text

from . import links, steps

URL_SAFE = "/,:_-.$!~*'()@;=+^|[]"


def validate(chain: str) -> tuple[str, int | None]:
    """("", None) when the engine reads the chain, else (its message, index of the first bad step)."""
    if not steps.components(chain):
        return "", None
    try:
        named.validate_text(chain)
        return "", None
    except BadRequest as whole:
        parsed = steps.parse(chain)
        for index in range(len(parsed)):
            try:
                named.validate_text(steps.text(parsed[: index + 1]))
            except BadRequest as exc:
                return exc.message, index
        return whole.message, None


def delivery_path(asset, chain: str, may_sign: bool = True) -> tuple[str, bool]:
    """(path of the delivery URL, signed?).  Signed like studio.links.path: private and
    authenticated assets, and any transformation (so strict mode lets it through).

    ``may_sign`` is False for a viewer: a signed URL is a capability anyone who holds it
    can use (strict mode passed, private assets shown, under any chain the viewer typed),
    and signing is for editors and above.  A viewer's chain URL stays unsigned; only the
    untransformed original of a private asset, which the asset page shows them anyway,
    is signed."""
    text = "/".join(steps.components(chain))
    signature = None
    if (asset.type != "upload" or text) and (may_sign or not text):
        secret = links.signing_secret()
        if secret:
            signature = signing.url_signature(signed_part(asset.public_id, fmt=asset.format, transformation=text),
                                              secret)
    path = build_path(settings.DAM_CLOUD_NAME, asset.public_id, type=asset.type, fmt=asset.format,
                      version=asset.version, transformation=quote(text, safe=URL_SAFE), signature=signature,
                      resource_type=asset.resource_type)
    return path, signature is not None


# --- code to copy ----------------------------------------------------------------------------


def _py(value, indent: str = "") -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(k)}: {_py(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_py(v) for v in value) + "]"
    if isinstance(value, bool):
        return repr(value)
    return json.dumps(value, ensure_ascii=False)


def _js(value) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_js(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_js(v) for v in value) + "]"
    return json.dumps(value, ensure_ascii=False)


def sdk_options(asset, chain: str, signed: bool) -> tuple[list[dict], dict]:
    """(transformation list as the SDKs take it, the other build_url options)."""
    text = "/".join(steps.components(chain))
    options: dict = {"format": asset.format, "version": asset.version}
    if asset.type != "upload":
        options["type"] = asset.type
    if signed:
        options["sign_url"] = True
    return [_text_layer(item) for item in (info(text) if text else [])], options


def _text_layer(item: dict) -> dict:
    """A text overlay as the SDKs' dict (they escape the text themselves); others as they are."""
    value = item.get("overlay")
    if not isinstance(value, str) or not value.startswith("text:"):
        return item
    style, _, raw = value[len("text:"):].partition(":")
    font, _, rest = style.partition("_")
    size, _, option = rest.partition("_")
    if option not in ("", *steps.TEXT_STYLES):
        return item
    layer: dict = {"font_family": font, "font_size": int(size) if size.isdigit() else size}
    if "bold" in option:
        layer["font_weight"] = "bold"
    if "italic" in option:
        layer["font_style"] = "italic"
    if option == "underline":
        layer["text_decoration"] = "underline"
    try:
        layer["text"] = decode_text(raw)
    except BadRequest:
        return item
    return {**item, "overlay": layer}


def snippets(asset, chain: str, url: str, signed: bool) -> dict:
    transformation, options = sdk_options(asset, chain, signed)
    py_items = "".join(f"\n        {_py(item)}," for item in transformation)
    py_opts = "".join(f", {k}={_py(v)}" for k, v in options.items())
    python = (f"import cloudinary\n\ncloudinary.CloudinaryImage({_py(asset.public_id)}).build_url(\n"
              f"    transformation=[{py_items}\n    ]{py_opts})" if transformation else
              f"import cloudinary\n\ncloudinary.CloudinaryImage({_py(asset.public_id)}).build_url({py_opts[2:]})")
    js_items = "".join(f"\n    {_js(item)}," for item in transformation)
    js_opts = "".join(f", {k}: {_js(v)}" for k, v in options.items())
    head = f'const cloudinary = require("cloudinary").v2;\n\ncloudinary.url({_js(asset.public_id)}, '
    node = (head + f"{{\n  transformation: [{js_items}\n  ]{js_opts}\n}});" if transformation else
            head + f"{{{js_opts[2:]}}});")
    curl = f"curl -o {asset.public_id.rsplit('/', 1)[-1]}.{asset.format} '{url}'"
    return {"python": python, "node": node, "curl": curl}
