"""Transformation URLs rendered through the delivery view: geometry, pixel properties and
similarity (SSIM), never bytes."""

from __future__ import annotations

import io

import numpy as np
import pytest
import pyvips
from PIL import Image as PILImage

from tests.conftest import CLOUD, make_image
from tests.images import ssim
from transforms.cloudinary import entry
from transforms.models import DerivedImage

pytestmark = pytest.mark.django_db

RED, BLUE, GREEN = (255, 0, 0), (0, 0, 255), (0, 255, 0)


def halves(width=200, height=100, fmt="png") -> bytes:
    """Left half red, right half blue, a green 20x20 square in the top-left corner."""
    array = np.zeros((height, width, 3), np.uint8)
    array[:, : width // 2] = RED
    array[:, width // 2:] = BLUE
    array[:20, :20] = GREEN
    return pyvips.Image.new_from_array(array, interpretation="srgb").write_to_buffer("." + fmt)


def body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def get(client, transformation: str, public_id: str = "pic", ext: str = "png", **headers):
    path = f"/{CLOUD}/image/upload/{transformation + '/' if transformation else ''}{public_id}.{ext}"
    return client.get(path, **headers)


def pixels(response) -> np.ndarray:
    assert response.status_code == 200, (response.status_code, response.get("X-Cld-Error"))
    image = pyvips.Image.new_from_buffer(body(response), "")
    array = image.numpy()
    return array[:, :, None] if array.ndim == 2 else array


def near(pixel, colour, tolerance=40) -> bool:
    return all(abs(int(a) - int(b)) <= tolerance for a, b in zip(pixel[:3], colour))


@pytest.fixture
def pic(upload):
    response = upload(halves(), name="pic.png", public_id="pic")
    assert response.status_code == 200, response.content
    return response.json()


# --- sizes ----------------------------------------------------------------------------------

SIZES = [
    ("w_100", (100, 50)),
    ("h_20", (40, 20)),
    ("w_0.5", (100, 50)),
    ("w_1.5", (300, 150)),
    ("c_scale,w_50,h_50", (50, 50)),
    ("c_fit,w_50,h_50", (50, 25)),
    ("c_limit,w_500,h_500", (200, 100)),
    ("c_mfit,w_400,h_400", (400, 200)),
    ("c_fill,w_50,h_50", (50, 50)),
    ("c_lfill,w_400,h_50", (200, 50)),
    ("c_thumb,w_30,h_30", (30, 30)),
    ("c_crop,w_30,h_40", (30, 40)),
    ("c_crop,w_0.5,h_0.5", (100, 50)),
    ("c_pad,w_100,h_100", (100, 100)),
    ("c_lpad,w_300,h_300", (300, 300)),
    ("c_mpad,w_100,h_100", (200, 100)),
    ("c_auto,w_60,h_60", (60, 60)),
    ("c_fill_pad,g_auto,w_60,h_60", (60, 60)),
    ("ar_1.0,c_fill,w_80", (80, 80)),
    ("ar_16:9,c_crop", (178, 100)),
    ("dpr_2.0,w_50", (100, 50)),
    ("w_iw_div_4", (50, 25)),
    ("$size_40,w_$size", (40, 20)),
    ("w_100/w_0.5", (50, 25)),
    ("a_90", (100, 200)),
    ("bo_5px_solid_black", (210, 110)),
    ("c_scale,w_120/if_w_gt_100/w_60/if_else/w_20/if_end", (60, 30)),
    ("c_scale,w_80/if_w_gt_100/w_60/if_else/w_20/if_end", (20, 10)),
    ("if_ar_gt_1.5,c_scale,w_10", (10, 5)),
    ("if_ar_lt_1.5,c_scale,w_10", (200, 100)),
    ("a_auto_right,w_50,h_100,c_fill", (50, 100)),
]


@pytest.mark.parametrize("transformation,size", SIZES)
def test_sizes(client, pic, transformation, size):
    array = pixels(get(client, transformation))
    assert (array.shape[1], array.shape[0]) == size


# --- where the pixels come from ---------------------------------------------------------------

def test_gravity_picks_the_side(client, pic):
    west = pixels(get(client, "c_fill,g_west,w_50,h_100"))
    east = pixels(get(client, "c_fill,g_east,w_50,h_100"))
    assert near(west[50, 25], RED) and near(east[50, 25], BLUE)
    assert near(west[5, 5], GREEN)  # the corner marker stays in the west crop


def test_crop_with_offsets(client, pic):
    crop = pixels(get(client, "c_crop,w_10,h_10,x_150,y_50"))
    assert crop.shape[:2] == (10, 10) and near(crop[5, 5], BLUE)
    corner = pixels(get(client, "c_crop,w_10,h_10,g_north_west"))
    assert near(corner[5, 5], GREEN)


def test_pad_background(client, pic):
    padded = pixels(get(client, "c_pad,w_200,h_200,b_rgb:00ff00"))
    assert near(padded[10, 100], GREEN) and near(padded[100, 50], RED)
    clear = pixels(get(client, "c_pad,w_200,h_200,b_transparent"))
    assert clear.shape[2] == 4 and clear[10, 100, 3] == 0 and clear[100, 150, 3] == 255


def test_rounded_corners(client, pic):
    rounded = pixels(get(client, "r_max"))
    assert rounded.shape[2] == 4 and rounded[0, 0, 3] == 0 and rounded[50, 100, 3] == 255
    on_jpeg = pixels(get(client, "r_30", ext="jpg"))  # no alpha: flattened onto white
    assert near(on_jpeg[1, 1], (255, 255, 255)) and near(on_jpeg[50, 150], BLUE, 60)


def test_border_follows_the_corners(client, pic):
    framed = pixels(get(client, "bo_4px_solid_rgb:00ff00"))
    assert near(framed[1, 100], GREEN) and near(framed[50, 150], BLUE)
    rounded = pixels(get(client, "r_20,bo_4px_solid_rgb:00ff00"))
    assert rounded[0, 0, 3] == 0 and near(rounded[1, 100], GREEN)


def test_rotation_and_flips(client, pic):
    turned = pixels(get(client, "a_90"))
    assert near(turned[5, 95], GREEN)  # top-left corner went to the top-right
    flipped = pixels(get(client, "a_hflip"))
    assert near(flipped[5, 195], GREEN) and near(flipped[50, 10], BLUE)
    both = pixels(get(client, "a_vflip.hflip"))
    assert near(both[95, 195], GREEN)
    tilted = pixels(get(client, "a_30"))
    assert tilted.shape[2] == 4 and tilted[0, 0, 3] == 0


def test_opacity_and_background(client, pic):
    half = pixels(get(client, "o_50"))
    assert half.shape[2] == 4 and 120 <= half[50, 50, 3] <= 135
    flattened = pixels(get(client, "o_50,b_black"))
    assert flattened.shape[2] == 3 and near(flattened[50, 50], (128, 0, 0), 10)


def test_effects_run_through_the_registry(client, pic):
    grey = pixels(get(client, "e_grayscale"))
    assert int(grey[50, 150, 0]) == int(grey[50, 150, 1]) == int(grey[50, 150, 2])
    then_crop = pixels(get(client, "e_negate/c_crop,w_10,h_10,x_0,y_50"))
    assert near(then_crop[5, 5], (0, 255, 255))


def test_g_custom_uses_the_assets_coordinates(client, upload):
    response = upload(halves(), name="pic.png", public_id="custom", custom_coordinates="150,40,20,30")
    assert response.status_code == 200, response.content
    region = pixels(get(client, "c_crop,g_custom", "custom"))
    assert region.shape[:2] == (30, 20) and near(region[15, 10], BLUE)
    filled = pixels(get(client, "c_fill,g_custom,w_50,h_100", "custom"))
    assert near(filled[50, 25], BLUE)


def test_g_face_without_faces_falls_back_to_north(client, pic, upload):
    response = get(client, "c_fill,g_face,w_50,h_50")
    assert response.status_code == 200  # no face: the north of the image (tests/transforms/test_focus_gravity.py)
    upload(halves(), name="pic.png", public_id="faces", face_coordinates="0,0,20,20")
    assert near(pixels(get(client, "c_crop,g_face", "faces"))[5, 5], GREEN)


def test_a_ignore_keeps_the_stored_orientation(client, upload):
    rotated = pyvips.Image.new_from_buffer(make_image(60, 30, "jpg"), "").copy()
    rotated.set_type(pyvips.GValue.gint_type, "orientation", 6)
    upload(rotated.jpegsave_buffer(keep="all"), name="r.jpg", public_id="exif")
    assert pixels(get(client, "w_1.0", "exif", "jpg")).shape[:2] == (60, 30)  # displayed: 30x60 turned
    assert pixels(get(client, "a_ignore,w_1.0", "exif", "jpg")).shape[:2] == (30, 60)


# --- shrink-on-load matches a plain resize ----------------------------------------------------

def test_first_resize_loads_shrunk_and_looks_the_same(client, upload):
    blobs = (pyvips.Image.gaussnoise(40, 30, mean=128, sigma=60).resize(10, kernel="cubic")
             .bandjoin([pyvips.Image.gaussnoise(400, 300, mean=128, sigma=40).gaussblur(8)] * 2))
    original = blobs.cast("uchar").copy(interpretation="srgb").jpegsave_buffer(Q=90)
    upload(original, name="big.jpg", public_id="big")
    served = pyvips.Image.new_from_buffer(body(get(client, "c_fill,w_100,h_100", "big", "png")), "")
    reference = pyvips.Image.new_from_buffer(original, "").crop(50, 0, 300, 300).resize(1 / 3)
    assert (served.width, served.height) == (100, 100)
    assert ssim(served, reference) > 0.95


# --- delivery parameters ----------------------------------------------------------------------

def test_f_auto_follows_accept(client, pic, upload):
    avif = get(client, "f_auto", HTTP_ACCEPT="image/avif,image/webp,*/*")
    webp = get(client, "f_auto", HTTP_ACCEPT="image/webp,*/*")
    legacy = get(client, "f_auto", HTTP_ACCEPT="*/*")
    assert (avif["Content-Type"], webp["Content-Type"], legacy["Content-Type"]) == (
        "image/avif", "image/webp", "image/jpeg")
    assert all("Accept" in r["Vary"] for r in (avif, webp, legacy))
    transparent = get(client, "r_max/f_auto", HTTP_ACCEPT="*/*")
    assert transparent["Content-Type"] == "image/png"  # JPEG would lose the transparency
    rgba = pyvips.Image.new_from_buffer(halves(), "").bandjoin(255).pngsave_buffer()  # alpha, all opaque
    upload(rgba, name="rgba.png", public_id="rgba")
    assert get(client, "f_auto", "rgba", HTTP_ACCEPT="*/*")["Content-Type"] == "image/jpeg"
    kept = get(client, "f_auto,fl_preserve_transparency", "rgba", HTTP_ACCEPT="*/*")
    assert kept["Content-Type"] == "image/png"


def test_q_auto_is_measured_and_save_data_means_eco(client, upload):
    upload(make_image(256, 192, "jpg", seed=5), name="q.jpg", public_id="q")
    best = get(client, "q_auto:best", "q", "jpg")
    assert "Save-Data" in best["Vary"]
    best, eco = body(best), body(get(client, "q_auto:eco", "q", "jpg"))
    saving = body(get(client, "q_auto", "q", "jpg", HTTP_SAVE_DATA="on"))
    good = body(get(client, "q_auto", "q", "jpg"))
    assert len(eco) < len(good) < len(best)
    assert saving == eco
    assert len(body(get(client, "q_10", "q", "jpg"))) < len(eco)


def test_flags(client, pic):
    attached = get(client, "fl_attachment:holiday")
    assert attached["Content-Disposition"].startswith("attachment") and "holiday.png" in attached["Content-Disposition"]
    progressive = pyvips.Image.new_from_buffer(body(get(client, "fl_progressive", ext="jpg")), "")
    assert progressive.get("interlaced") == 1
    png8 = PILImage.open(io.BytesIO(body(get(client, "fl_png8"))))
    assert png8.mode == "P"
    lossy = get(client, "fl_lossy")  # a PNG without transparency is delivered as JPEG
    assert lossy["Content-Type"] == "image/jpeg"


def test_metadata_flags(client, upload):
    import struct

    iptc = b"\x1c\x02\x00\x00\x02\x00\x04\x1c\x02\x74\x00\x05hello\x00"
    app13 = b"Photoshop 3.0\x00" + b"8BIM\x04\x04\x00\x00" + struct.pack(">I", len(iptc)) + iptc
    image = pyvips.Image.new_from_buffer(make_image(40, 30, "jpg"), "").icc_transform("srgb", input_profile="srgb")
    image = image.cast("uchar").copy()
    image.set_type(pyvips.GValue.blob_type, "iptc-data", app13)
    upload(image.jpegsave_buffer(keep=12), name="meta.jpg", public_id="meta")

    def fields(transformation):
        served = pyvips.Image.new_from_buffer(body(get(client, transformation, "meta", "jpg")), "")
        return {name for name in ("icc-profile-data", "iptc-data", "exif-data") if served.get_typeof(name)}

    assert fields("w_20") == {"icc-profile-data"}  # the profile stays; EXIF and IPTC do not
    assert fields("w_20,fl_keep_iptc") == {"icc-profile-data", "iptc-data"}
    assert fields("w_20,fl_strip_profile") == set()


def test_format_conversions_render(client, pic):
    for ext, mime in [("webp", "image/webp"), ("gif", "image/gif"), ("tiff", "image/tiff"), ("bmp", "image/bmp")]:
        response = get(client, "w_50", ext=ext)
        assert response.status_code == 200 and response["Content-Type"] == mime


# --- the cache ----------------------------------------------------------------------------------

def test_parameter_order_shares_one_rendering(client, pic):
    assert get(client, "w_100,c_scale").status_code == 200
    assert get(client, "c_scale,w_100").status_code == 200
    assert DerivedImage.objects.count() == 1
    assert DerivedImage.objects.get().transformation == "c_scale,w_100"


def test_overwrite_renders_again(client, pic, upload):
    first = pixels(get(client, "w_50"))
    upload(make_image(200, 100, "png"), name="pic.png", public_id="pic",
           overwrite="true", invalidate="true")
    second = pixels(get(client, "w_50"))
    assert not np.array_equal(first, second)


def test_layer_asset_version_is_part_of_the_key(client, pic, upload):
    upload(halves(20, 20), name="logo.png", public_id="logo")
    assert get(client, "l_logo,g_south_east").status_code == 200
    upload(make_image(20, 20, "png"), name="logo.png", public_id="logo", overwrite="true")
    assert get(client, "l_logo,g_south_east").status_code == 200
    assert DerivedImage.objects.filter(asset__public_id="pic").count() == 2


def test_private_layer_needs_a_signed_url(client, pic, upload):
    upload(halves(20, 20), name="logo.png", public_id="secret", type="private")
    response = get(client, "l_private:secret")
    assert response.status_code == 401
    from assets.models import Asset

    entry.ensure(Asset.objects.get(public_id="pic"), "l_private:secret", "png")  # rendered server-side
    assert get(client, "l_private:secret").status_code == 401  # the cached rendering is not served either


def test_ensure_renders_once(pic):
    from assets.models import Asset

    asset = Asset.objects.get(public_id="pic")
    row = entry.ensure(asset, "c_fill,w_20,h_20", "webp")
    assert (row.width, row.height, row.format) == (20, 20, "webp")
    assert entry.ensure(asset, "w_20,h_20,c_fill", "webp").pk == row.pk


# --- limits ---------------------------------------------------------------------------------------

def test_output_pixel_limit(client, pic, settings):
    settings.DAM_MAX_OUTPUT_PIXELS = 10_000
    response = get(client, "w_200,h_200,c_scale")
    assert response.status_code == 400 and "too large" in response["X-Cld-Error"]
    assert get(client, "w_50").status_code == 200


def test_source_pixel_limit(client, pic, settings):
    settings.DAM_MAX_SOURCE_PIXELS = 1000
    response = get(client, "w_50")
    assert response.status_code == 400 and "too large" in response["X-Cld-Error"]


def test_time_budget(client, pic, settings):
    settings.DAM_RENDER_TIME_BUDGET = 0
    response = get(client, "e_blur:2000")
    assert response.status_code == 422 and "time budget" in response["X-Cld-Error"]


def test_errors_are_4xx_with_a_header(client, pic):
    response = get(client, "c_fill,w_10,h_10,e_nosuch")
    assert response.status_code == 400
    assert response["X-Cld-Error"] == "Invalid effect: nosuch"
    assert response.json() == {"error": {"message": "Invalid effect: nosuch"}}
