"""The HTTP generation back-ends (transforms.ai.backends through transforms.ai.generation.fill).

A real HTTP server on 127.0.0.1, started here, speaks IOPaint's ``POST /api/v1/inpaint`` (JSON, base64
PNGs, the image bytes back) and OpenAI's ``POST /v1/images/edits`` (multipart, ``data[0].b64_json`` or
``data[0].url`` back).  It fills the masked pixels with the mean colour of the others, records what it was
sent, and can misbehave on request: sleep past the time-out, answer 500/429/400, answer another size or
aspect, something that is not an image, too many bytes.
"""

from __future__ import annotations

import base64
import json
import time
from http.server import BaseHTTPRequestHandler

import numpy as np
import pytest
import pyvips

from core.errors import ApiError
from tests.images_server import parse_edit, png, serving
from transforms.ai import generation
from transforms.ai.generation import FillJob

KEY = "sk-test-secret-key"


def _array(data: bytes) -> np.ndarray:
    array = pyvips.Image.new_from_buffer(data, "").numpy()
    return array if array.ndim == 3 else array[:, :, np.newaxis]


def _mean_fill(image: np.ndarray, edit: np.ndarray) -> np.ndarray:
    out = image.copy()
    out[edit] = image[~edit].mean(axis=0).astype(np.uint8)
    return out


class Backend:
    """What the server does next (``script``: one mode per request, the last one repeats) and what it saw."""

    def __init__(self):
        self.script = ["ok"]
        self.requests: list[dict] = []
        self.files: dict[str, bytes] = {}
        self.port = 0

    def mode(self) -> str:
        return self.script.pop(0) if len(self.script) > 1 else self.script[0]

    def answer_image(self, image: np.ndarray, edit: np.ndarray, mode: str) -> bytes:
        out = _mean_fill(image, edit)
        if mode == "half":  # same aspect, half the size
            return pyvips.Image.new_from_array(out).resize(0.5).pngsave_buffer()
        if mode == "square":  # another aspect
            return png(out[: min(out.shape[:2]), : min(out.shape[:2])])
        if mode == "text":
            return b"<html>not an image</html>"
        return png(out)


def _handler(backend: Backend):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def _send(self, status: int, body: bytes, content_type: str = "image/png"):
            try:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                pass

        def do_GET(self):
            name = self.path.rsplit("/", 1)[-1]
            backend.requests.append({"path": self.path})
            self._send(200, backend.files[name]) if name in backend.files else self._send(404, b"")

        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            mode = backend.mode()
            if mode == "sleep":
                time.sleep(3)
            if mode in ("500", "429", "400"):
                backend.requests.append({"path": self.path, "mode": mode})
                error = json.dumps({"detail": f"failing on purpose ({mode})"}).encode()
                return self._send(int(mode), error, "application/json")
            if self.path == "/api/v1/inpaint":
                self._iopaint(body, mode)
            elif self.path == "/v1/images/edits":
                self._edit(body, mode)
            else:
                self._send(404, b"")

        def _iopaint(self, body: bytes, mode: str):
            request = json.loads(body)
            image = _array(base64.b64decode(request["image"], validate=True))
            mask = _array(base64.b64decode(request["mask"], validate=True))[:, :, 0]
            backend.requests.append({"path": self.path, "json": request, "image": image, "mask": mask})
            if image.shape[:2] != mask.shape:
                return self._send(400, b'{"detail": "Image size and mask size not match."}', "application/json")
            answer = backend.answer_image(image, mask > 127, mode)
            if mode == "big":
                answer += b"\0" * 200_000
            self._send(200, answer)

        def _edit(self, body: bytes, mode: str):
            sent = parse_edit(self.headers["Content-Type"], body)
            backend.requests.append({"path": self.path, **sent, "authorization": self.headers.get("Authorization")})
            answer = backend.answer_image(sent["image"], sent["mask"][:, :, 3] == 0, mode)
            if mode == "url":
                backend.files["result.png"] = answer
                data = {"data": [{"url": f"http://127.0.0.1:{backend.port}/files/result.png"}]}
            elif mode == "nodata":
                data = {"created": 1}
            else:
                data = {"data": [{"b64_json": base64.b64encode(answer).decode()}]}
            self._send(200, json.dumps(data).encode(), "application/json")

    return Handler


