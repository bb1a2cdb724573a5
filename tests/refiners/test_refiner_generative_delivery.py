"""Delivery of a chosen generative variation, as the reference's "Understanding refined
transformations" says: the choice is stored per asset version and the literal transformation
text; it is delivered for that exact text, for longer chains starting with it and for named
transformations exactly equal to it; not for another parameter order, not when anything comes
before it, not when variables are used; an overwrite of the original drops it.  Pixels are
compared by similarity with the chosen variation's own delivery (its seed written in the URL)
and with the default result; the derived cache never serves the old rendering (the choice
enters the cache key through the ``generative`` dependency).  Jobs run with jobs.compute."""

from __future__ import annotations

import secrets

import numpy as np
import pytest
import pyvips
from skimage import data

from refiners.generative import store
from refiners.models import ChosenVariation, VariationBatch
from tests.admin_client import Admin
from tests.conftest import CLOUD
from transforms.ai import jobs
from transforms.cloudinary import named
from transforms.cloudinary.entry import from_text
from transforms.cloudinary.variation import with_variation
from transforms.models import AIResult, DerivedImage

T = "ar_16:9,b_gen_fill,c_pad,w_160"
API = "refiners/generative/upload/gen/pic"


def photo(flip: bool = False) -> bytes:
    pixels = data.astronaut()[::4, ::4][32:96, 16:112]  # 96x64
    return pyvips.Image.new_from_array(pixels[:, ::-1] if flip else pixels).pngsave_buffer()


def run_pending() -> None:
    for pk in AIResult.objects.filter(status=AIResult.PENDING).values_list("pk", flat=True):
        assert jobs.compute(pk) == "done", AIResult.objects.get(pk=pk).error


def pixels(client, text: str) -> np.ndarray:
    """The delivered PNG of `text`, computing a generative step's result when it is new."""
    url = f"/{CLOUD}/image/upload/{text}/gen/pic.png"
    response = client.get(url)
    if response.status_code == 423:
        run_pending()
        response = client.get(url)
    assert response.status_code == 200, (text, response.status_code, response.get("X-Cld-Error"))
    body = b"".join(response.streaming_content) if response.streaming else response.content
    return pyvips.Image.new_from_buffer(body, "").numpy().astype(np.float32)


def differ(a: np.ndarray, b: np.ndarray) -> float:
    assert a.shape == b.shape
    return float(np.abs(a - b).mean())


@pytest.fixture
def pic(upload, settings, tmp_path):
    settings.DAM_ISNET_MODEL = tmp_path / "absent.onnx"  # the plain local fill, without the subject's matte
    settings.DAM_INPAINT_URL = settings.DAM_IMAGE_EDIT_URL = ""
    settings.DAM_INPAINT_PROMPTS = False
    settings.DAM_AI_UNSIGNED_OPTION_SETS = 50  # the table's unsigned URLs ask for many fills of one version
    assert upload(photo(), name="pic.png", public_id="gen/pic").status_code == 200
    from assets.models import Asset
    return Asset.objects.get(public_id="gen/pic")


class FixedSeeds:
    """The refiner's seeds for these tests: seeds 1 and 3 fill this small image's 12 px
    borders visibly differently from the default (22-34 grey levels on the right border),
    while some random seeds differ by only ~9: a random pick made the comparisons flaky."""

    def __init__(self, *seeds):
        self.seeds = list(seeds)

    def randbelow(self, _n):
        return self.seeds.pop(0)

    token_hex = staticmethod(secrets.token_hex)


@pytest.fixture
def chosen(client, api_key, pic, monkeypatch):
    """The default result delivered first (a derived row cached), then a variation chosen."""
    monkeypatch.setattr(store, "secrets", FixedSeeds(1, 3))
    admin = Admin(client, api_key)
    default = pixels(client, T)
    assert DerivedImage.objects.filter(asset=pic).exists()
    made = admin.post(API + "/variations", {"transformation": T, "count": 2})
    assert made.status_code == 202, made.content
    run_pending()
    batch = admin.get(f"{API}/variations/{made.json()['id']}").json()
    assert batch["status"] == "complete", batch
    first = batch["variations"][0]
    choice = admin.put(API, {"transformation": T, "variation": first["id"]})
    assert choice.status_code == 200, choice.content
    variation = with_variation(T, first["seed"])
    assert first["url"].endswith(f"/{variation}/v{pic.version}/gen/pic.png")
    return {"default": default, "seed": first["seed"], "variation": variation, "admin": admin}


def test_the_variation_url_shows_another_fill_than_the_default(client, chosen):
    shown = pixels(client, chosen["variation"])
    assert differ(shown, chosen["default"]) > 1.0  # another seed: another fill
    # the original's area is the same in both (the fill only made the padding)
    assert differ(shown[:, 16:144], chosen["default"][:, 16:144]) < 1.0  # 135x90 placed at x=12


