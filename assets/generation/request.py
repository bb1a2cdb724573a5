"""A text_to_image request body checked into a ``Request``: every field bounded, every refusal a 400
``user_error`` whose ``details.field`` names the field.

Defaults as Cloudinary documents them: model nano-banana standard, image_size 1:1 at 1K, format png,
target temporary, no seed, synchronous.  ``notification_url`` (async only) is checked by the SSRF
guard (``assets.netguard``) before anything is stored; the worker's POST is checked again.
"""

from __future__ import annotations

import unicodedata
from dataclasses import asdict, dataclass
from urllib.parse import urlsplit

from django.conf import settings

from core.errors import BadRequest

from .. import ingest, netguard
from ..models import UploadPreset
from .backends import FAMILIES, MODELS
from .errors import invalid

MAX_PROMPT = 4000  # characters
MIN_SIDE, MAX_SIDE = 64, 4096
MAX_URL = 2048
MAX_SEED = 2**32 - 1
ASPECT_RATIOS = {"1:1": (1, 1), "16:9": (16, 9), "9:16": (9, 16), "4:3": (4, 3), "3:4": (3, 4)}
RESOLUTIONS = {"0.5K": 512, "1K": 1024, "2K": 2048, "4K": 4096}  # the longest edge
FORMATS = {"png": "png", "jpeg": "jpeg", "jpg": "jpeg", "webp": "webp"}
TARGETS = ("managed_asset", "temporary")
FIELDS = ("prompt", "model", "image_size", "format", "target", "seed", "async", "notification_url")


@dataclass(frozen=True)
class Request:
    prompt: str
    family: str
    tier: str
    model_id: str
    width: int
    height: int
    format: str  # png, jpeg or webp
    target_type: str  # managed_asset or temporary
    public_id: str | None = None
    upload_preset: str | None = None
    seed: int | None = None
    asynchronous: bool = False
    notification_url: str | None = None
    origin: str = ""  # scheme://host of the request that queued it: the worker's result URLs use it

    def as_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> Request:
        return cls(**data)

    @property
    def model(self) -> dict:
        return {"family": self.family, "tier": self.tier, "id": self.model_id}


def parse(body) -> Request:
    """The checked request; raises GenerationError (400) for the first problem found."""
    if not isinstance(body, dict):
        raise invalid("The request body must be a JSON object")
    unknown = sorted(set(body) - set(FIELDS))
    if unknown:
        raise invalid(f"Unknown parameter(s): {', '.join(unknown)}", unknown[0], allowed=list(FIELDS))
    family, tier, model_id = _model(body.get("model"))
    width, height = _size(body.get("image_size"))
    target_type, public_id, preset = _target(body.get("target"))
    asynchronous = body.get("async", False)
    if not isinstance(asynchronous, bool):
        raise invalid("async must be true or false", "async")
    notification_url = body.get("notification_url")
    if notification_url is not None:
        if not asynchronous:
            raise invalid("notification_url needs async: true (a synchronous answer carries the result)",
                          "notification_url")
        notification_url = check_notification_url(notification_url)
    return Request(prompt=_prompt(body.get("prompt")), family=family, tier=tier, model_id=model_id, width=width,
                   height=height, format=_format(body.get("format")), target_type=target_type, public_id=public_id,
                   upload_preset=preset, seed=_seed(body.get("seed")), asynchronous=asynchronous,
                   notification_url=notification_url)


def _prompt(value) -> str:
    if value is None:
        raise invalid("Missing required parameter - prompt", "prompt")
    if not isinstance(value, str) or not value.strip():
        raise invalid("prompt must be a non-empty string", "prompt")
    if len(value) > MAX_PROMPT:
        raise invalid(f"prompt is {len(value)} characters long; at most {MAX_PROMPT}", "prompt")
    if any(unicodedata.category(ch) in ("Cc", "Cs") and ch not in "\n\t" for ch in value):
        raise invalid("prompt holds control characters", "prompt")
    return value.strip()


def _model(value) -> tuple[str, str, str]:
    if value is None:
        return "nano-banana", "standard", FAMILIES["nano-banana"]["standard"]
    if not isinstance(value, dict) or set(value) - {"family", "tier", "id"}:
        raise invalid('model must be {"family", "tier"} or {"id"}', "model")
    if value.get("id") is not None:
        model_id = value["id"]
        if model_id not in MODELS:
            raise invalid(f"Unknown model id {model_id!r}", "model.id", allowed=sorted(MODELS))
        family, tier = MODELS[model_id]
        if value.get("family") not in (None, family) or value.get("tier") not in (None, tier):
            raise invalid(f"model id {model_id} is the {tier} model of family {family}", "model")
        return family, tier, model_id
    family, tier = value.get("family"), value.get("tier") or "standard"
    if family is None:
        raise invalid("model needs a family or an id", "model")
    if family not in FAMILIES:
        raise invalid(f"Unknown model family {family!r}", "model.family", allowed=sorted(FAMILIES))
    if tier not in FAMILIES[family]:
        raise invalid(f"Unknown model tier {tier!r}", "model.tier", allowed=sorted(FAMILIES[family]))
    return family, tier, FAMILIES[family][tier]


