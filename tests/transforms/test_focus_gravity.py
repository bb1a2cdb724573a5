"""Focus gravities and face effects through delivery URLs (issue 12, item 2): faces,
custom boxes, regions, areas of interest, g_auto's order and NanoDet objects each steer a
crop that keeps their box; the documented fallbacks; z_; layers placed on faces;
e_pixelate_faces / e_blur_faces touching only the faces; the cache key following the
coordinates.  Images are drawn (coloured squares at known places) or scikit-image photos;
checks are geometry and pixel statistics, never bytes."""

from __future__ import annotations

import numpy as np
import pytest
import pyvips
import skimage.data

from assets.models import Asset
from core.errors import BadRequest
from tests.conftest import CLOUD
from transforms import derived
from transforms.ai import detect
from transforms.cloudinary import params as P
from transforms.cloudinary.entry import from_text
from transforms.values import Gravity

pytestmark = pytest.mark.django_db

GREY, RED, BLUE, GREEN, YELLOW = (90, 90, 90), (255, 0, 0), (0, 0, 255), (0, 200, 0), (255, 255, 0)
FACE = (290, 30, 60, 60)  # the "face": a red square
SECOND_FACE = (30, 20, 40, 40)  # a smaller one, red too
CUSTOM = (20, 200, 50, 50)  # blue
HAT = (150, 120, 40, 40)  # green, a two-point region
TRIANGLE = [[200, 220], [260, 220], [230, 280]]  # yellow square under its bounding box


def png(array: np.ndarray) -> bytes:
    return pyvips.Image.new_from_array(array, interpretation="srgb").write_to_buffer(".png")


def scene() -> np.ndarray:
    array = np.zeros((300, 400, 3), np.uint8)
    array[:] = GREY
    for (x, y, w, h), colour in ((FACE, RED), (CUSTOM, BLUE), (HAT, GREEN), ((200, 220, 60, 60), YELLOW)):
        array[y:y + h, x:x + w] = colour
    return array


def pixels_of(response) -> np.ndarray:
    assert response.status_code == 200, (response.status_code, response.get("X-Cld-Error"))
    data = b"".join(response.streaming_content) if response.streaming else response.content
    return pyvips.Image.new_from_buffer(data, "").numpy()[..., :3].astype(int)


def get(client, transformation: str, public_id: str = "scene", ext: str = "png"):
    return client.get(f"/{CLOUD}/image/upload/{transformation}/{public_id}.{ext}")


def mask(array: np.ndarray, colour) -> np.ndarray:
    return np.abs(array - np.array(colour)).sum(axis=2) < 60


def bbox(array: np.ndarray, colour):
    ys, xs = np.nonzero(mask(array, colour))
    if not len(xs):
        return None
    return xs.min(), ys.min(), xs.max() - xs.min() + 1, ys.max() - ys.min() + 1


def whole(array: np.ndarray, colour, side: float, tolerance: float = 3) -> bool:
    """A square of `colour` about `side` px is in `array`, not cut by its edges."""
    found = bbox(array, colour)
    if found is None:
        return False
    x, y, w, h = found
    inside = x > 0 and y > 0 and x + w < array.shape[1] and y + h < array.shape[0]
    return inside and abs(w - side) <= tolerance and abs(h - side) <= tolerance


def store(asset: Asset, *, faces=None, custom=None, regions=None) -> Asset:
    asset = Asset.objects.get(pk=asset.pk)
    if faces is not None:
        asset.face_coordinates, asset.face_count, asset.faces_version = faces, len(faces), asset.version_id
    if custom is not None:
        asset.custom_coordinates = custom
    if regions is not None:
        asset.regions = regions
    asset.save()
    return asset


@pytest.fixture
def put(upload):
    def _put(public_id: str, array: np.ndarray, **stored) -> Asset:
        response = upload(png(array), name=f"{public_id}.png", public_id=public_id)
        assert response.status_code == 200, response.content
        return store(Asset.objects.get(public_id=public_id), **stored)

    return _put


