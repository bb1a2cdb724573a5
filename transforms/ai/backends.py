"""The HTTP generation back-ends: an IOPaint-compatible inpaint server and an OpenAI-compatible image edit API.

Contract: ``iopaint(image, mask, prompt, seed, deadline)`` and ``image_edit(image, mask, prompt, deadline)``
take an sRGB uchar 3-band image and a uchar 1-band mask (255 = make these pixels) and return the back-end's
answer as an sRGB uchar 3-band image of the same size, or raise ``core.errors.ApiError``: 504 when the call
outlives its time, 502 for anything else the back-end got wrong; the message names the back-end by its
setting, never its key.  The caller composites the kept pixels back.

Both back-ends are the operator's configuration (settings ``DAM_INPAINT_URL``, ``DAM_IMAGE_EDIT_URL``...),
so a loopback or private address is fine: plain ``requests``, not assets.outbound (whose SSRF guard is for
URLs that users supply).  Bounds, from settings read at call time:

- ``DAM_GENERATION_TIMEOUT``: seconds for the whole call, retries included (and never past ``deadline``,
  a ``time.monotonic()`` value);
- ``DAM_GENERATION_RETRIES``: further attempts after a connection error, a 5xx or a 429, with exponential
  back-off (or the answer's ``Retry-After``) while time is left;
- ``DAM_GENERATION_MAX_SIDE``: images longer than this are scaled down before sending and the answer
  scaled back up;
- ``DAM_GENERATION_MAX_BYTES``: an answer larger than this is refused (read in chunks, never whole first).

An answer of another size is resized when its aspect ratio matches (within 1%), else refused.

IOPaint (github.com/Sanster/IOPaint, ``iopaint/api.py``): ``POST <url>/api/v1/inpaint`` with a JSON
``InpaintRequest``: base64 PNG ``image`` and ``mask`` (white = inpaint), ``prompt``, ``sd_seed``; the answer
is the image's bytes.  OpenAI's ``POST .../images/edits``: multipart ``image``, ``mask`` (a PNG whose
transparent pixels are the area to edit), ``prompt``, ``model``, ``n=1``, ``size``; the answer is JSON
``data[0].b64_json`` or ``data[0].url`` (fetched with the same bounds: the operator's back-end chose it).
"""

from __future__ import annotations

import base64
import time
from dataclasses import dataclass

import pyvips
from django.conf import settings

from assets import backend_http
from core.errors import ApiError

ASPECT_TOLERANCE = 0.01


class GenerationFailed(ApiError):
    status = 502


class GenerationTimeout(ApiError):
    status = 504


@dataclass(frozen=True)
class _Call:
    """One back-end call's name (for messages) and its end (monotonic seconds)."""

    name: str
    end: float

    def left(self) -> float:
        return self.end - time.monotonic()


def _call(name: str, deadline: float | None) -> _Call:
    end = time.monotonic() + settings.DAM_GENERATION_TIMEOUT
    return _Call(name, end if deadline is None else min(end, deadline))


# --- images in and out ---------------------------------------------------------------------------


def _png(image: pyvips.Image) -> bytes:
    return image.pngsave_buffer(compression=1)


def _send_size(image: pyvips.Image) -> float:
    """The scale at which ``image`` is sent (1 or less)."""
    return min(1.0, settings.DAM_GENERATION_MAX_SIDE / max(image.width, image.height))


def _scaled(image: pyvips.Image, scale: float, kernel: str = "lanczos3") -> pyvips.Image:
    if scale == 1.0:
        return image
    width, height = max(1, round(image.width * scale)), max(1, round(image.height * scale))
    return image.resize(width / image.width, vscale=height / image.height, kernel=kernel)


def _sized(image: pyvips.Image, width: int, height: int) -> pyvips.Image:
    """``image`` scaled back to exactly width x height."""
    if (image.width, image.height) == (width, height):
        return image
    out = image.resize(width / image.width, vscale=height / image.height, kernel="lanczos3")
    if (out.width, out.height) != (width, height):  # resize rounds
        out = out.crop(0, 0, min(out.width, width), min(out.height, height)).embed(0, 0, width, height, extend="copy")
    return out


