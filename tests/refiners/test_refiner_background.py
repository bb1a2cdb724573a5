"""Background Removal Refiner backend (issue 5 items 5-6): hand-painted masks over the AI
cut-out, stored per asset with revisions, applied to every derived image of a plan
starting with e_background_removal, and their HTTP API.

Stroke validation, rasterisation and the alpha arithmetic need no model; the delivery
test runs the real ISNet model once in a real worker on a small generated scene, then
once more for the overwritten asset.
"""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
import pyvips
from django.core.files.storage import storages

from core.errors import BadRequest, Conflict
from assets.models import ApiKey, Asset
from refiners import background
from refiners.background import store as resolve
from refiners.models import BackgroundMask
from tests.admin_client import Admin, basic
from tests.cutouts import corners, rgba, scene, wait_for_200
from transforms.ai import bgremoval
from transforms.models import Cutout, DerivedImage
from transforms.ops import mask as mask_ops

CLOUD = "demo"


def stroke(tool="remove", size=0.1, points=((0.0, 0.5), (1.0, 0.5))) -> dict:
    return {"tool": tool, "size": size, "points": [list(p) for p in points]}


def png_of(array: np.ndarray) -> bytes:
    return pyvips.Image.new_from_array(array).write_to_buffer(".png")


# --- validation (no model, no database) ------------------------------------------------------


@pytest.mark.parametrize("strokes,message", [
    ({"tool": "remove"}, "expected a list of strokes"),
    ("not json", "not valid JSON"),
    ('{"tool": "remove"}', "expected a list of strokes"),
    (None, "expected a list of strokes"),
    ([stroke()] * 501, "Too many strokes: 501 (at most 500)"),
    (["remove"], "Invalid stroke 0: expected an object"),
    ([stroke(), stroke(tool="erase")], "Invalid stroke 1: tool must be 'remove' or 'restore' (got 'erase')"),
    ([{"size": 0.1, "points": [[0, 0]]}], "Invalid stroke 0: tool must be"),
    ([stroke(size=0)], "Invalid stroke 0: size must be a number with 0 < size <= 1"),
    ([stroke(size=2)], "size must be a number with 0 < size <= 1"),
    ([stroke(size=-0.1)], "size must be a number with 0 < size <= 1"),
    ([stroke(size="0.1")], "size must be a number"),
    ([stroke(size=True)], "size must be a number"),
    ([stroke(size=float("nan"))], "size must be a number"),
    ([stroke(points=())], "points must be a non-empty list"),
    ([{"tool": "remove", "size": 0.1, "points": "0,0"}], "points must be a non-empty list"),
    ([{"tool": "remove", "size": 0.1}], "points must be a non-empty list"),
    ([stroke(points=[(0.5, 0.5)] * 5001)], "too many points: 5001 (at most 5000 a stroke)"),
    ([stroke(points=[(0.5, 0.5), (1.2, 0.5)])], "point 1 must have x and y between 0 and 1"),
    ([stroke(points=[(0.5, -0.01)])], "point 0 must have x and y between 0 and 1"),
    ([stroke(points=[(0.5,)])], "point 0 must be a pair [x, y]"),
    ([stroke(points=[(0.5, 0.5, 0.5)])], "point 0 must be a pair"),
    ([stroke(points=[("a", 0.5)])], "point 0 must have x and y between 0 and 1"),
    ([{**stroke(), "colour": "red"}], "Invalid stroke 0: unknown key 'colour'"),
    ([stroke(points=[(0.5, 0.5), (True, 0.5)])], "point 1 must have x and y between 0 and 1"),
    ([stroke(points=[(0.5, 0.5), ("0.5", 0.5)])], "point 1 must have x and y between 0 and 1"),
    ([stroke(points=[(0.5, 0.5), (0.5, float("inf"))])], "point 1 must have x and y between 0 and 1"),
])
def test_bad_strokes_are_rejected_with_a_clear_message(strokes, message):
    with pytest.raises(BadRequest) as caught:
        background.validate(strokes)
    assert message in caught.value.message
    assert caught.value.status == 400