@pytest.fixture
def pic(put):
    return put("scene", scene(), faces=[list(FACE)], custom=[list(CUSTOM)],
               regions={"hat": [[150, 120], [190, 160]], "tri": TRIANGLE})


@pytest.fixture
def plain(put):
    """No face, no custom box: the top half white, the bottom half black."""
    array = np.zeros((300, 400, 3), np.uint8)
    array[:150] = 255
    return put("plain", array, faces=[])


# --- parsing ------------------------------------------------------------------------------


@pytest.mark.parametrize("text,expected", [
    ("north", Gravity("north")),
    ("xy_center", Gravity("xy_center")),
    ("face", Gravity("face", "north")),
    ("adv_face", Gravity("face", "north")),
    ("faces:center", Gravity("faces", "center")),
    ("face:auto", Gravity("face", "auto")),
    ("custom", Gravity("custom")),
    ("custom:adv_faces", Gravity("custom", "faces")),
    ("auto", Gravity("auto")),
    ("auto:subject", Gravity("auto")),
    ("auto:classic:50:thirds_0", Gravity("auto")),
    ("auto:faces", Gravity("auto", focal="faces")),
    ("auto:face", Gravity("auto", focal="face")),
    ("auto:none", Gravity("auto", focal="none", override=False)),
    ("auto:custom_no_override", Gravity("auto", override=False)),
    ("auto:aoi_420_230_330_160", Gravity("auto", focal="aoi", box=(420, 230, 330, 160))),
    ("auto:bowl:cup", Gravity("auto", focal="objects", objects=("bowl", "cup"))),
    ("region_!shoes-2!", Gravity("region", region="shoes-2")),
    ("cat", Gravity("object", objects=("cat",))),
    ("motorbike:sofa:tvmonitor", Gravity("object", objects=("couch", "motorcycle", "tv"))),
    ("traffic_light:cellphone:hotdog", Gravity("object", objects=("cell-phone", "hot-dog", "traffic-light"))),
    ("aeroplane:diningtable:pottedplant:sportsball", Gravity("object", objects=(
        "airplane", "dining-table", "potted-plant", "sports-ball"))),
    ("appliance", Gravity("object", objects=("microwave", "oven", "refrigerator", "sink", "toaster"))),
])
def test_gravity_spellings(text, expected):
    parsed = P.gravity(text)
    assert parsed == expected
    assert P.gravity(text).token == expected.token  # equal meaning, equal key


def test_every_object_name_is_a_detector_class():
    from transforms.values import OBJECT_CATEGORIES, OBJECT_NAMES

    assert set(OBJECT_NAMES.values()) <= set(detect.COCO)
    assert all(set(members) <= set(detect.COCO) for members in OBJECT_CATEGORIES.values())
    assert len(OBJECT_CATEGORIES) == 11 and P.gravity("animal").objects == tuple(sorted(
        ("bird", "cat", "dog", "horse", "sheep", "cow", "elephant", "bear", "zebra", "giraffe")))


def test_existing_spellings_keep_their_key():
    assert [P.gravity(t).token for t in ("face", "faces", "custom", "auto", "north")] == [
        "face", "faces", "custom", "auto", "north"]


@pytest.mark.parametrize("text,message", [
    ("unicorn", "Invalid gravity: unicorn"),
    ("cat:unicorn", "unknown object 'unicorn'"),
    ("auto:unicorn", "unknown object 'unicorn'"),
    ("face:north", "g_face takes :center or :auto"),
    ("faces:center:auto", "g_faces takes :center or :auto"),
    ("custom:center", "g_custom takes :face"),
    ("region_!bad name!", "region_!<name>!"),
    ("region_hat", "region_!<name>!"),
    ("auto:aoi_1_2_0_4", "needs a width and height"),
    ("auto:faces:cat", "one focal preference"),
    ("auto:ocr_text", "Unsupported gravity: auto:ocr_text"),
    ("auto:cat_avoid", "Unsupported gravity"),
    ("auto:150", "aggressiveness is 0-100"),
])
def test_bad_gravities(text, message):
    with pytest.raises(BadRequest) as raised:
        P.gravity(text)
    assert message in str(raised.value)