def _decoded(call: _Call, data: bytes, width: int, height: int) -> pyvips.Image:
    """The answer's image as sRGB uchar 3 bands of width x height (resized if only its scale differs)."""
    try:
        image = pyvips.Image.new_from_buffer(data, "", access="sequential")
        if image.hasalpha():
            image = image.flatten(background=[255, 255, 255])
        image = image.colourspace("srgb").cast("uchar")
        if image.bands != 3:
            image = image[0:3] if image.bands > 3 else image.bandjoin([image] * (3 - image.bands))
        image = image.copy_memory()
    except pyvips.Error:
        raise GenerationFailed(f"the {call.name} answered something that is not an image") from None
    if (image.width, image.height) == (width, height):
        return image
    if abs(image.width / image.height - width / height) > ASPECT_TOLERANCE * (width / height):
        raise GenerationFailed(
            f"the {call.name} answered a {image.width}x{image.height} image for a {width}x{height} request "
            "(another aspect ratio)"
        )
    return _sized(image, width, height)


# --- HTTP with retries ---------------------------------------------------------------------------


def _request(call: _Call, method: str, url: str, **kwargs) -> bytes:
    """The body of a 2xx answer to ``method url`` (assets.backend_http: bounded, retried on connection
    errors, 5xx and 429 while time is left)."""
    try:
        return backend_http.exchange(method, url, end=call.end, max_bytes=settings.DAM_GENERATION_MAX_BYTES,
                                     retries=settings.DAM_GENERATION_RETRIES, backoff=0.5,
                                     secret=settings.DAM_IMAGE_EDIT_KEY, **kwargs)
    except backend_http.TimedOut:
        raise GenerationTimeout(f"the {call.name} did not answer within {settings.DAM_GENERATION_TIMEOUT} s") from None
    except backend_http.Failed as failure:
        raise GenerationFailed(f"the {call.name} {failure.problem}") from None


# --- the back-ends -------------------------------------------------------------------------------


def iopaint(image: pyvips.Image, mask: pyvips.Image, prompt: str, seed: int, deadline: float | None = None):
    """An IOPaint-compatible server's inpainting of ``mask`` (DAM_INPAINT_URL)."""
    call = _call("inpainting back-end (DAM_INPAINT_URL)", deadline)
    scale = _send_size(image)
    sent, sent_mask = _scaled(image, scale), (_scaled(mask, scale, "linear") > 0).ifthenelse(255, 0).cast("uchar")
    payload = {
        "image": base64.b64encode(_png(sent)).decode("ascii"),
        "mask": base64.b64encode(_png(sent_mask)).decode("ascii"),
        "prompt": prompt,
        "sd_seed": seed % 2**31,  # IOPaint reads -1 as "random": a reduced seed is never negative
    }
    url = settings.DAM_INPAINT_URL.rstrip("/") + "/api/v1/inpaint"
    data = _request(call, "POST", url, json=payload)
    return _sized(_decoded(call, data, sent.width, sent.height), image.width, image.height)


def image_edit(image: pyvips.Image, mask: pyvips.Image, prompt: str, deadline: float | None = None):
    """An OpenAI-compatible images edits endpoint's edit of ``mask`` (DAM_IMAGE_EDIT_URL)."""
    call = _call("image edit back-end (DAM_IMAGE_EDIT_URL)", deadline)
    scale = _send_size(image)
    sent, sent_mask = _scaled(image, scale), _scaled(mask, scale, "linear")
    # OpenAI's mask: an RGBA PNG whose fully transparent pixels are the area to edit
    alpha = (sent_mask > 0).ifthenelse(0, 255).cast("uchar")
    mask_png = _png(sent.bandjoin(alpha).copy(interpretation="srgb"))
    headers = {"Authorization": f"Bearer {settings.DAM_IMAGE_EDIT_KEY}"} if settings.DAM_IMAGE_EDIT_KEY else {}
    data = _request(
        call,
        "POST",
        settings.DAM_IMAGE_EDIT_URL,
        headers=headers,
        files={"image": ("image.png", _png(sent), "image/png"), "mask": ("mask.png", mask_png, "image/png")},
        data={"prompt": prompt, "model": settings.DAM_IMAGE_EDIT_MODEL, "n": "1", "size": settings.DAM_IMAGE_EDIT_SIZE},
    )
    answer = _edit_image_bytes(call, data)
    return _sized(_decoded(call, answer, sent.width, sent.height), image.width, image.height)


def _edit_image_bytes(call: _Call, data: bytes) -> bytes:
    """The image of an images edits answer: ``data[0].b64_json``, or the bytes at ``data[0].url``."""
    try:
        image = backend_http.openai_image(data)
    except backend_http.Failed as failure:
        raise GenerationFailed(f"the {call.name} {failure.problem}") from None
    return image if isinstance(image, bytes) else _request(call, "GET", image)