def test_valid_strokes_are_normalised():
    strokes = [stroke(size=1, points=[(0, 1)]), stroke("restore", 0.25, [(0.5, 0.25), (1, 1)] * 2500)]
    clean = background.validate(json.dumps(strokes))  # the JSON text of a form field is accepted too
    assert clean[0] == {"tool": "remove", "size": 1.0, "points": [[0.0, 1.0]]}
    assert len(clean[1]["points"]) == 5000 and clean[1]["tool"] == "restore"
    assert all(isinstance(v, float) for point in clean[1]["points"] for v in point)
    assert background.validate([]) == []
    assert len(background.validate([stroke()] * 500)) == 500


# --- rasterisation -------------------------------------------------------------------------


def painted_rows(mask: np.ndarray, column: int, below: int = 64) -> int:
    return int((mask[:, column] < below).sum())


def test_a_remove_stroke_across_the_middle_paints_0_along_the_line_and_keeps_128_elsewhere():
    mask = background.rasterise([stroke("remove", 0.1, [(0, 0.5), (1, 0.5)])], 200, 100)
    assert mask.shape == (100, 200) and mask.dtype == np.uint8
    assert (mask[41:59] == 0).all()  # a band 20 px (0.1 of the width) high around y = 50
    assert (mask[:39] == 128).all() and (mask[61:] == 128).all()
    assert painted_rows(mask, 100) == 20


def test_a_later_stroke_paints_over_an_earlier_one():
    remove = stroke("remove", 0.1, [(0, 0.5), (1, 0.5)])
    restore = stroke("restore", 0.05, [(0.5, 0.5)])  # a dot 10 px across at the centre
    mask = background.rasterise([remove, restore], 200, 100)
    assert mask[50, 100] == 255 and (mask[47:53, 97:103] == 255).all()
    assert mask[50, 20] == 0 and mask[50, 180] == 0
    dot = (mask > 128).sum()
    assert abs(dot - np.pi * 5 ** 2) < 12  # a round brush
    reverse = background.rasterise([restore, remove], 200, 100)
    assert (reverse[41:59] == 0).all()  # the remove stroke covers the dot now


def test_the_brush_diameter_is_a_fraction_of_the_image_width():
    line = [stroke("restore", 0.1, [(0.1, 0.5), (0.9, 0.5)])]
    assert painted_rows(255 - background.rasterise(line, 200, 100), 100) == 20
    assert painted_rows(255 - background.rasterise(line, 400, 200), 200) == 40
    assert painted_rows(255 - background.rasterise(line, 400, 100), 200) == 40  # width doubled, height not
    caps = background.rasterise(line, 200, 100)[50]  # round caps reach half the diameter past the ends
    assert caps[12] == 255 and caps[6] == 128 and caps[187] == 255 and caps[193] == 128


def test_edges_are_antialiased_and_joins_are_round():
    mask = background.rasterise([stroke("remove", 0.1, [(0.1, 0.1), (0.5, 0.9), (0.9, 0.1)])], 200, 100)
    edge = mask[(mask > 0) & (mask < 128)]
    assert edge.size > 50  # partly covered pixels between the painted 0 and the kept 128
    assert mask[int(0.9 * 100) - 1, 100] == 0  # the join at the bottom vertex is filled
    # Round join: nothing painted more than the radius (10 px) away from the polyline.
    yy, xx = np.nonzero(mask < 64)
    assert yy.max() <= 90 + 10 and yy.min() >= 10 - 10


def test_a_dense_drag_is_drawn_as_exactly_as_point_by_point(monkeypatch):
    """A wide brush over many short segments is simplified before drawing (within a
    fraction of a pixel): the same pixels as drawing every point."""
    t = np.linspace(0, 1, 3000)
    drag = [stroke("remove", 0.2, np.stack([0.1 + 0.8 * t, 0.5 + 0.3 * np.sin(t * 12)], 1)),
            stroke("restore", 0.05, np.stack([0.2 + 0.6 * t, 0.5 + 0.2 * np.cos(t * 30)], 1)),
            stroke("remove", 0.1, [(0.1, 0.1), (0.5, 0.3), (0.1, 0.5)])]  # a sharp turn
    fast = background.rasterise(drag, 256, 192).astype(int)
    monkeypatch.setattr(mask_ops, "SIMPLIFY_ABOVE", float("inf"))
    slow = background.rasterise(drag, 256, 192).astype(int)
    from scipy import ndimage

    # Every pixel within the range of the exact drawing's 3x3 neighbourhood (edges within
    # a pixel), and on average hardly different.
    low, high = ndimage.minimum_filter(slow, size=3), ndimage.maximum_filter(slow, size=3)
    assert (~((fast >= low) & (fast <= high))).sum() <= 3
    assert np.abs(fast - slow).mean() < 1.5
    assert abs((fast == 0).sum() - (slow == 0).sum()) < 0.02 * (slow == 0).sum()