@pytest.mark.parametrize("text,message", [
    ("c_pad,g_face,w_100,h_100", "g_face is not valid with c_pad"),
    ("c_lpad,g_cat,w_100,h_100", "g_cat is not valid with c_lpad"),
    ("c_fill,g_face,z_2,w_10,h_10", "z_ needs c_crop, c_thumb or c_auto"),
    ("c_fill,g_north", "c_fill needs w, h or ar"),
])
def test_bad_combinations(client, pic, text, message):
    response = get(client, text)
    assert response.status_code == 400 and message in response["X-Cld-Error"]


# --- faces ---------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["fill", "lfill", "auto"])
def test_g_face_crops_keep_the_face(client, pic, mode):
    out = pixels_of(get(client, f"c_{mode},g_face,w_100,h_100"))
    assert out.shape[:2] == (100, 100)
    assert whole(out, RED, 20) and bbox(out, BLUE) is None  # the 300x300 region on the right


def test_g_faces_keeps_all_of_them(client, put):
    array = scene()
    x, y, w, h = SECOND_FACE
    array[y:y + h, x:x + w] = RED
    put("scene", array, faces=[list(FACE), list(SECOND_FACE)])
    out = pixels_of(get(client, "c_fill,g_faces,w_400,h_100"))
    assert mask(out, RED).sum() == pytest.approx(60 * 60 + 40 * 40, rel=0.1)  # both whole, not scaled
    one = pixels_of(get(client, "c_crop,g_face"))  # the largest one only
    assert one.shape[:2] == (60, 60) and mask(one, RED).all()


def test_c_thumb_crops_around_the_face_and_z_zooms(client, pic):
    sides = {}
    for zoom in ("0.75", "1", "1.5"):
        out = pixels_of(get(client, f"c_thumb,g_face,w_100,h_100,z_{zoom}"))
        assert out.shape[:2] == (100, 100)
        x, y, w, h = bbox(out, RED)
        assert abs(x + w / 2 - 50) <= 3 and abs(y + h / 2 - 50) <= 3  # centred on the face
        sides[zoom] = w
    # not a plain fill (that shows the face 20 px wide): the box with a margin, z_ scales it
    assert sides["0.75"] < sides["1"] < sides["1.5"] and sides["1"] == pytest.approx(100 / 1.3, abs=3)
    assert sides["1.5"] == 100 or sides["1.5"] == pytest.approx(100 * 1.5 / 1.3, abs=3)
    assert sides["0.75"] == pytest.approx(100 * 0.75 / 1.3, abs=3)


def test_c_crop_without_dimensions_is_the_box_and_z_scales_it(client, pic):
    assert mask(pixels_of(get(client, "c_crop,g_face")), RED).all()
    bigger = pixels_of(get(client, "c_crop,g_face,z_0.8"))
    assert bigger.shape[:2] == (75, 75) and whole(bigger, RED, 60)
    smaller = pixels_of(get(client, "c_crop,g_face,z_1.2"))
    assert smaller.shape[:2] == (50, 50) and mask(smaller, RED).all()


def test_no_face_falls_back_north_or_as_told(client, plain):
    north = pixels_of(get(client, "c_fill,g_face,w_400,h_100", "plain"))
    assert north.mean() > 250  # the white top
    centre = pixels_of(get(client, "c_fill,g_face:center,w_400,h_100", "plain"))
    assert 100 < centre.mean() < 160  # half white, half black
    faces_centre = pixels_of(get(client, "c_fill,g_faces:center,w_400,h_100", "plain"))
    assert np.abs(faces_centre - centre).mean() < 2
    assert get(client, "c_thumb,g_face:auto,w_100,h_100", "plain").status_code == 200


