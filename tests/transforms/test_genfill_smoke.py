import numpy as np
import pytest
import pyvips
from skimage import data

from tests.conftest import CLOUD
from transforms.ai import jobs
from transforms.models import AIResult


def _png(array) -> bytes:
    return pyvips.Image.new_from_array(array).pngsave_buffer()


def _img(response):
    body = b"".join(response.streaming_content) if response.streaming else response.content
    return pyvips.Image.new_from_buffer(body, "")


@pytest.mark.django_db
def test_smoke(client, upload, settings):
    settings.DAM_INPAINT_URL = settings.DAM_IMAGE_EDIT_URL = ""
    settings.DAM_INPAINT_PROMPTS = False
    photo = data.astronaut()[::4, ::4]  # 128x128
    assert upload(_png(photo), name="a.png", public_id="gf").status_code == 200
    url = f"/{CLOUD}/image/upload/ar_16:9,b_gen_fill,c_pad,w_256/gf.png"
    first = client.get(url)
    assert first.status_code == 423, first.content
    row = AIResult.objects.get()
    print(row.options, row.spec)
    assert jobs.compute(row.pk) == "done", AIResult.objects.get().error
    done = client.get(url)
    assert done.status_code == 200, done.content
    image = _img(done)
    assert (image.width, image.height) == (256, 144)
    longer = client.get(f"/{CLOUD}/image/upload/ar_16:9,b_gen_fill,c_pad,w_256/e_grayscale/gf.png")
    assert longer.status_code == 200
    other = client.get(f"/{CLOUD}/image/upload/ar_16:9,b_gen_fill:seed_3,c_pad,w_256/gf.png")
    assert other.status_code == 423
    bad = client.get(f"/{CLOUD}/image/upload/ar_16:9,b_gen_fill:seed_x,c_pad,w_256/gf.png")
    assert bad.status_code == 400 and "seed" in bad["X-Cld-Error"]
    image.write_to_file("/tmp/t/gf.png")