def test_too_much_painting_is_refused_before_drawing():
    rng = np.random.default_rng(3)
    scribble = [stroke("remove", 0.3, rng.random((5000, 2))) for _ in range(10)]
    with pytest.raises(BadRequest, match="Too much painting for one mask"):
        background.rasterise(background.validate(scribble), 256, 192)
    assert background.rasterise(background.validate(scribble[:1]), 256, 192).min() == 0


@pytest.mark.parametrize("m,expected", [(0, 0), (32, 50), (64, 100), (127, 198), (128, 200), (129, 200),
                                        (192, 228), (254, 255), (255, 255)])
def test_mask_values_scale_the_cutout_alpha(m, expected):
    rgb = np.full((4, 6, 3), (10, 20, 30), np.uint8)
    cut = pyvips.Image.new_from_array(np.dstack([rgb, np.full((4, 6), 200, np.uint8)]), interpretation="srgb")
    mask = pyvips.Image.new_from_array(np.full((4, 6), m, np.uint8))
    out = background.combine(cut, mask).numpy()
    assert out.shape == (4, 6, 4)
    assert abs(int(out[0, 0, 3]) - expected) <= 1  # A*m/128 below 128, A+(255-A)*(m-128)/127 above
    assert (out[..., :3] == rgb).all()  # the colour is untouched (restore shows the original's pixels)


def test_a_mask_for_another_size_is_rasterised_again_for_the_cutout():
    strokes = [stroke("remove", 0.2, [(0, 0.5), (1, 0.5)])]
    mask = BackgroundMask(strokes=strokes, storage_name="refiners/nowhere.png", width=50, height=25)
    cut = pyvips.Image.new_from_array(np.dstack([np.zeros((60, 120, 3), np.uint8), np.full((60, 120), 255,
                                                                                            np.uint8)]))
    alpha = background.apply(cut, mask).numpy()[..., 3]
    assert alpha.shape == (60, 120)
    assert (alpha[20:40] == 0).all() and (alpha[:16] == 255).all() and (alpha[44:] == 255).all()
    assert background.apply(cut, None) is cut
    assert background.apply(cut, BackgroundMask(strokes=[], storage_name="")) is cut


# --- revisions and the stored PNG ----------------------------------------------------------------


@pytest.fixture
def asset(upload):
    def _make(public_id="refine_me", width=64, height=48):
        assert upload(png_of(scene(width, height)), name="s.png", public_id=public_id).status_code == 200
        return Asset.objects.get(public_id=public_id)

    return _make