# --- custom, auto, aoi, regions ---------------------------------------------------------------


def test_g_custom_and_its_fallbacks(client, pic, plain):
    custom = pixels_of(get(client, "c_fill,g_custom,w_100,h_100"))
    assert whole(custom, BLUE, 50 / 3, 2)
    assert mask(pixels_of(get(client, "c_crop,g_custom")), BLUE).all()
    store(pic, custom=[])
    centre = pixels_of(get(client, "c_crop,g_custom,w_20,h_20"))
    assert np.abs(centre - GREY).max() < 5  # 190..210 x 140..160: grey only
    face = pixels_of(get(client, "c_crop,g_custom:face,w_40,h_40"))
    assert mask(face, RED).all()


def test_g_auto_takes_custom_then_faces_then_saliency(client, pic):
    assert mask(pixels_of(get(client, "c_crop,g_auto")), BLUE).all()  # stored custom overrides
    assert mask(pixels_of(get(client, "c_crop,g_auto:custom_no_override")), RED).all()
    assert whole(pixels_of(get(client, "c_crop,g_auto:face,w_60,h_60")), BLUE, 50)  # still custom first
    store(pic, custom=[])
    faces = pixels_of(get(client, "c_fill,g_auto,w_100,h_100"))
    assert whole(faces, RED, 20)
    store(pic, faces=[])
    salient = pixels_of(get(client, "c_fill,g_auto:none,w_100,h_300"))
    assert salient.shape[:2] == (300, 100)


def test_aoi(client, pic):
    out = pixels_of(get(client, "c_crop,g_auto:aoi_20_200_50_50,w_50,h_50"))
    assert mask(out, BLUE).all()
    filled = pixels_of(get(client, "c_fill,g_auto:aoi_150_120_40_40,w_100,h_100"))
    assert whole(filled, GREEN, 40 / 3, 2)


@pytest.mark.parametrize("name,colour,side", [("hat", GREEN, 40), ("tri", YELLOW, 60)])
def test_regions_with_fill_and_crop(client, pic, name, colour, side):
    crop = pixels_of(get(client, f"c_crop,g_region_!{name}!"))
    assert crop.shape[:2] == (side, side) and mask(crop, colour).mean() > 0.95
    filled = pixels_of(get(client, f"c_fill,g_region_!{name}!,w_100,h_100"))
    assert whole(filled, colour, side / 3, 2)
    thumb = pixels_of(get(client, f"c_thumb,g_region_!{name}!,w_100,h_100"))
    assert whole(thumb, colour, 100 / 1.3, 3)


def test_regions_with_the_pad_family(client, pic):
    padded = pixels_of(get(client, "c_pad,g_region_!hat!,w_100,h_50,b_black"))
    assert padded.shape[:2] == (50, 100)
    # the 40x40 box grown to 80x40 (2:1) fills the canvas: the green square 50 px, centred
    x, y, w, h = bbox(padded, GREEN)
    assert abs(w - 50) <= 2 and h >= 48 and abs(x + w / 2 - 50) <= 2
    assert bbox(padded, RED) is None and bbox(padded, BLUE) is None
    assert pixels_of(get(client, "c_lpad,g_region_!hat!,w_100,h_50")).shape[:2] == (50, 100)
    mpad = pixels_of(get(client, "c_mpad,g_region_!hat!,w_100,h_50"))
    assert mask(mpad, GREEN).sum() > 0


def test_unknown_region_is_a_400_naming_it(client, pic):
    response = get(client, "c_fill,g_region_!shoes!,w_10,h_10")
    assert response.status_code == 400 and "shoes" in response["X-Cld-Error"]


# --- objects -------------------------------------------------------------------------------


