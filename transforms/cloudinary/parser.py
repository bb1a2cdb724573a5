"""Delivery paths as text: ``<type>/[s--SIG--/][<transformation>/...][v<version>/]<public_id>[.<ext>]``.

Text only, no I/O: `parse` splits the part of the path after ``/<cloud>/image/``;
`build_path` is its inverse (tested together).

Telling transformation components from folders of the public_id follows Cloudinary:
when a version component is present, everything after it is the public_id and
everything between the signature and it is transformation.  Without a version, the
leading components that read as transformations (every comma-separated token is
``<known key>_<value>`` or a ``$variable``) are transformation; the rest is the
public_id.  The SDKs add ``v1`` to any public_id with a folder, so folders that look
like transformations stay unambiguous.

A transformation string is text too: `split_transformation` gives its components,
`split_component` a component's ``(key, value)`` pairs (every key known, none twice),
and `join_component` / `canonical` spell them back with the parameter order fixed
(``if`` first, then ``$variables`` as written, since later ones may use earlier ones,
then the rest by key), so that order inside a component never changes a cache key.
Values stay as written: what they mean is the grammar's business (transforms.cloudinary.build).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from assets.signing import smart_escape
from core.errors import BadRequest

DELIVERY_TYPES = ("upload", "private", "authenticated")
SIGNATURE = re.compile(r"^s--([^/]*)--$")
VERSION = re.compile(r"^v(\d{1,12})$")
# Every Cloudinary transformation parameter key (the URL token before the `_`).
TRANSFORMATION_KEYS = frozenset(
    "a ac af ar b bo br c co cs d dl dn dpr du e eo f fl fn fps g h if ki l o p pg q r so sp t u vc vs w x y z"
    .split()
)
# The keys this server renders for images; any other known key is rejected by name.
SUPPORTED_KEYS = frozenset("a ar b bo c co dpr e f fl g h if l o q r t u w x y z".split())
VARIABLE_KEY = re.compile(r"^\$[A-Za-z][A-Za-z0-9]*$")
_TOKEN = re.compile(r"^(?:([a-z]{1,3})_.*|\$[A-Za-z][A-Za-z0-9]*_.*)$", re.DOTALL)


@dataclass(frozen=True)
class DeliveryPath:
    type: str
    signature: str | None
    transformations: tuple[str, ...]
    version: int | None
    public_id: str
    extension: str | None  # as written (jpg, JPEG, tif, ...); None when the URL has none
    signed_components: tuple[str, ...]  # decoded components after the signature (what a signature covers)

    @property
    def transformation(self) -> str:
        return "/".join(self.transformations)

    @property
    def escaped_name(self) -> str:
        """The public_id and extension escaped as the SDKs escape them before signing."""
        return smart_escape(self.public_id + (f".{self.extension}" if self.extension else ""))

    @property
    def filename(self) -> str:
        return self.public_id.rsplit("/", 1)[-1]


def is_transformation(component: str) -> bool:
    tokens = component.split(",")
    for token in tokens:
        match = _TOKEN.match(token)
        if match is None or (match.group(1) is not None and match.group(1) not in TRANSFORMATION_KEYS):
            return False
    return True


def parse(rest: str) -> DeliveryPath:
    """`rest` is the decoded path after ``/<cloud>/image/``.  Raises BadRequest."""
    parts = rest.split("/")
    if any(part == "" for part in parts):
        raise BadRequest("Invalid URL: empty path segment")
    type_, parts = parts[0], parts[1:]
    if type_ not in DELIVERY_TYPES:
        raise BadRequest(f"Invalid delivery type: {type_}")
    signature = None
    if parts and SIGNATURE.match(parts[0]):
        signature = SIGNATURE.match(parts[0]).group(1)
        parts = parts[1:]
    signed_components = tuple(parts)
    if not parts:
        raise BadRequest("Invalid URL: missing public_id")

    transformations: list[str] = []
    version = None
    index = 0
    while index < len(parts) - 1:
        part = parts[index]
        match = VERSION.match(part)
        if match:
            version = int(match.group(1))
            index += 1
            break
        if not is_transformation(part):
            break
        transformations.append(part)
        index += 1
    name_parts = parts[index:]
    last = name_parts[-1]
    stem, dot, suffix = last.rpartition(".")
    extension = None
    if dot and stem and suffix:
        name_parts[-1], extension = stem, suffix
    return DeliveryPath(type_, signature, tuple(transformations), version, "/".join(name_parts), extension,
                        signed_components)


def build_path(cloud: str, public_id: str, *, type: str = "upload", fmt: str | None = None,
               version: int | None = None, transformation: str = "", signature: str | None = None,
               resource_type: str = "image") -> str:
    """The path of a delivery URL (leading ``/``), public_id escaped as the SDKs escape it."""
    parts = [cloud, resource_type, type]
    if signature:
        parts.append(f"s--{signature}--")
    if transformation:
        parts.append(transformation)
    if version is not None:
        parts.append(f"v{version}")
    parts.append(smart_escape(public_id) + (f".{fmt}" if fmt else ""))
    return "/" + "/".join(parts)


def signed_part(public_id: str, *, fmt: str | None = None, transformation: str = "") -> str:
    """What a delivery signature covers for these values (escaped, version left out)."""
    name = smart_escape(public_id) + (f".{fmt}" if fmt else "")
    return "/".join(p for p in (transformation, name) if p)


# --- transformation strings ------------------------------------------------------------

Params = tuple[tuple[str, str], ...]


def split_transformation(text: str) -> list[str]:
    """``"c_fill,w_10/e_sepia"`` -> ``["c_fill,w_10", "e_sepia"]``; empty text -> ``[]``."""
    if not text:
        return []
    components = text.split("/")
    if any(component == "" for component in components):
        raise BadRequest(f"Invalid transformation {text!r}: empty component")
    return components


def split_component(component: str) -> Params:
    """``"w_400,c_fill"`` -> ``(("w", "400"), ("c", "fill"))``.  Raises BadRequest for a
    token that is not ``key_value``, an unknown or unsupported key, an empty value or a
    key given twice."""
    params: list[tuple[str, str]] = []
    seen: set[str] = set()
    for token in component.split(","):
        key, sep, value = token.partition("_")
        if not sep or not key:
            raise BadRequest(f"Invalid transformation parameter: {token!r}")
        if key.startswith("$"):
            if not VARIABLE_KEY.match(key):
                raise BadRequest(f"Invalid variable name: {key!r}")
        elif key not in SUPPORTED_KEYS:
            if key in TRANSFORMATION_KEYS:
                raise BadRequest(f"Unsupported transformation parameter: {key}")
            raise BadRequest(f"Invalid transformation parameter: {key}")
        if value == "":
            raise BadRequest(f"Missing value for transformation parameter: {key}")
        if key in seen:
            raise BadRequest(f"Transformation parameter {key} given twice in {component!r}")
        seen.add(key)
        params.append((key, value))
    return tuple(params)


def _order(item: tuple[int, tuple[str, str]]):
    index, (key, _) = item
    if key == "if":
        return (0, 0, "")
    if key.startswith("$"):
        return (1, index, "")
    return (2, 0, key)


def join_component(params) -> str:
    """The inverse of `split_component`, parameters in canonical order."""
    items = params.items() if isinstance(params, dict) else params
    ordered = sorted(enumerate(items), key=_order)
    return ",".join(f"{key}_{value}" for _, (key, value) in ordered)


def canonical(text: str) -> str:
    """A transformation string with the parameter order inside each component fixed."""
    return "/".join(join_component(split_component(c)) for c in split_transformation(text))