def test_save_writes_revisions_and_the_mask_png_at_the_cutout_size(asset, settings):
    settings.DAM_BG_REMOVAL_MAX_PIXELS = 40 * 30  # the cut-out of a 64x48 original is 40x30
    item = asset()
    assert background.current(item) is None
    assert background.as_dict(None, item) == {"public_id": "refine_me", "type": "upload", "version": item.version,
                                              "revision": 0, "strokes": [], "width": 40, "height": 30,
                                              "created_at": None, "created_by": None}
    strokes = [stroke("remove", 0.25, [(0, 0.5), (1, 0.5)])]
    first = background.save(item, strokes, base_revision=0)
    assert (first.revision, first.version_id, first.width, first.height) == (1, item.version_id, 40, 30)
    with storages["derived"].open(first.storage_name, "rb") as fh:
        stored = pyvips.Image.new_from_buffer(fh.read(), "").numpy()
    assert stored.shape[:2] == (30, 40) and (stored.reshape(30, 40) == background.rasterise(strokes, 40, 30)).all()
    assert background.current(item).pk == first.pk and resolve.background_mask_revision(item) == 1

    second = background.save(item, strokes + [stroke("restore", 0.1, [(0.5, 0.5)])], base_revision=1)
    assert second.revision == 2 and len(second.strokes) == 2 and second.storage_name != first.storage_name
    with pytest.raises(Conflict, match=r"changed meanwhile \(revision 2, not 1\)"):
        background.save(item, [], base_revision=1)
    cleared = background.clear(item)
    assert (cleared.revision, cleared.strokes, cleared.storage_name) == (3, [], "")
    assert list(BackgroundMask.objects.filter(asset=item).values_list("revision", flat=True)) == [3, 2, 1]
    data = background.as_dict(background.current(item), item)
    assert data["revision"] == 3 and data["strokes"] == [] and data["created_at"].endswith("Z")
    assert resolve.background_removal(item) == ":mask:3"


def test_bad_input_writes_nothing(asset):
    item = asset()
    with pytest.raises(BadRequest):
        background.save(item, [stroke(size=0)])
    with pytest.raises(BadRequest, match="Invalid base_revision"):
        background.save(item, [stroke()], base_revision="two")
    with pytest.raises(Conflict):
        background.save(item, [stroke()], base_revision=4)
    assert not BackgroundMask.objects.exists()
    root = storages["derived"].path("")
    assert not os.path.exists(os.path.join(root, "refiners")) or not any(
        files for _, _, files in os.walk(os.path.join(root, "refiners")))


def test_the_user_is_recorded(asset, django_user_model):
    item = asset()
    user = django_user_model.objects.create_user("painter", password="x")
    mask = background.save(item, [stroke()], user=user)
    assert background.as_dict(background.current(item), item)["created_by"] == "painter"
    assert mask.created_by_id == user.pk


def _derived_row(item, transformation: str, named: str = "") -> DerivedImage:
    return DerivedImage.objects.create(asset=item, key=f"k-{item.pk}-{transformation}-{named}", version_id=item.version_id,
                                       transformation=transformation, format="png", storage_name="x.png", bytes=1,
                                       width=1, height=1, etag="e", named=named)


def test_only_renderings_of_plans_starting_with_background_removal_are_invalidated(asset):
    from transforms.cloudinary import named

    item, other = asset(), asset("someone_else")
    named.create("cut_out", "e_background_removal:fineedges_y")
    named.create("thumb", "c_scale,w_20")
    stale = [_derived_row(item, t) for t in ("e_background_removal", "e_background_removal/e_grayscale",
                                             "c_scale,e_background_removal,w_100/e_sepia")]
    stale.append(_derived_row(item, "t_cut_out/e_grayscale", "|cut_out|"))
    kept = [_derived_row(item, t) for t in ("c_scale,w_50", "e_grayscale", "l_text:arial_20:background_removal")]
    kept.append(_derived_row(item, "t_thumb", "|thumb|"))
    kept.append(_derived_row(other, "e_background_removal"))

    background.save(item, [stroke()])
    assert not DerivedImage.objects.filter(pk__in=[r.pk for r in stale]).exists()
    assert DerivedImage.objects.filter(pk__in=[r.pk for r in kept]).count() == len(kept)


def test_deleting_the_asset_deletes_its_masks_and_their_files(asset, client, api_key,
                                                              django_capture_on_commit_callbacks):
    item = asset()
    first = background.save(item, [stroke()])
    second = background.save(item, [stroke("restore")])
    names = [first.storage_name, second.storage_name]
    assert all(storages["derived"].exists(n) for n in names)
    with django_capture_on_commit_callbacks(execute=True):
        response = Admin(client, api_key).delete("resources/image/upload", {"public_ids": ["refine_me"]})
    assert response.status_code == 200, response.content
    assert not BackgroundMask.objects.exists()
    assert not any(storages["derived"].exists(n) for n in names)


# --- the HTTP API ------------------------------------------------------------------------------


def refiner_url(public_id: str, type_: str = "upload") -> str:
    return f"refiners/background_removal/{type_}/{public_id}"


