"""Which back-end generates for a model, and the call to it: an OpenAI-compatible images API.

Every family is served by ``DAM_IMAGE_GENERATION_URL`` (a base URL: ``<url>/images/generations`` is
POSTed to, bearer ``DAM_IMAGE_GENERATION_KEY``) unless ``DAM_IMAGE_GENERATION_BACKENDS`` (JSON: a
model id or family -> ``{"url", "key", "model"?, "kind": "openai"}``; an id wins over its family) maps
it elsewhere, e.g. to a self-hosted server speaking the same protocol.  A model nothing serves is a
400 naming those settings: never a placeholder image.

Back-end URLs are the operator's configuration, so a loopback or private address is fine: plain
``requests``, not ``assets.outbound`` (whose SSRF guard is for URLs that API users supply).  Bounds
(settings read at call time): ``DAM_IMAGE_GENERATION_TIMEOUT`` for the whole call, retries included;
``DAM_IMAGE_GENERATION_RETRIES`` further attempts after a connection error, a 5xx or a 429 (back-off,
or the answer's ``Retry-After``, while time is left); ``DAM_IMAGE_GENERATION_MAX_BYTES`` for the answer
(read in chunks, never whole first); ``DAM_IMAGE_GENERATION_MAX_PIXELS`` for the decoded image, which
must decode.  Failures are 502 (504 for the time-out) ``server_error``s naming the setting, never the key.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass

import pyvips
from django.conf import settings

from .. import backend_http
from .errors import GenerationError

# family -> tier -> model id (Cloudinary's Image Generation documentation)
FAMILIES = {
    "flux": {"standard": "flux-2-klein-9b", "premium": "flux-2-pro"},
    "recraft": {"standard": "recraft-v3", "premium": "recraft-v4"},
    "gpt-image": {"standard": "gpt-image-1-mini", "premium": "gpt-image-2"},
    "nano-banana": {"standard": "nano-banana-1", "premium": "nano-banana-2"},
    "ideogram": {"standard": "ideogram-v4-turbo", "premium": "ideogram-v4-base"},
}
MODELS = {model_id: (family, tier) for family, tiers in FAMILIES.items() for tier, model_id in tiers.items()}
KINDS = ("openai",)
SETTINGS = ("DAM_IMAGE_GENERATION_URL", "DAM_IMAGE_GENERATION_BACKENDS")


@dataclass(frozen=True)
class Backend:
    setting: str  # where it is configured, for messages
    url: str  # base URL of the OpenAI-compatible API
    key: str
    model: str  # the model name sent
    kind: str = "openai"


def _configuration_error(message: str) -> GenerationError:
    return GenerationError(message, status=503, category="server_error", code="backend_misconfigured")


def _mapping() -> dict:
    text = (settings.DAM_IMAGE_GENERATION_BACKENDS or "").strip()
    if not text:
        return {}
    try:
        mapping = json.loads(text)
    except ValueError:
        raise _configuration_error("DAM_IMAGE_GENERATION_BACKENDS is not valid JSON") from None
    if not isinstance(mapping, dict):
        raise _configuration_error("DAM_IMAGE_GENERATION_BACKENDS must be a JSON object")
    return mapping


def for_model(family: str, model_id: str) -> Backend:
    """The back-end that generates with `model_id` (of `family`); 400 when none does."""
    mapping = _mapping()
    name = model_id if model_id in mapping else family if family in mapping else None
    if name is not None:
        entry, setting = mapping[name], f"DAM_IMAGE_GENERATION_BACKENDS[{name!r}]"
        if not isinstance(entry, dict) or not isinstance(entry.get("url"), str) \
                or not entry["url"].startswith(("http://", "https://")):
            raise _configuration_error(f"{setting} needs an http(s) \"url\"")
        kind = entry.get("kind", "openai")
        if kind not in KINDS:
            raise _configuration_error(f"{setting} has kind {kind!r}: supported kinds are {', '.join(KINDS)}")
        return Backend(setting, entry["url"], str(entry.get("key") or ""), str(entry.get("model") or model_id), kind)
    if settings.DAM_IMAGE_GENERATION_URL:
        return Backend("DAM_IMAGE_GENERATION_URL", settings.DAM_IMAGE_GENERATION_URL,
                       settings.DAM_IMAGE_GENERATION_KEY or "", model_id)
    raise GenerationError(
        f"No image generation back-end serves model {model_id} (family {family}): set DAM_IMAGE_GENERATION_URL, "
        f"or map {family!r} or {model_id!r} in DAM_IMAGE_GENERATION_BACKENDS",
        code="model_unavailable", details={"family": family, "model": model_id, "settings": list(SETTINGS)})


# --- the call --------------------------------------------------------------------------------------


def _failed(backend: Backend, problem: str) -> GenerationError:
    return GenerationError(f"The image generation back-end ({backend.setting}) {problem}", status=502,
                           category="server_error", code="backend_error")


def _timed_out(backend: Backend) -> GenerationError:
    return GenerationError(f"The image generation back-end ({backend.setting}) did not answer within "
                           f"{settings.DAM_IMAGE_GENERATION_TIMEOUT} s", status=504, category="server_error",
                           code="backend_timeout")


def _request(backend: Backend, method: str, url: str, end: float, **kwargs) -> bytes:
    """The body of a 2xx answer (assets.backend_http: bounded, retried while time is left)."""
    try:
        return backend_http.exchange(method, url, end=end, max_bytes=settings.DAM_IMAGE_GENERATION_MAX_BYTES,
                                     retries=settings.DAM_IMAGE_GENERATION_RETRIES, backoff=0.25, secret=backend.key,
                                     **kwargs)
    except backend_http.TimedOut:
        raise _timed_out(backend) from None
    except backend_http.Failed as failure:
        attempts = f" ({failure.attempts} attempts)" if failure.attempts else ""
        raise _failed(backend, failure.problem + attempts) from None


def _image_bytes(backend: Backend, answer: bytes, end: float) -> bytes:
    """The image of an images API answer: ``data[0].b64_json``, or the bytes at ``data[0].url``."""
    try:
        image = backend_http.openai_image(answer)
    except backend_http.Failed as failure:
        raise _failed(backend, failure.problem) from None
    return image if isinstance(image, bytes) else _request(backend, "GET", image, end)


def decode(backend: Backend, data: bytes) -> pyvips.Image:
    """The answer's image, decoded in memory as sRGB uchar (3 bands, or 4 with alpha); its pixel
    count is checked from the header before any pixel is decoded."""
    limit = settings.DAM_IMAGE_GENERATION_MAX_PIXELS
    try:
        image = pyvips.Image.new_from_buffer(data, "", access="sequential")
        if image.width * image.height > limit:
            raise _failed(backend, f"answered a {image.width}x{image.height} image, more than {limit} pixels")
        image = image.colourspace("srgb").cast("uchar").copy_memory()
    except pyvips.Error:
        raise _failed(backend, "answered something that is not an image") from None
    if image.bands not in (3, 4):
        image = image[0:3] if image.bands > 4 else image.bandjoin([image[0]] * (3 - image.bands))
    return image


def generate(backend: Backend, *, prompt: str, width: int, height: int, seed: int | None) -> pyvips.Image:
    """One image for `prompt` from `backend` (``POST <url>/images/generations``, ``n`` 1, ``b64_json``)."""
    end = time.monotonic() + settings.DAM_IMAGE_GENERATION_TIMEOUT
    payload = {"model": backend.model, "prompt": prompt, "size": f"{width}x{height}", "n": 1,
               "response_format": "b64_json"}
    if seed is not None:
        payload["seed"] = seed
    headers = {"Authorization": f"Bearer {backend.key}"} if backend.key else {}
    answer = _request(backend, "POST", backend.url.rstrip("/") + "/images/generations", end, json=payload,
                      headers=headers)
    return decode(backend, _image_bytes(backend, answer, end))