@pytest.fixture
def photos(put):
    put("cat", skimage.data.chelsea())
    put("coffee", skimage.data.coffee())


def detected(array, classes):
    boxes = [box for name, score, box in detect.detect(array) if name in classes and score >= 0.3]
    assert boxes, classes
    x0, y0 = min(b[0] for b in boxes), min(b[1] for b in boxes)
    x1, y1 = max(b[2] for b in boxes), max(b[3] for b in boxes)
    return x0, y0, x1 - x0, y1 - y0


def test_object_gravity_crops_to_the_detected_box(client, photos):
    x, y, w, h = detected(skimage.data.coffee(), ("cup",))
    out = pixels_of(get(client, "c_crop,g_cup", "coffee"))
    assert abs(out.shape[1] - w) <= 3 and abs(out.shape[0] - h) <= 3
    original = skimage.data.coffee().astype(int)
    region = original[int(round(y)):int(round(y)) + out.shape[0], int(round(x)):int(round(x)) + out.shape[1]]
    assert np.abs(region[:out.shape[0], :out.shape[1]] - out[:region.shape[0], :region.shape[1]]).mean() < 12
    zoomed = pixels_of(get(client, "c_crop,g_cup,z_0.8", "coffee"))  # 25% larger, inside the image
    assert zoomed.shape[1] == pytest.approx(min(w / 0.8, 600), abs=4)
    kitchen = pixels_of(get(client, "c_crop,g_kitchen", "coffee"))  # a category selects its members
    assert kitchen.shape == out.shape


def test_g_cat_crop_contains_the_cat(client, photos):
    x, y, w, h = detected(skimage.data.chelsea(), ("cat",))
    out = pixels_of(get(client, "c_crop,g_cat", "cat"))
    assert out.shape[1] >= w - 3 and out.shape[0] >= h - 3
    filled = pixels_of(get(client, "c_fill,g_cat,w_100,h_100", "cat"))
    assert filled.shape[:2] == (100, 100)


def test_no_object_found_means_centre(client, pic):
    out = pixels_of(get(client, "c_crop,g_giraffe,w_20,h_20"))
    assert np.abs(out - GREY).max() < 5  # the centre of the drawn scene: grey


def test_g_auto_object_then_the_usual_order(client, photos, pic):
    x, y, w, h = detected(skimage.data.coffee(), ("cup",))
    thumb = pixels_of(get(client, "c_thumb,g_auto:bowl:cup,w_80,h_80", "coffee"))
    assert thumb.shape[:2] == (80, 80)
    by_object = pixels_of(get(client, "c_crop,g_auto:cup:custom_no_override", "coffee"))
    assert abs(by_object.shape[1] - w) <= 3
    # no giraffe in the scene: g_auto's order (custom box first)
    assert mask(pixels_of(get(client, "c_crop,g_auto:giraffe", "scene")), BLUE).all()


def test_detector_runs_once_per_render(client, photos, monkeypatch):
    calls = []
    real = detect.detect
    monkeypatch.setattr(detect, "detect", lambda *a, **k: calls.append(1) or real(*a, **k))
    response = get(client, "c_fill,g_cup,w_300,h_200/c_crop,g_cup", "coffee")
    assert response.status_code == 200 and len(calls) == 1


# --- layers ----------------------------------------------------------------------------------


def test_layer_on_the_face_and_dropped_without_one(client, pic, plain, put):
    put("logo", np.full((10, 10, 3), YELLOW, np.uint8))
    on_face = pixels_of(get(client, "l_logo/fl_layer_apply,g_face"))
    x, y, w, h = FACE
    assert mask(on_face[y + 25:y + 35, x + 25:x + 35], YELLOW).all()  # centred on the face
    base = pixels_of(get(client, "c_scale,w_400", "plain"))
    dropped = pixels_of(get(client, "c_scale,w_400/l_logo,g_face/c_scale,w_400", "plain"))
    assert np.abs(base - dropped).max() <= 2 and bbox(dropped, YELLOW) is None
    centred = pixels_of(get(client, "l_logo,g_face:center", "plain"))
    assert mask(centred[145:155, 195:205], YELLOW).all()  # a told fallback places it
    on_region = pixels_of(get(client, "l_logo,g_region_!hat!,x_5"))
    assert mask(on_region[135:145, 170:180], YELLOW).all()