def test_api_round_trip(client, api_key, asset):
    item = asset("folder/sub/refined")
    admin = Admin(client, api_key)
    path = refiner_url("folder/sub/refined")

    assert "refiners" not in admin.get("resources/image/upload/folder/sub/refined").json()
    none = admin.get(path)
    assert none.status_code == 200, none.content
    assert none.json() | {"created_at": None} == {
        "public_id": "folder/sub/refined", "type": "upload", "version": item.version, "revision": 0, "strokes": [],
        "width": 64, "height": 48, "created_at": None, "created_by": None}

    strokes = [stroke("remove", 0.1, [(0.2, 0.5), (0.8, 0.5)]), stroke("restore", 0.05, [(0.5, 0.5)])]
    put = admin.put(path, {"strokes": strokes, "base_revision": 0})
    assert put.status_code == 200, put.content
    body = put.json()
    assert body["revision"] == 1 and body["strokes"] == background.validate(strokes) and body["width"] == 64
    assert admin.get(path).json()["revision"] == 1

    stale = admin.put(path, {"strokes": [], "base_revision": 0})
    assert stale.status_code == 409 and "changed meanwhile" in stale.json()["error"]["message"]

    form = admin.put(path, {"strokes": json.dumps(strokes[:1]), "base_revision": "1"}, as_="form")
    assert form.status_code == 200, form.content
    assert form.json()["revision"] == 2 and len(form.json()["strokes"]) == 1

    detail = admin.get("resources/image/upload/folder/sub/refined").json()
    assert detail["refiners"] == {"background_removal": {"revision": 2}}

    deleted = admin.delete(path)
    assert deleted.status_code == 200
    assert (deleted.json()["revision"], deleted.json()["strokes"]) == (3, [])
    assert admin.get(path).json()["revision"] == 3
    assert BackgroundMask.objects.filter(asset=item).count() == 3


@pytest.mark.parametrize("payload,message", [
    ({"strokes": [{"tool": "erase", "size": 0.1, "points": [[0, 0]]}]}, "tool must be 'remove' or 'restore'"),
    ({"strokes": [stroke(size=0)]}, "size must be a number with 0 < size <= 1"),
    ({"strokes": [stroke(size=2)]}, "size must be a number with 0 < size <= 1"),
    ({"strokes": [stroke(points=[(1.5, 0)])]}, "between 0 and 1"),
    ({"strokes": [stroke(points=[])]}, "points must be a non-empty list"),
    ({"strokes": [stroke(points=[(0, 0)] * 5001)]}, "too many points"),
    ({"strokes": {"tool": "remove"}}, "expected a list of strokes"),
    ({"strokes": [stroke()], "base_revision": "x"}, "Invalid base_revision"),
    ({}, "Missing required parameter - strokes"),
])
def test_api_bad_strokes_are_400(client, api_key, asset, payload, message):
    asset()
    response = Admin(client, api_key).put(refiner_url("refine_me"), payload)
    assert response.status_code == 400, response.content
    assert message in response.json()["error"]["message"]
    assert not BackgroundMask.objects.exists()


def test_api_errors_and_roles(client, api_key, asset):
    asset()
    admin = Admin(client, api_key)
    missing = admin.get(refiner_url("no_such_asset"))
    assert missing.status_code == 404 and "Resource not found - no_such_asset" in missing.json()["error"]["message"]
    assert admin.put(refiner_url("no_such_asset"), {"strokes": []}).status_code == 404
    assert admin.get(refiner_url("refine_me", "private")).status_code == 404  # another delivery type
    assert admin.get(refiner_url("refine_me", "bogus")).status_code == 400

    url = f"/v1_1/{CLOUD}/{refiner_url('refine_me')}"
    anonymous = client.get(url)
    assert anonymous.status_code == 401 and anonymous.json()["error"]["message"]
    assert client.put(url, json.dumps({"strokes": []}), content_type="application/json").status_code == 401
    wrong = client.get(url, HTTP_AUTHORIZATION=basic(api_key.key, "not-the-secret"))
    assert wrong.status_code == 401
    assert client.get(f"/v1_1/other_cloud/{refiner_url('refine_me')}",
                      HTTP_AUTHORIZATION=basic(api_key.key, api_key.secret)).status_code == 404

    viewer = ApiKey.objects.create(name="viewer", role="viewer")
    as_viewer = Admin(client, viewer)
    assert as_viewer.get(refiner_url("refine_me")).status_code == 200
    refused = as_viewer.put(refiner_url("refine_me"), {"strokes": [stroke()]})
    assert refused.status_code == 403 and "viewer" in refused.json()["error"]["message"]
    assert as_viewer.delete(refiner_url("refine_me")).status_code == 403
    editor = ApiKey.objects.create(name="editor", role="editor")
    assert Admin(client, editor).put(refiner_url("refine_me"), {"strokes": [stroke()]}).status_code == 200
    assert not BackgroundMask.objects.filter(revision__gt=1).exists()