RULES = [
    # (delivered, the same suffix on the reference, whether the chosen variation is delivered)
    ("exact string", T, "", True),
    ("longer chain", T + "/e_grayscale", "/e_grayscale", True),
    ("longer chain, two more", T + "/e_grayscale/c_scale,w_80", "/e_grayscale/c_scale,w_80", True),
    ("named, exactly equal", "t_gfill", "", True),
    ("named, then more", "t_gfill/e_grayscale", "/e_grayscale", True),
    ("named, other order", "t_gfill_swapped", "", False),
    ("another order", "b_gen_fill,ar_16:9,c_pad,w_160", "", False),
    ("another order inside", "ar_16:9,c_pad,b_gen_fill,w_160", "", False),
    ("something before", "c_scale,w_96/" + T, "", False),
    ("variables before", "$gray_1/" + T + "/e_grayscale", "/e_grayscale", False),
    ("variables after", T + "/$gray_1/e_grayscale", "/e_grayscale", False),
    ("more in the same component", "ar_16:9,b_gen_fill,c_pad,w_160,r_0", "", False),
]


@pytest.mark.parametrize("delivered, suffix, gets_choice", [r[1:] for r in RULES], ids=[r[0] for r in RULES])
def test_delivery_rules(client, chosen, delivered, suffix, gets_choice):
    named.create("gfill", T)
    named.create("gfill_swapped", "b_gen_fill,ar_16:9,c_pad,w_160")
    shown = pixels(client, delivered)
    the_choice = pixels(client, chosen["variation"] + suffix)
    the_default = pixels(client, with_variation(T, 0) + suffix)
    if gets_choice:
        assert differ(shown, the_choice) < 0.5 < 1.0 < differ(shown, the_default)
    else:
        assert differ(shown, the_choice) > 1.0


def test_choosing_and_dropping_change_what_the_cached_url_delivers(client, chosen, pic):
    assert differ(pixels(client, T), pixels(client, chosen["variation"])) < 0.5
    admin = chosen["admin"]
    assert admin.delete(API, {"transformation": T}).status_code == 200
    assert differ(pixels(client, T), chosen["default"]) < 0.5  # the default again, not the cached choice
    assert admin.delete(API, {"transformation": T}).status_code == 404


def test_an_overwrite_drops_every_choice(client, upload, chosen, pic, django_capture_on_commit_callbacks):
    assert ChosenVariation.objects.filter(asset=pic).count() == 1
    with django_capture_on_commit_callbacks(execute=True):  # asset_replaced is sent on commit
        assert upload(photo(flip=True), name="pic.png", public_id="gen/pic", overwrite="true").status_code == 200
    assert not ChosenVariation.objects.filter(asset=pic).exists()
    assert not VariationBatch.objects.filter(asset=pic).exists()
    pic.refresh_from_db()
    assert store.chooser(pic, named_plan(T), 0) is None
    assert chosen["admin"].get(API).json() == {"chosen": []}
    flipped = pixels(client, T)
    assert differ(flipped, chosen["default"]) > 1.0  # the new original, filled afresh


def named_plan(text):
    return from_text(text)


def test_longest_chosen_text_wins_and_only_for_its_steps(client, chosen, pic):
    longer = T + "/e_grayscale"
    assert store.chooser(pic, named_plan(longer + "/e_negate"), 0).seed == chosen["seed"]
    ChosenVariation.objects.create(asset=pic, version_id=pic.version_id, transformation=longer, steps=2, seed=77)
    assert store.chooser(pic, named_plan(longer + "/e_negate"), 0).seed == 77
    assert store.chooser(pic, named_plan(T), 0).seed == chosen["seed"]
    assert store.chooser(pic, named_plan(longer + "/e_negate"), 2) is None  # a step after the chosen text


def test_a_later_generative_step_follows_the_choice_made_before_it(client, chosen, pic):
    """The later step's input is the chosen variation: its stored result is keyed by that choice,
    so changing the choice gives it a new input instead of a stale result."""
    later = T + "/e_gen_remove:region_(x_0;y_0;w_20;h_20)"
    with_choice = pixels(client, later)
    assert differ(with_choice[:, 40:], pixels(client, chosen["variation"])[:, 40:]) < 0.5
    assert chosen["admin"].delete(API, {"transformation": T}).status_code == 200
    without = pixels(client, later)
    assert differ(without[:, 40:], chosen["default"][:, 40:]) < 0.5
    right = slice(148, None)  # the right border the fill made (the original is 135 px wide at x=12)
    assert differ(without[:, right], with_choice[:, right]) > 5.0
