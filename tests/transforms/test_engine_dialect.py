"""The engine apart from the Cloudinary dialect (issue 11, item 2): a Plan built without
the Cloudinary parser, as a second URL dialect would build it, has the same meaning and
lands in the same derived-cache entry; the executor starts from one source chosen up
front, and a new source kind is one `sources.register` call."""

from __future__ import annotations

import numpy as np
import pytest
import pyvips

from assets.models import Asset
from tests.conftest import CLOUD, make_image
from transforms import derived, executor, sources
from transforms.cloudinary.entry import from_text
from transforms.models import DerivedImage
from transforms.plan import Action, Block, Effect, Plan
from transforms.values import Length

pytestmark = pytest.mark.django_db


@pytest.fixture
def pic(upload):
    assert upload(make_image(120, 90, "jpg"), name="pic.jpg", public_id="pic").status_code == 200
    return Asset.objects.get(public_id="pic")


def fill_200x150() -> Plan:
    """c_fill,w_200,h_150 as another dialect (ImageKit's ``tr:w-200,h-150,c-maintain_ratio``)
    would build it: engine types only, its own text."""
    return Plan(None, "tr:w-200,h-150", (Action(crop="fill", width=Length(200.0), height=Length(150.0)),))


def test_a_plan_built_without_the_cloudinary_parser_means_the_same():
    cloudinary = from_text("c_fill,w_200,h_150")
    direct = fill_200x150()
    assert direct.steps == cloudinary.steps
    assert direct.key == cloudinary.key
    assert direct.transformation != cloudinary.transformation  # each dialect keeps its own text


def test_both_dialects_land_in_the_same_cache_entry(client, pic):
    assert derived.cache_key(pic, fill_200x150().for_asset(pic)) == \
        derived.cache_key(pic, from_text("c_fill,w_200,h_150").for_asset(pic))
    response = client.get(f"/{CLOUD}/image/upload/c_fill,w_200,h_150/pic.jpg")
    assert response.status_code == 200
    row = DerivedImage.objects.get(asset=pic)

    found = derived.deliverable(pic, fill_200x150().for_asset(pic))
    assert found.derived is not None and found.derived.pk == row.pk  # served, not rendered again
    assert DerivedImage.objects.filter(asset=pic).count() == 1
    assert (found.width, found.height) == (200, 150)


def test_a_different_meaning_is_a_different_entry(pic):
    other = Plan(None, "tr:w-200,h-151", (Action(crop="fill", width=Length(200.0), height=Length(151.0)),))
    assert derived.cache_key(pic, other.for_asset(pic)) != derived.cache_key(pic, fill_200x150().for_asset(pic))


def test_a_direct_plan_with_a_condition_and_an_effect_renders(pic):
    plan = Plan("png", "", (Action(crop="scale", width=Length(40.0)),
                            Block(from_text("if_w_gt_10/e_grayscale/if_end").steps[0].condition,
                                  (Action(effect=Effect("grayscale", None, "grayscale")),))))
    assert plan.key == from_text("c_scale,w_40/if_w_gt_10/e_grayscale/if_end", "png").key
    found = derived.deliverable(pic, plan.for_asset(pic))
    with found.open() as fh:
        image = pyvips.Image.new_from_buffer(fh.read(), "")
    pixels = np.ndarray(buffer=image.write_to_memory(), dtype=np.uint8, shape=(image.height, image.width, image.bands))
    assert image.width == 40
    assert (pixels[..., 0] == pixels[..., 1]).all() and (pixels[..., 1] == pixels[..., 2]).all()


# --- sources ---------------------------------------------------------------------------------


def test_the_original_and_the_shrunk_original_are_sources_in_that_order():
    kinds = [s.kind for s in sources.SOURCES]
    assert kinds.index("ai_result") < kinds.index("shrunk_original") < kinds.index("original")
    assert kinds[-1] == "original"


def test_a_new_source_kind_is_one_registration(pic, monkeypatch, tmp_path):
    """A generated image (a later producer) as the start of a render: the executor asks
    the sources, the plan's steps run on what it gives."""
    monkeypatch.setattr(sources, "SOURCES", list(sources.SOURCES))
    asked = []

    def generated(asset, plan, stack, overrides):
        asked.append(asset.pk)
        if plan.transformation != "generate":
            return None
        red = (pyvips.Image.black(300, 100) + [255, 0, 0]).cast("uchar").copy(interpretation="srgb")
        return sources.Start("generated", red, plan)

    sources.register("generated", generated, priority=5)
    with pytest.raises(RuntimeError):
        sources.register("generated", generated, priority=6)

    plan = Plan("png", "generate", (Action(crop="scale", width=Length(30.0)),)).for_asset(pic)
    rendered = executor.render(pic, plan, str(tmp_path / "out.png"), to_memory=True)
    assert (rendered.width, rendered.height) == (30, 10)
    image = pyvips.Image.new_from_buffer(rendered.data, "")
    assert image.getpoint(15, 5)[:3] == [255, 0, 0]

    ordinary = executor.render(pic, from_text("c_scale,w_30", "png").for_asset(pic), str(tmp_path / "o.png"),
                               to_memory=True)
    assert (ordinary.width, ordinary.height) == (30, 23)  # the generator declined: the original
    assert asked == [pic.pk, pic.pk]