def test_the_refiner_route_is_not_a_delivery_url():
    from transforms.cloudinary.route import DELIVERY

    assert DELIVERY.match(f"v1_1/{CLOUD}/refiners/background_removal/upload/x") is None
    assert DELIVERY.match("refiners/image/upload/x.png") is None


# --- delivery, with the real model in a real worker ----------------------------------------------


W, H = 256, 192
REMOVE = stroke("remove", 0.08, [(0.4, 0.5), (0.6, 0.5)])  # across the red disc in the middle
RESTORE = stroke("restore", 0.08, [(0.05, 0.1), (0.2, 0.1)])  # over the background, top left


def inside_remove(a: np.ndarray) -> np.ndarray:
    h, w = a.shape[:2]
    return a[round(h * 0.5) - round(0.02 * w):round(h * 0.5) + round(0.02 * w), round(w * 0.42):round(w * 0.58)]


def inside_restore(a: np.ndarray) -> np.ndarray:
    h, w = a.shape[:2]
    return a[round(h * 0.1) - round(0.02 * w):round(h * 0.1) + round(0.02 * w), round(w * 0.06):round(w * 0.19)]


@pytest.mark.django_db(transaction=True)
def test_the_mask_changes_every_delivered_cutout_rendering_until_the_asset_is_overwritten(
        celery_worker, client, upload, api_key):
    original = scene(W, H)
    assert upload(png_of(original), name="scene.png", public_id="refined_scene").status_code == 200
    item = Asset.objects.get(public_id="refined_scene")
    base = f"/{CLOUD}/image/upload"
    url = f"{base}/e_background_removal/refined_scene.png"
    grey_url = f"{base}/e_background_removal/e_grayscale/refined_scene.png"
    small_url = f"{base}/e_background_removal/c_scale,w_100/refined_scene.png"
    plain_url = f"{base}/c_scale,w_50/refined_scene.png"

    before = rgba(wait_for_200(client, url, celery_worker.log_path))
    assert before.shape == (H, W, 4)
    assert inside_remove(before)[..., 3].min() > 230  # the model keeps the disc ...
    assert inside_restore(before)[..., 3].max() < 13  # ... and drops the background
    assert inside_remove(rgba(client.get(grey_url)))[..., 3].min() > 230
    assert client.get(small_url).status_code == 200 and client.get(plain_url).status_code == 200
    old_rows = {DerivedImage.objects.get(transformation=t).pk: t for t in
                ("e_background_removal", "e_background_removal/e_grayscale", "e_background_removal/c_scale,w_100")}
    plain_row = DerivedImage.objects.get(transformation="c_scale,w_50")
    old_files = [DerivedImage.objects.get(pk=pk).storage_name for pk in old_rows]

    admin = Admin(client, api_key)
    saved = admin.put(refiner_url("refined_scene"), {"strokes": [REMOVE, RESTORE], "base_revision": 0})
    assert saved.status_code == 200, saved.content
    assert (saved.json()["revision"], saved.json()["width"], saved.json()["height"]) == (1, W, H)

    # The stale renderings are gone (rows now, files after commit); others stay.
    assert not DerivedImage.objects.filter(pk__in=old_rows).exists()
    assert not any(storages["derived"].exists(name) for name in old_files)
    assert DerivedImage.objects.filter(pk=plain_row.pk).exists()

    after = rgba(client.get(url))
    assert after.shape == (H, W, 4)
    assert inside_remove(after)[..., 3].max() == 0  # painted away
    assert inside_restore(after)[..., 3].min() == 255  # painted back, with the original's pixels
    assert np.abs(inside_restore(after)[..., :3].astype(int) - inside_restore(original).astype(int)).max() <= 2
    unpainted = after[..., 3].astype(int) - before[..., 3].astype(int)
    assert np.abs(unpainted[112:126, 118:139]).max() <= 1  # below the stroke the model's matte is kept
    assert all(np.abs(c[..., 3].astype(int) - d[..., 3].astype(int)).max() <= 1
               for c, d in zip(corners(after)[1:], corners(before)[1:]))

    grey = rgba(client.get(grey_url))  # a chained transformation uses the mask too
    assert inside_remove(grey)[..., 3].max() == 0 and inside_restore(grey)[..., 3].min() == 255
    assert np.ptp(inside_restore(grey)[..., :3].astype(int), axis=2).max() <= 1
    small = rgba(client.get(small_url))
    assert small.shape == (75, 100, 4)
    assert small[36:39, 45:55, 3].max() <= 30 and small[6:9, 8:17, 3].min() >= 200
    assert Cutout.objects.get().runs == 1  # no model run for any of it

    # A new revision: a new key; the restore stroke removed again (undo) brings the matte back there.
    undo = admin.put(refiner_url("refined_scene"), {"strokes": [REMOVE], "base_revision": 1})
    assert undo.status_code == 200 and undo.json()["revision"] == 2
    again = rgba(client.get(url))
    assert inside_remove(again)[..., 3].max() == 0 and inside_restore(again)[..., 3].max() < 13
    assert DerivedImage.objects.filter(transformation="e_background_removal").count() == 1

    # Overwriting the original drops the mask: the new version's cut-out is the model's own.
    mask_file = background.current(item).storage_name
    assert storages["derived"].exists(mask_file)
    assert upload(png_of(scene(W, H)), name="scene.png", public_id="refined_scene",
                  overwrite="true").status_code == 200
    item.refresh_from_db()
    assert background.current(item) is None and resolve.background_mask_revision(item) == 0
    assert not storages["derived"].exists(mask_file)
    assert not BackgroundMask.objects.filter(asset=item).exclude(storage_name="").exists()
    assert admin.get(refiner_url("refined_scene")).json()["revision"] == 0
    fresh = rgba(wait_for_200(client, url, celery_worker.log_path))
    assert inside_remove(fresh)[..., 3].min() > 230 and inside_restore(fresh)[..., 3].max() < 13
    # Revisions keep growing across versions (a client holding revision 2 gets a 409).
    assert admin.put(refiner_url("refined_scene"), {"strokes": [], "base_revision": 2}).status_code == 409
    assert admin.put(refiner_url("refined_scene"), {"strokes": [], "base_revision": 0}).json()["revision"] == 3


def test_a_mask_saved_before_the_cutout_exists_is_used_once_it_does(client, upload, api_key, settings):
    """The mask is rasterised at the size the worker will give the cut-out (here scaled
    down by DAM_BG_REMOVAL_MAX_PIXELS); the cut-out is computed in-process."""
    settings.DAM_BG_REMOVAL_MAX_PIXELS = 160 * 120
    assert upload(png_of(scene(W, H)), name="scene.png", public_id="early_mask").status_code == 200
    item = Asset.objects.get(public_id="early_mask")
    mask = background.save(item, [REMOVE])
    assert (mask.width, mask.height) == (160, 120)
    url = f"/{CLOUD}/image/upload/e_background_removal/early_mask.png"
    assert client.get(url).status_code == 423
    row = Cutout.objects.get(asset=item)
    assert bgremoval.compute(row.pk) == "done"
    row.refresh_from_db()
    assert (row.width, row.height) == (mask.width, mask.height)
    delivered = rgba(client.get(url))
    assert delivered.shape == (120, 160, 4)
    assert inside_remove(delivered)[..., 3].max() == 0
    assert delivered[35:45, 70:90, 3].min() > 200  # the disc above the stroke is kept