@pytest.fixture
def backend(settings):
    state = Backend()
    with serving(_handler(state)) as port:
        state.port = port
        settings.DAM_INPAINT_URL = settings.DAM_IMAGE_EDIT_URL = ""
        settings.DAM_INPAINT_PROMPTS = False
        settings.DAM_IMAGE_EDIT_KEY = KEY
        settings.DAM_GENERATION_TIMEOUT = 10
        settings.DAM_GENERATION_RETRIES = 2
        settings.DAM_GENERATION_MAX_SIDE = 2048
        state.base = f"http://127.0.0.1:{state.port}"
        yield state


@pytest.fixture
def iopaint(backend, settings):
    settings.DAM_INPAINT_URL = backend.base + "/"
    return backend


@pytest.fixture
def edits(backend, settings):
    settings.DAM_IMAGE_EDIT_URL = backend.base + "/v1/images/edits"
    return backend


def _job(width=160, height=90, seed=7, prompt="") -> tuple[FillJob, np.ndarray, np.ndarray]:
    """A gradient photo-like canvas 120 px wide in the middle of ``width``, the pads to make."""
    yy, xx = np.mgrid[0:height, 0:width]
    canvas = np.stack([xx * 255 // width, yy * 255 // height, np.full_like(xx, 128)], -1).astype(np.uint8)
    pad = (width - 120) // 2
    mask = np.full((height, width), 255, np.uint8)
    mask[:, pad : pad + 120] = 0
    canvas[mask > 0] = 0
    image = pyvips.Image.new_from_array(canvas).copy(interpretation="srgb")
    job = FillJob(image=image, mask=pyvips.Image.new_from_array(mask), seed=seed, prompt=prompt)
    return job, canvas, mask > 0


def _check_result(out: pyvips.Image, canvas: np.ndarray, edit: np.ndarray) -> np.ndarray:
    assert (out.width, out.height, out.bands, out.format) == (canvas.shape[1], canvas.shape[0], 3, "uchar")
    result = out.numpy()
    assert np.array_equal(result[~edit], canvas[~edit])
    mean = canvas[~edit].mean(axis=0)
    assert np.abs(result[edit].mean(axis=0) - mean).max() < 3  # the server's fill: the kept pixels' mean colour
    return result


def test_iopaint_round_trip(iopaint):
    job, canvas, edit = _job(seed=-5)
    assert generation.backend_name() == "iopaint"
    _check_result(generation.fill(job), canvas, edit)
    [sent] = iopaint.requests
    assert sent["image"].shape == (90, 160, 3) and sent["mask"].shape == (90, 160)
    assert set(np.unique(sent["mask"])) == {0, 255}
    assert np.array_equal(sent["mask"] > 0, edit)
    assert sent["json"]["sd_seed"] == -5 % 2**31 and sent["json"]["prompt"] == ""


def test_iopaint_with_prompts_gets_the_prompt(iopaint, settings):
    job, canvas, edit = _job(prompt="bowls of cereal")
    with pytest.raises(ApiError) as caught:
        generation.fill(job)  # LaMa (the default) ignores prompts: refused, not ignored
    assert caught.value.status == 400 and "DAM_INPAINT_PROMPTS" in caught.value.message
    settings.DAM_INPAINT_PROMPTS = True
    _check_result(generation.fill(job), canvas, edit)
    assert iopaint.requests[-1]["json"]["prompt"] == "bowls of cereal"


def test_large_images_are_sent_scaled_down_and_the_answer_scaled_up(iopaint, settings):
    settings.DAM_GENERATION_MAX_SIDE = 80
    job, canvas, edit = _job(width=320, height=180)
    out = generation.fill(job)
    assert iopaint.requests[-1]["image"].shape[:2] == (45, 80)
    result = out.numpy()
    assert result.shape == (180, 320, 3) and np.array_equal(result[~edit], canvas[~edit])


def test_openai_round_trip_b64_and_url(edits, settings):
    job, canvas, edit = _job()
    assert generation.backend_name() == "openai" and generation.prompt_backend() == "openai"
    _check_result(generation.fill(job), canvas, edit)
    sent = edits.requests[-1]
    assert sent["authorization"] == f"Bearer {KEY}"
    assert sent["fields"]["model"] == "gpt-image-1" and sent["fields"]["n"] == "1"
    assert sent["fields"]["prompt"] == generation.DEFAULT_EDIT_PROMPT  # the endpoint needs a prompt
    assert sent["mask"].shape == (90, 160, 4) and np.array_equal(sent["mask"][:, :, 3] == 0, edit)
    edits.script = ["url"]
    prompted, canvas, edit = _job(prompt="a sunny beach")
    _check_result(generation.fill(prompted), canvas, edit)
    assert edits.requests[-2]["fields"]["prompt"] == "a sunny beach"
    assert edits.requests[-1]["path"] == "/files/result.png"


def test_a_prompt_goes_to_the_edit_endpoint_even_with_iopaint(edits, settings):
    settings.DAM_INPAINT_URL = edits.base
    job, canvas, edit = _job(prompt="snow")
    _check_result(generation.fill(job), canvas, edit)
    assert [r["path"] for r in edits.requests] == ["/v1/images/edits"]


def test_time_out_is_a_504_without_waiting_for_the_server(iopaint, settings):
    settings.DAM_GENERATION_TIMEOUT = 1
    iopaint.script = ["sleep"]
    started = time.monotonic()
    with pytest.raises(ApiError) as caught:
        generation.fill(_job()[0])
    assert caught.value.status == 504 and "DAM_INPAINT_URL" in caught.value.message
    assert time.monotonic() - started < 2.5  # the server sleeps 3 s


def test_the_deadline_bounds_the_call(iopaint):
    iopaint.script = ["sleep"]
    with pytest.raises(ApiError) as caught:
        generation.fill(_job()[0], deadline=time.monotonic() + 0.5)
    assert caught.value.status == 504


def test_a_500_then_success_is_retried(iopaint):
    iopaint.script = ["500", "429", "ok"]
    job, canvas, edit = _job()
    _check_result(generation.fill(job), canvas, edit)
    assert len(iopaint.requests) == 3


def test_500_always_is_a_502_naming_the_back_end_never_the_key(edits, settings):
    edits.script = ["500"]
    with pytest.raises(ApiError) as caught:
        generation.fill(_job()[0])
    assert caught.value.status == 502
    assert "DAM_IMAGE_EDIT_URL" in caught.value.message and "500" in caught.value.message
    assert KEY not in caught.value.message
    assert len(edits.requests) == 1 + settings.DAM_GENERATION_RETRIES


def test_a_4xx_is_not_retried(iopaint):
    iopaint.script = ["400"]
    with pytest.raises(ApiError) as caught:
        generation.fill(_job()[0])
    assert caught.value.status == 502 and "failing on purpose" in caught.value.message
    assert len(iopaint.requests) == 1


def test_answers_of_another_size(iopaint):
    iopaint.script = ["half"]  # same aspect: resized
    job, canvas, edit = _job()
    result = generation.fill(job).numpy()
    assert result.shape == canvas.shape and np.array_equal(result[~edit], canvas[~edit])
    iopaint.script = ["square"]  # another aspect: refused
    with pytest.raises(ApiError) as caught:
        generation.fill(job)
    assert caught.value.status == 502 and "aspect" in caught.value.message


@pytest.mark.parametrize("mode,words", [("text", "not an image"), ("big", "bytes")])
def test_bad_answers_are_502(iopaint, settings, mode, words):
    settings.DAM_GENERATION_MAX_BYTES = 100_000
    iopaint.script = [mode]
    with pytest.raises(ApiError) as caught:
        generation.fill(_job()[0])
    assert caught.value.status == 502 and words in caught.value.message


def test_an_edit_answer_without_data_is_502(edits):
    edits.script = ["nodata"]
    with pytest.raises(ApiError) as caught:
        generation.fill(_job()[0])
    assert caught.value.status == 502 and "data[0]" in caught.value.message


def test_an_unreachable_back_end_is_502(settings):
    import socket

    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings.DAM_INPAINT_URL = f"http://127.0.0.1:{port}"
    settings.DAM_IMAGE_EDIT_URL = ""
    settings.DAM_GENERATION_RETRIES = 1
    with pytest.raises(ApiError) as caught:
        generation.fill(_job()[0])
    assert caught.value.status == 502 and "could not be reached" in caught.value.message


def test_nothing_to_make_asks_no_back_end(iopaint):
    job, canvas, _ = _job()
    empty = FillJob(image=job.image, mask=pyvips.Image.black(160, 90).cast("uchar"), seed=1)
    assert np.array_equal(generation.fill(empty).numpy(), canvas)
    assert iopaint.requests == []