# --- face effects ----------------------------------------------------------------------------


@pytest.fixture
def astronaut(put):
    return put("astronaut", skimage.data.astronaut(), faces=[[180, 60, 110, 130]])


@pytest.mark.parametrize("effect", ["pixelate_faces", "pixelate_faces:20", "blur_faces", "blur_faces:100"])
def test_face_effects_touch_only_the_faces(client, astronaut, effect):
    original = pixels_of(get(client, "c_scale,w_512", "astronaut"))
    out = pixels_of(get(client, f"c_scale,w_512/e_{effect}", "astronaut"))
    inside = np.zeros(out.shape[:2], bool)
    inside[60:190, 180:290] = True
    diff = np.abs(out - original).sum(axis=2)
    assert diff[~inside].max() <= 3  # outside: unchanged
    assert diff[inside].mean() > 10  # inside: changed


def test_face_effects_without_faces_change_nothing(client, plain):
    base = pixels_of(get(client, "c_scale,w_400", "plain"))
    assert np.abs(pixels_of(get(client, "c_scale,w_400/e_blur_faces", "plain")) - base).max() <= 2


def test_face_effect_ranges(client, astronaut):
    for bad in ("e_pixelate_faces:0", "e_pixelate_faces:201", "e_blur_faces:2001", "e_blur_faces:x"):
        response = get(client, bad, "astronaut")
        assert response.status_code == 400, bad


# --- dependencies ----------------------------------------------------------------------------


def key(asset: Asset, text: str) -> str:
    asset = Asset.objects.get(pk=asset.pk)
    return derived.cache_key(asset, from_text(text).for_asset(asset))


@pytest.mark.parametrize("text,faces,custom,regions", [
    ("c_fill,g_face,w_10,h_10", True, False, False),
    ("c_thumb,g_faces:center,w_10,h_10", True, False, False),
    ("c_thumb,g_face:auto,w_10,h_10", True, True, False),
    ("e_pixelate_faces", True, False, False),
    ("e_blur_faces:300", True, False, False),
    ("c_fill,g_auto,w_10,h_10", True, True, False),
    ("c_fill,g_auto:custom_no_override,w_10,h_10", True, False, False),
    ("c_crop,g_custom", False, True, False),
    ("c_crop,g_custom:faces", True, True, False),
    ("c_crop,g_region_!hat!", False, False, True),
    ("c_crop,g_cat", False, False, False),
    ("c_crop,g_auto:aoi_1_1_5_5", False, False, False),
    ("l_logo,g_face", True, False, False),
])
def test_coordinates_enter_the_key_of_what_reads_them(pic, put, text, faces, custom, regions):
    put("logo", np.full((10, 10, 3), YELLOW, np.uint8))
    before = key(pic, text)
    store(pic, faces=[[1, 2, 30, 30]])
    assert (key(pic, text) != before) == faces
    before = key(pic, text)
    store(pic, custom=[[5, 5, 20, 20]])
    assert (key(pic, text) != before) == custom
    before = key(pic, text)
    store(pic, regions={"hat": [[1, 1], [30, 30]]})
    assert (key(pic, text) != before) == regions


def test_new_faces_are_never_served_stale(client, pic):
    first = pixels_of(get(client, "c_crop,g_face"))
    assert mask(first, RED).all()
    store(pic, faces=[list(CUSTOM)])
    assert mask(pixels_of(get(client, "c_crop,g_face")), BLUE).all()
