"""Operations declare what their pixels depend on (issue 11, item 3): each kind enters the
derived-cache key (and an unrelated change does not), each row records its kinds, and
the event changing one deletes exactly the rows that depend on it, with one filter."""

from __future__ import annotations

import hashlib

import pytest
import pyvips
from django.core.files.base import ContentFile
from django.core.files.storage import storages

from assets import ingest
from assets.api.params import apply_metadata
from assets.models import Asset
from refiners import background
from tests.conftest import make_image
from transforms import dependencies, derived
from transforms.cloudinary import entry
from transforms.cloudinary.entry import from_text
from transforms.models import Cutout, DerivedImage
from transforms.plan import Action, Plan

pytestmark = pytest.mark.django_db


@pytest.fixture
def make(upload):
    def _make(public_id: str, width: int = 80, height: int = 60, seed: int = 0, **params) -> Asset:
        response = upload(make_image(width, height, "png", seed=seed), name=f"{public_id}.png", public_id=public_id,
                          **params)
        assert response.status_code == 200, response.content
        return Asset.objects.get(public_id=public_id)

    return _make


def key(asset: Asset, text: str) -> str:
    asset = Asset.objects.get(pk=asset.pk)  # as a request would read it
    return derived.cache_key(asset, from_text(text).for_asset(asset))


def stored_cutout(asset: Asset) -> Cutout:
    """A finished background-removal result (what the worker stores), without the model."""
    cut = pyvips.Image.black(asset.width, asset.height, bands=4).copy(interpretation="srgb") + [10, 200, 10, 255]
    data = cut.cast("uchar").write_to_buffer(".png")
    name = storages["derived"].save(f"cutouts/{asset.version_id}.png", ContentFile(data))
    return Cutout.objects.create(asset=asset, version_id=asset.version_id, options="", status=Cutout.DONE,
                                 storage_name=name, width=asset.width, height=asset.height,
                                 etag=hashlib.md5(data).hexdigest())


STROKE = {"tool": "remove", "size": 0.1, "points": [[0.0, 0.5], [1.0, 0.5]]}


# --- declarations -------------------------------------------------------------------------------


def test_each_step_type_declares_its_kinds(make):
    pic, logo = make("pic"), make("logo", 20, 20)
    plan = from_text("if_!sale!_in_tags/e_grayscale/if_end/c_crop,g_custom/l_logo,w_10/l_text:Arial_12:Hi")
    declared = dependencies.of_steps(pic, plan.steps)
    assert dependencies.recorded(declared) == f"|meta|custom|layer:{logo.pk}|"
    assert dependencies.recorded(dependencies.of_steps(pic, from_text("c_fill,w_20,h_20").steps)) == "|"
    assert dependencies.recorded(dependencies.of_steps(pic, from_text("c_fill,g_faces,w_20,h_20").steps)) == "|faces|"
    assert dependencies.recorded(dependencies.of_steps(pic, from_text("$w_10/c_scale,w_$w").steps)) == "|meta|"
    assert derived.dependencies(pic, Plan(None, "", (Action(crop="scale", width=None),)).steps) == []


def test_face_and_custom_coordinates_enter_the_key_of_the_gravity_that_reads_them(make):
    pic = make("pic")
    faces, custom, plain = key(pic, "c_fill,g_faces,w_20,h_20"), key(pic, "c_crop,g_custom"), key(pic, "c_fill,w_20")
    apply_metadata(pic, {"face_coordinates": "1,2,10,10"})
    assert key(pic, "c_fill,g_faces,w_20,h_20") != faces
    assert key(pic, "c_crop,g_custom") == custom and key(pic, "c_fill,w_20") == plain
    apply_metadata(pic, {"custom_coordinates": "5,5,20,20"})
    assert key(pic, "c_crop,g_custom") != custom
    assert key(pic, "c_fill,w_20") == plain


def test_tags_enter_the_key_only_under_a_condition_or_a_variable(make):
    pic = make("pic")
    conditional, plain = key(pic, "if_!sale!_in_tags/e_grayscale/if_end"), key(pic, "e_grayscale")
    apply_metadata(pic, {"tags": "sale"})
    assert key(pic, "if_!sale!_in_tags/e_grayscale/if_end") != conditional
    assert key(pic, "e_grayscale") == plain


def test_a_layer_asset_s_new_version_changes_the_key(make):
    pic, _ = make("pic"), make("logo", 20, 20)
    with_layer, plain = key(pic, "l_logo,w_10"), key(pic, "c_scale,w_10")
    make("logo", 20, 20, seed=3, overwrite="true")
    assert key(pic, "l_logo,w_10") != with_layer
    assert key(pic, "c_scale,w_10") == plain


