"""e_genvar (transforms.ai.genvar): a variation of the image made by the prompt-capable generation back-end.

The back-end is a real HTTP server on 127.0.0.1 started here, speaking the OpenAI-compatible images edits
protocol (multipart ``image``, ``mask`` whose transparent pixels are to be made, ``prompt``; JSON
``data[0].b64_json`` back); its "variation" swaps the red and blue channels, so what it answers is known.
Without a back-end the URL is a 400 naming the settings.
"""

from __future__ import annotations

import numpy as np
import pytest
import pyvips
from skimage import data

from tests.conftest import CLOUD
from tests.images_server import configure_edits, png, running_edits
from transforms.ai import genvar, jobs
from transforms.cloudinary import entry
from transforms.models import AIResult


def _small(photo: np.ndarray, side: int) -> np.ndarray:
    image = pyvips.Image.new_from_array(photo)
    return np.ascontiguousarray(image.resize(side / max(image.width, image.height)).numpy()[:, :, :3])


def _pixels(response) -> np.ndarray:
    body = b"".join(response.streaming_content) if response.streaming else response.content
    return pyvips.Image.new_from_buffer(body, "").numpy()


@pytest.fixture
def edits_server(settings):
    """An OpenAI-compatible ``POST /v1/images/edits`` on 127.0.0.1: the image back with red and blue swapped
    where the mask says to edit."""
    def swap(image: np.ndarray, edit: np.ndarray) -> np.ndarray:
        out = np.array(image)
        out[edit] = image[edit][:, ::-1]
        return out

    with running_edits(swap) as (url, seen):
        configure_edits(settings, url)
        yield seen


@pytest.fixture
def no_backend(settings):
    settings.DAM_INPAINT_URL = settings.DAM_IMAGE_EDIT_URL = ""
    settings.DAM_INPAINT_PROMPTS = False


def _deliver(client, transformation: str, public_id: str):
    url = f"/{CLOUD}/image/upload/{transformation}/{public_id}.png"
    first = client.get(url)
    assert first.status_code == 423, (first.status_code, first.get("X-Cld-Error"))
    row = AIResult.objects.filter(status=AIResult.PENDING).get()
    assert jobs.compute(row.pk) == "done", AIResult.objects.get(pk=row.pk).error
    done = client.get(url)
    assert done.status_code == 200, (done.status_code, done.get("X-Cld-Error"))
    return _pixels(done), AIResult.objects.get(pk=row.pk)


@pytest.mark.django_db
def test_the_variation_is_requested_with_the_image_and_stored(client, upload, edits_server):
    photo = _small(data.astronaut(), 96)
    assert upload(png(photo), public_id="gv").status_code == 200
    out, row = _deliver(client, "e_genvar", "gv")
    sent = edits_server[-1]
    assert sent["path"] == "/v1/images/edits" and sent["auth"] == "Bearer sk-test"
    assert np.array_equal(sent["image"], photo)  # the image itself was sent
    assert sent["edit"].all()  # the whole image is the variation's to change
    assert sent["prompt"] == genvar.INSTRUCTION
    assert np.array_equal(out[:, :, :3], photo[:, :, ::-1])  # what the back-end answered, stored and delivered
    assert row.kind == "genvar" and row.metadata["backend"] == "openai" and row.metadata["seed"] == 0

    again = client.get(f"/{CLOUD}/image/upload/e_genvar/gv.png")
    assert again.status_code == 200 and len(edits_server) == 1  # stored: not asked again


@pytest.mark.django_db
def test_seed_and_prompt_make_another_stored_variation(client, upload, edits_server):
    photo = _small(data.coffee(), 80)
    assert upload(png(photo), public_id="gv2").status_code == 200
    _deliver(client, "e_genvar:seed_3;prompt_autumn colours%3B warm", "gv2")
    assert edits_server[-1]["prompt"] == genvar.INSTRUCTION + ". autumn colours; warm"
    _deliver(client, "e_genvar:prompt_autumn colours%3B warm;seed_4", "gv2")  # any order; another seed
    rows = AIResult.objects.filter(kind="genvar").order_by("pk")
    assert [r.spec["seed"] for r in rows] == [3, 4]
    assert len({r.options for r in rows}) == 2


@pytest.mark.django_db
def test_after_other_steps_the_input_is_the_image_at_its_step(client, upload, edits_server):
    photo = _small(data.astronaut(), 120)
    assert upload(png(photo), public_id="gv3").status_code == 200
    out, _ = _deliver(client, "c_crop,w_50,h_40,g_north_west/e_genvar/a_90", "gv3")
    assert edits_server[-1]["image"].shape == (40, 50, 3)
    assert np.array_equal(edits_server[-1]["image"], photo[:40, :50])
    assert out.shape[:2] == (50, 40)  # the rotation after it ran on the stored variation


@pytest.mark.django_db
def test_a_transparent_image_keeps_its_alpha(client, upload, edits_server):
    photo = _small(data.coffee(), 64)
    alpha = np.full(photo.shape[:2], 255, np.uint8)
    alpha[:, :20] = 0
    assert upload(png(np.dstack([photo, alpha])), public_id="gv4").status_code == 200
    out, _ = _deliver(client, "e_genvar", "gv4")
    assert out.shape == photo.shape[:2] + (4,)
    assert np.array_equal(out[:, :, 3], alpha)


@pytest.mark.django_db
def test_without_a_back_end_the_error_names_the_setting(client, upload, no_backend):
    assert upload(png(_small(data.astronaut(), 64)), public_id="gv5").status_code == 200
    response = client.get(f"/{CLOUD}/image/upload/e_genvar:seed_2/gv5.png")
    assert response.status_code == 400
    assert "DAM_IMAGE_EDIT_URL" in response["X-Cld-Error"]
    assert "DAM_IMAGE_EDIT_URL" in response.json()["error"]["message"]
    assert not AIResult.objects.exists()


@pytest.mark.parametrize("text,message", [
    ("e_genvar:seed_x", "seed"),
    ("e_genvar:colour_red", "colour"),
    ("e_genvar:seed_1;seed_2", "twice"),
])
def test_bad_parameters(edits_server, text, message):
    from core.errors import BadRequest

    with pytest.raises(BadRequest, match=message):
        entry.from_text(text)


def test_canonical_reads_back(edits_server):
    value = genvar.parse(("prompt_a b;seed_-7",), {})
    assert value == genvar.VariationOptions(-7, "a b")
    assert genvar.parse((value.canonical,), {}) == value


@pytest.mark.django_db
def test_the_generative_refiner_asks_for_seeded_variations(client, upload, api_key, edits_server):
    """A stage with seed and prompt: the refiner's variations are e_genvar results with their own seeds."""
    from tests.admin_client import Admin

    assert upload(png(_small(data.coffee(), 64)), public_id="gen/var").status_code == 200
    admin = Admin(client, api_key)
    made = admin.post("refiners/generative/upload/gen/var/variations",
                      {"transformation": "e_genvar", "count": 2, "prompt": "in winter"})
    assert made.status_code == 202, made.content
    for row in AIResult.objects.filter(status=AIResult.PENDING):
        assert jobs.compute(row.pk) == "done", AIResult.objects.get(pk=row.pk).error
    batch = admin.get(f"refiners/generative/upload/gen/var/variations/{made.json()['id']}").json()
    assert batch["status"] == "complete", batch
    seeds = {v["seed"] for v in batch["variations"]}
    assert len(seeds) == 2
    assert [s["prompt"] for s in edits_server] == [genvar.INSTRUCTION + ". in winter"] * 2
    assert all("e_genvar:" in v["url"] for v in batch["variations"])