def _integer(value, field: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise invalid(f"{field} must be an integer from {low} to {high}", field)
    return value


def _size(value) -> tuple[int, int]:
    if value is None:
        value = {"aspect_ratio": "1:1"}
    if not isinstance(value, dict):
        raise invalid('image_size must be {"width", "height"} or {"aspect_ratio", "resolution"}', "image_size")
    explicit, declared = {"width", "height"} & set(value), {"aspect_ratio", "resolution"} & set(value)
    if (explicit and declared) or set(value) - {"width", "height", "aspect_ratio", "resolution"}:
        raise invalid('image_size takes either width and height or aspect_ratio and resolution', "image_size")
    if explicit:
        width = _integer(value.get("width"), "image_size.width", MIN_SIDE, MAX_SIDE)
        height = _integer(value.get("height"), "image_size.height", MIN_SIDE, MAX_SIDE)
    else:
        ratio, resolution = value.get("aspect_ratio"), value.get("resolution", "1K")
        if ratio not in ASPECT_RATIOS:
            raise invalid(f"Unknown aspect_ratio {ratio!r}", "image_size.aspect_ratio", allowed=list(ASPECT_RATIOS))
        if resolution not in RESOLUTIONS:
            raise invalid(f"Unknown resolution {resolution!r}", "image_size.resolution", allowed=list(RESOLUTIONS))
        across, down = ASPECT_RATIOS[ratio]
        longest = RESOLUTIONS[resolution]
        short = max(MIN_SIDE, round(longest * min(across, down) / max(across, down) / 8) * 8)
        width, height = (longest, short) if across >= down else (short, longest)
    limit = settings.DAM_IMAGE_GENERATION_MAX_PIXELS
    if width * height > limit:
        raise invalid(f"image_size {width}x{height} is more than {limit} pixels", "image_size", max_pixels=limit)
    return width, height


def _format(value) -> str:
    if value is None:
        return "png"
    if not isinstance(value, str) or value.lower() not in FORMATS:
        raise invalid(f"Unknown format {value!r}", "format", allowed=["jpeg", "png", "webp"])
    return FORMATS[value.lower()]


def _target(value) -> tuple[str, str | None, str | None]:
    if value is None:
        return "temporary", None, None
    if not isinstance(value, dict) or set(value) - {"target_type", "public_id", "upload_preset"}:
        raise invalid('target must be {"target_type", "public_id"?, "upload_preset"?}', "target")
    target_type = value.get("target_type", "temporary")
    if target_type not in TARGETS:
        raise invalid(f"Unknown target_type {target_type!r}", "target.target_type", allowed=list(TARGETS))
    public_id, preset = value.get("public_id"), value.get("upload_preset")
    if target_type == "temporary" and (public_id is not None or preset is not None):
        raise invalid("A temporary target takes no public_id or upload_preset", "target")
    if public_id is not None:
        if not isinstance(public_id, str):
            raise invalid("target.public_id must be a string", "target.public_id")
        try:
            public_id = ingest.validate_public_id(public_id.strip())
        except BadRequest as error:
            raise invalid(error.message, "target.public_id") from None
    if preset is not None:
        if not isinstance(preset, str) or not UploadPreset.objects.filter(name=preset).exists():
            raise invalid(f"Upload preset not found: {preset}", "target.upload_preset")
    return target_type, public_id, preset


def _seed(value) -> int | None:
    return None if value is None else _integer(value, "seed", 0, MAX_SEED)


def check_notification_url(value) -> str:
    """An http(s) URL whose host resolves only to addresses the SSRF guard allows; 400 otherwise."""
    if not isinstance(value, str) or not value or len(value) > MAX_URL:
        raise invalid(f"notification_url must be an http(s) URL of at most {MAX_URL} characters", "notification_url")
    try:
        parts = urlsplit(value)
        host, port = parts.hostname, parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise invalid(f"Invalid notification_url {value!r}", "notification_url") from None
    if parts.scheme not in ("http", "https") or not host:
        raise invalid(f"Invalid notification_url {value!r}: an http(s) URL is needed", "notification_url")
    try:
        netguard.resolve(host.encode("idna").decode("ascii"), port)
    except netguard.Refused as refused:
        raise invalid(f"notification_url refused: {refused.message}", "notification_url") from None
    except (OSError, UnicodeError):
        raise invalid(f"notification_url host {host} does not resolve", "notification_url") from None
    return value