def test_a_mask_revision_changes_the_key_of_plans_starting_with_background_removal(make):
    pic = make("pic")
    stored_cutout(pic)
    removed, plain = key(pic, "e_background_removal/e_grayscale"), key(pic, "e_grayscale")
    background.save(pic, [STROKE])
    assert key(pic, "e_background_removal/e_grayscale") != removed
    assert key(pic, "e_grayscale") == plain


# --- rows record their kinds; events delete exactly the rows of their kind ----------------------


def rendered(asset: Asset, *texts: str) -> dict[str, int]:
    return {text: entry.ensure(Asset.objects.get(pk=asset.pk), text, "png").pk for text in texts}


def remaining(rows: dict[str, int]) -> set[str]:
    left = set(DerivedImage.objects.filter(pk__in=rows.values()).values_list("pk", flat=True))
    return {text for text, pk in rows.items() if pk in left}


def test_rows_record_their_kinds(make):
    pic, _ = make("pic", face_coordinates="1,1,20,20"), make("logo", 20, 20)
    rows = rendered(pic, "c_fill,g_faces,w_20,h_20", "c_scale,w_30", "l_logo,w_10")
    logo = Asset.objects.get(public_id="logo")
    depends = dict(DerivedImage.objects.filter(pk__in=rows.values()).values_list("transformation", "depends"))
    assert depends == {"c_fill,g_faces,h_20,w_20": "|faces|", "c_scale,w_30": "|",
                       "l_logo,w_10": f"|layer:{logo.pk}|"}


def test_a_mask_save_deletes_exactly_the_renderings_from_the_cut_out(make):
    pic, other = make("pic"), make("other")
    stored_cutout(pic), stored_cutout(other)
    rows = rendered(pic, "e_background_removal", "e_background_removal/e_grayscale", "e_grayscale", "c_scale,w_20")
    others = rendered(other, "e_background_removal")
    background.save(Asset.objects.get(pk=pic.pk), [STROKE])
    assert remaining(rows) == {"e_grayscale", "c_scale,w_20"}
    assert remaining(others) == {"e_background_removal"}


def test_a_coordinates_change_deletes_exactly_the_renderings_that_read_them(make, django_capture_on_commit_callbacks):
    pic = make("pic", face_coordinates="1,1,20,20", custom_coordinates="2,2,30,30")
    rows = rendered(pic, "c_fill,g_faces,w_20,h_20", "c_crop,g_custom", "c_scale,w_20", "if_fc_gt_0/e_grayscale/if_end")
    # the focus-area store announces a change once it is committed (assets.focus)
    with django_capture_on_commit_callbacks(execute=True):
        apply_metadata(Asset.objects.get(pk=pic.pk), {"custom_coordinates": "3,3,30,30"})
    assert remaining(rows) == {"c_fill,g_faces,w_20,h_20", "c_scale,w_20", "if_fc_gt_0/e_grayscale/if_end"}
    with django_capture_on_commit_callbacks(execute=True):
        apply_metadata(Asset.objects.get(pk=pic.pk), {"face_coordinates": "4,4,20,20"})
    assert remaining(rows) == {"c_scale,w_20"}


def test_a_tag_change_deletes_the_renderings_under_a_condition(make):
    pic = make("pic")
    rows = rendered(pic, "if_!sale!_in_tags/e_grayscale/if_end", "e_grayscale")
    ingest.set_tags(Asset.objects.get(pk=pic.pk), ["sale"])
    assert remaining(rows) == {"e_grayscale"}


def test_a_layer_overwrite_deletes_exactly_the_renderings_using_it(make, django_capture_on_commit_callbacks):
    pic, _, _ = make("pic"), make("logo", 20, 20), make("badge", 20, 20)
    rows = rendered(pic, "l_logo,w_10", "l_badge,w_10", "l_text:Arial_12:logo", "c_scale,w_20")
    with django_capture_on_commit_callbacks(execute=True):  # asset_replaced is sent after commit
        make("logo", 20, 20, seed=3, overwrite="true")
    assert remaining(rows) == {"l_badge,w_10", "l_text:Arial_12:logo", "c_scale,w_20"}


def test_a_row_stored_before_kinds_were_recorded_gets_them_on_its_next_hit(make):
    pic = make("pic", face_coordinates="1,1,20,20")
    row = entry.ensure(pic, "c_fill,g_faces,w_20,h_20", "png")
    DerivedImage.objects.filter(pk=row.pk).update(depends="")
    again = entry.ensure(Asset.objects.get(pk=pic.pk), "c_fill,g_faces,w_20,h_20", "png")
    assert again.pk == row.pk and DerivedImage.objects.get(pk=row.pk).depends == "|faces|"
