"""The memory budget of a render (transforms.memory, DAM_RENDER_MEMORY_BUDGET): a plan
whose images would not fit is refused (400 naming the limit and the setting) before the
image too large is decoded or computed, measured by this process's peak resident memory
(Linux resets it on request: /proc/self/clear_refs); ordinary plans render as before."""

from __future__ import annotations

import json
import re
import time

import pytest
import pyvips

from tests.conftest import CLOUD, make_image
from transforms import memory

MB = 1024 * 1024


@pytest.fixture(autouse=True)
def _log_written():
    """Deliveries log their transformation when the response is closed, which the test
    client leaves to us: write it within this test, not into the next one's database."""
    yield
    from transforms.cloudinary import named

    named.flush_log()


def rss(field: str) -> int:
    with open("/proc/self/status") as fh:
        return int(re.search(rf"^{field}:\s+(\d+) kB", fh.read(), re.M).group(1)) * 1024


def peak():
    """From now on: a function giving the growth of this process's peak resident memory."""
    with open("/proc/self/clear_refs", "w") as fh:
        fh.write("5")  # VmHWM := VmRSS
    start = rss("VmRSS")
    return lambda: rss("VmHWM") - start


def get(client, transformation: str, public_id: str = "mem/base", ext: str = "jpg"):
    return client.get(f"/{CLOUD}/image/upload/{transformation}/{public_id}.{ext}")


def body(response) -> bytes:
    return b"".join(response.streaming_content)


def refused(response) -> str:
    assert response.status_code == 400, response.content
    message = json.loads(response.content)["error"]["message"]
    assert response["X-Cld-Error"] == message
    return message


@pytest.fixture
def base(upload):
    assert upload(make_image(200, 150, "jpg"), public_id="mem/base").status_code == 200
    assert upload(make_image(40, 40, "png"), name="logo.png", public_id="mem/logo").status_code == 200


def test_a_100_megapixel_layer_is_refused_without_being_decoded(client, upload, base):
    huge = pyvips.Image.black(10000, 10000, bands=3).jpegsave_buffer(Q=50)  # 100 MP, 1.5 MB of file
    assert upload(huge, name="huge.jpg", public_id="mem/huge").status_code == 200
    growth = peak()  # from here: what the upload took does not count
    started = time.monotonic()
    message = refused(get(client, "l_mem:huge/c_scale,w_50/fl_layer_apply"))
    assert time.monotonic() - started < 5
    assert "Layer mem/huge (10000x10000)" in message and "512 MB (DAM_RENDER_MEMORY_BUDGET)" in message
    assert growth() < 100 * MB  # decoded, the layer alone is 400 MB (RGBA)

    # an ordinary plan with a layer renders
    response = get(client, "c_fill,w_120,h_90/l_mem:logo/c_scale,w_30/fl_layer_apply,g_south_east")
    assert response.status_code == 200
    out = pyvips.Image.new_from_buffer(body(response), "")
    assert (out.width, out.height) == (120, 90)


def test_a_layer_over_the_source_limit_is_refused_from_its_header(client, upload, base, settings):
    assert upload(make_image(300, 200, "jpg"), public_id="mem/wide").status_code == 200
    settings.DAM_MAX_SOURCE_PIXELS = 50_000
    message = refused(get(client, "l_mem:wide/c_scale,w_50/fl_layer_apply"))
    assert message == "Layer is too large to transform: 300x200 exceeds 50000 pixels"


def test_an_upscale_over_the_budget_is_refused_before_it_is_computed(client, base, settings):
    settings.DAM_RENDER_MEMORY_BUDGET = 100  # megabytes
    growth = peak()
    message = refused(get(client, "c_scale,w_7000,h_7000/e_blur:300"))
    # 7000 x 7000 x 3 bytes (147 MB) plus the decoded original it is computed from
    assert re.search(r"needs about 14\d MB of memory, more than the render memory budget of 100 MB "
                     r"\(DAM_RENDER_MEMORY_BUDGET\)$", message), message
    assert growth() < 60 * MB
    settings.DAM_RENDER_MEMORY_BUDGET = 512
    response = get(client, "c_scale,w_700,h_500/e_blur:300")
    assert response.status_code == 200
    assert pyvips.Image.new_from_buffer(body(response), "").width == 700


def test_a_canvas_over_the_budget_is_refused(client, base, settings):
    settings.DAM_RENDER_MEMORY_BUDGET = 60
    message = refused(get(client, "c_pad,w_6000,h_4000,b_red"))  # 72 MB of canvas
    assert "DAM_RENDER_MEMORY_BUDGET" in message
    settings.DAM_RENDER_MEMORY_BUDGET = 512
    assert get(client, "c_pad,w_600,h_400,b_red").status_code == 200


def test_an_original_pillow_decodes_whole_is_checked_from_its_row(client, upload, settings):
    assert upload(make_image(2000, 1500, "bmp"), name="scan.bmp", public_id="mem/scan").status_code == 200
    settings.DAM_RENDER_MEMORY_BUDGET = 16  # decoded whole then normalised: 2 x 12 MB
    message = refused(get(client, "c_scale,w_100", "mem/scan", "png"))
    assert message.startswith("Decoding mem/scan (2000x1500) needs about 23 MB")
    settings.DAM_RENDER_MEMORY_BUDGET = 512
    assert get(client, "c_scale,w_100", "mem/scan", "png").status_code == 200


class Img:
    """An image's header as the ledger sees it (no pixels)."""

    def __init__(self, width, height, bands=3, format="uchar"):
        self.width, self.height, self.bands, self.format = width, height, bands, format


def test_the_ledger_counts_inputs_and_what_is_held(settings):
    settings.DAM_RENDER_MEMORY_BUDGET = 10
    ledger = memory.Ledger()
    ledger.settle(Img(1000, 1000))  # 3 MB
    assert ledger.current == 3_000_000
    ledger.settle(Img(1000, 1000, 1, "float"))  # 4 MB computed from the 3 MB one: 7 MB
    with ledger.holding():  # the 4 MB base stays while a layer is prepared
        ledger.settle(Img(1000, 1000, 4))  # 4 + 4 MB
        with pytest.raises(Exception, match="needs about 14 MB"):
            ledger.settle(Img(1000, 1000, 6))  # 6 + 4 (the layer it reads) + 4 (the base) > 10 MB
    assert ledger.current == 8_000_000  # the placement reads the base and the layer
    with pytest.raises(Exception, match="render memory budget of 10 MB"):
        ledger.settle(Img(1000, 1000))  # 3 + 8
