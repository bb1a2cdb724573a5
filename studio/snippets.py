"""The Studio's delivery URL as code to copy: Python and Node SDK calls, and a cURL command.

Everything in a snippet that comes from outside (the public_id, a text layer's text,
any key or value of a transformation, which is whatever a shared ``?t=`` link says)
is written as a literal of the snippet's language, never pasted in as it is, so that
running the snippet can only build the URL:

- Python: ``repr`` of str, int, bool, None (always a literal that evaluates to the same
  value); ``float("inf")``/``float("nan")`` for the floats with no literal.
- JavaScript: JSON strings, with ``<``, ``>``, ``&``, U+2028 and U+2029 as ``\\u`` escapes
  (the literal stays valid and inert inside an HTML ``<script>`` and in pre-2019
  engines); object keys bare only when they are plain identifiers.
- POSIX shell: ``shlex.quote`` for the output file name and the URL.

The page shows them in ``<textarea>`` elements, escaped for HTML by the template.
"""

from __future__ import annotations

import json
import math
import re
import shlex

from core.errors import BadRequest
from transforms.api_named import info
from transforms.text import decode_text

from . import palette

_JS_IDENTIFIER = re.compile(r"^[A-Za-z_$][A-Za-z0-9_$]*$")
_JS_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}


def py_literal(value) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"{py_literal(k)}: {py_literal(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(py_literal(v) for v in value) + "]"
    if isinstance(value, float) and not math.isfinite(value):
        return f'float("{value}")'
    if value is None or isinstance(value, (str, bool, int, float)):
        return repr(value)
    raise TypeError(f"no Python literal for {type(value).__name__}")


def js_literal(value) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_js_key(k)}: {js_literal(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(js_literal(v) for v in value) + "]"
    if value is None or isinstance(value, (str, bool, int, float)):
        # json.dumps writes NaN/Infinity for non-finite floats: JavaScript literals too
        text = json.dumps(value, ensure_ascii=False)
        return "".join(_JS_ESCAPES.get(ch, ch) for ch in text)
    raise TypeError(f"no JavaScript literal for {type(value).__name__}")


def _js_key(key) -> str:
    key = str(key)
    return key if _JS_IDENTIFIER.match(key) else js_literal(key)


def sdk_options(asset, chain: str, signed: bool) -> tuple[list[dict], dict]:
    """(transformation list as the SDKs take it, the other build_url options)."""
    text = "/".join(palette.components(chain))
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
    if option not in ("", *palette.TEXT_STYLES):
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


def download_name(asset) -> str:
    """The file cURL writes: the last segment of the public_id and the format."""
    return f"{asset.public_id.rsplit('/', 1)[-1]}.{asset.format}"


def sdk_config(cloud_name: str, api_base: str) -> str:
    """The home page's line pointing the Python SDK at this server."""
    return (f"cloudinary.config(cloud_name={py_literal(cloud_name)}, api_key=..., api_secret=...,\n"
            f"                  upload_prefix={py_literal(api_base)})")


def snippets(asset, chain: str, url: str, signed: bool) -> dict:
    """{"python", "node", "curl"}: code that builds or fetches `url`."""
    transformation, options = sdk_options(asset, chain, signed)
    public_id = asset.public_id
    py_items = "".join(f"\n        {py_literal(item)}," for item in transformation)
    py_opts = "".join(f", {k}={py_literal(v)}" for k, v in options.items())  # keys: ours, identifiers
    python = (f"import cloudinary\n\ncloudinary.CloudinaryImage({py_literal(public_id)}).build_url(\n"
              f"    transformation=[{py_items}\n    ]{py_opts})" if transformation else
              f"import cloudinary\n\ncloudinary.CloudinaryImage({py_literal(public_id)}).build_url({py_opts[2:]})")
    js_items = "".join(f"\n    {js_literal(item)}," for item in transformation)
    js_opts = "".join(f", {k}: {js_literal(v)}" for k, v in options.items())
    head = f'const cloudinary = require("cloudinary").v2;\n\ncloudinary.url({js_literal(public_id)}, '
    node = (head + f"{{\n  transformation: [{js_items}\n  ]{js_opts}\n}});" if transformation else
            head + f"{{{js_opts[2:]}}});")
    curl = f"curl -o {shlex.quote(download_name(asset))} {shlex.quote(url)}"
    return {"python": python, "node": node, "curl": curl}
