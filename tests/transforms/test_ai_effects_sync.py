"""The synchronous "AI" effects (transforms/ops/aieffects.py): e_dropshadow, e_improve,
e_enhance, e_retouch, directly through the registry and through delivery URLs.

Pixel properties only: where a shadow's added darkness lies, how far and how soft it is; a
colour cast moving towards neutral; local contrast; high-frequency energy inside and
outside a face."""

from __future__ import annotations

import numpy as np
import pytest
import pyvips
from skimage import data

from core.errors import BadRequest
from tests.conftest import CLOUD
from tests.images import grey, mean_difference, ssim
from transforms.cloudinary.entry import from_text
from transforms.ops import dropshadow, registry

EFFECTS = registry.load()
CTX = registry.RenderContext()


def vips(array: np.ndarray) -> pyvips.Image:
    return pyvips.Image.new_from_array(np.ascontiguousarray(np.clip(np.round(array), 0, 255).astype(np.uint8)),
                                       interpretation="srgb")


def pixels(image: pyvips.Image) -> np.ndarray:
    return np.asarray(image.numpy()).reshape(image.height, image.width, image.bands).astype(float)


def run(name, image, *args, ctx=CTX):
    entry = EFFECTS[name]
    value = entry.parse(tuple(str(a) for a in args), {})
    return entry.apply(vips(image) if isinstance(image, np.ndarray) else image, value, ctx)


def disc(size=240, radius=50, centre=(120, 110)) -> np.ndarray:
    """An opaque red disc on a transparent canvas."""
    yy, xx = np.mgrid[:size, :size]
    inside = (xx - centre[0]) ** 2 + (yy - centre[1]) ** 2 <= radius ** 2
    out = np.zeros((size, size, 4))
    out[inside] = (200, 40, 40, 255)
    return out


def shadow_of(out: np.ndarray, source: np.ndarray) -> np.ndarray:
    """The shadow's opacity where the source was transparent (0..1)."""
    return np.where(source[..., 3] > 0, 0.0, out[..., 3] / 255)


def centroid(weights: np.ndarray) -> tuple[float, float]:
    yy, xx = np.mgrid[:weights.shape[0], :weights.shape[1]]
    total = weights.sum()
    return float((weights * xx).sum() / total), float((weights * yy).sum() / total)


def extent(weights: np.ndarray, level=0.05) -> int:
    """How many pixels carry a visible shadow."""
    return int((weights > level).sum())


def edge_width(weights: np.ndarray) -> int:
    """Softness: on the row through the shadow's centroid, how many pixels are between 10 %
    and 90 % of that row's darkest (a sharp edge has few, a soft one many)."""
    row = weights[round(centroid(weights)[1])]
    top = row.max()
    return int(((row > 0.1 * top) & (row < 0.9 * top)).sum())


# --- e_dropshadow: parsing ---------------------------------------------------------------

PARSE = [
    ((), (215, 45, 50)),
    (("azimuth_220;elevation_40;spread_20",), (220, 40, 20)),
    (("spread_20;azimuth_220;elevation_40",), (220, 40, 20)),
    (("elevation_10",), (215, 10, 50)),
    (("azimuth_360",), (0, 45, 50)),
    (("azimuth_0;elevation_90;spread_100",), (0, 90, 100)),
]


@pytest.mark.parametrize("args,value", PARSE)
def test_dropshadow_parameters(args, value):
    assert EFFECTS["dropshadow"].parse(args, {}) == value


@pytest.mark.parametrize("text", ["azimuth_361", "azimuth_-1", "elevation_91", "spread_101", "spread_x",
                                  "azimuth_10;azimuth_20", "size_10", "azimuth", "azimuth_", "azimuth_1.5"])
def test_dropshadow_bad_parameters(text):
    with pytest.raises(BadRequest) as err:
        EFFECTS["dropshadow"].parse((text,), {})
    assert "e_dropshadow" in str(err.value) and err.value.status == 400


def test_dropshadow_defaults_and_order_give_one_plan_key():
    default = from_text("e_dropshadow", "png").key
    assert from_text("e_dropshadow:azimuth_215;elevation_45;spread_50", "png").key == default
    assert from_text("e_dropshadow:spread_50;elevation_45;azimuth_215", "png").key == default
    assert from_text("e_dropshadow:azimuth_360", "png").key == from_text("e_dropshadow:azimuth_0", "png").key
    assert from_text("e_dropshadow:azimuth_214", "png").key != default


# --- e_dropshadow: pixels ------------------------------------------------------------------


def test_the_shadow_falls_away_from_the_light_and_flips_with_the_azimuth():
    src = disc()
    cx, cy = 120, 110
    centres = {}
    for azimuth in (0, 60, 90, 180, 240, 270):
        out = pixels(run("dropshadow", src, f"azimuth_{azimuth};elevation_15"))  # long: beyond the disc
        assert out.shape == src.shape  # same canvas, RGBA
        centres[azimuth] = centroid(shadow_of(out, src))
    # 90: light on the right, shadow on the left; 270 the other way.
    assert centres[90][0] < cx - 20 < cx + 20 < centres[270][0]
    # 0: light behind the object, the shadow comes towards the viewer (down); 180: behind it (up).
    assert centres[0][1] > cy + 50 and centres[180][1] < cy
    # 60 (behind-right): down and to the left; 240 (front-left): up and to the right.
    assert centres[60][0] < cx - 10 and centres[240][0] > cx + 10
    assert centres[60][1] > centres[240][1]


def test_the_object_stays_on_top_and_the_rest_stays_transparent():
    src = disc()
    out = pixels(run("dropshadow", src))
    inside = src[..., 3] == 255
    assert np.abs(out[inside] - src[inside]).max() <= 1  # the object is drawn over its shadow
    shadow = shadow_of(out, src)
    assert 0.2 < shadow.max() < 0.95  # semi-transparent
    assert (shadow == 0).mean() > 0.3  # most of the canvas still transparent
    darkness = out[..., :3][shadow > 0.05]
    assert darkness.max() <= 1  # black, its opacity the alpha


def test_the_contact_shadow_is_where_the_object_meets_the_ground():
    src = disc()
    out = pixels(run("dropshadow", src, "azimuth_180;elevation_90"))  # light overhead: contact only
    shadow = shadow_of(out, src)
    below = shadow[161:166, 105:136]  # just under the disc's lowest point (y 160)
    further = shadow[190:200, 105:136]
    above = shadow[40:59, 100:141]  # just over its top
    assert below.mean() > 0.1 and below.mean() > further.mean() * 3 and above.max() < 0.05


def test_a_lower_sun_gives_a_longer_softer_shadow():
    src = disc()
    high = shadow_of(pixels(run("dropshadow", src, "azimuth_0;elevation_70")), src)
    low = shadow_of(pixels(run("dropshadow", src, "azimuth_0;elevation_20")), src)
    assert extent(low) > extent(high) * 1.5
    assert centroid(low)[1] > centroid(high)[1] + 20  # reaches further
    assert edge_width(low) > edge_width(high)


def test_spread_blurs_the_shadow():
    src = disc()
    sharp = shadow_of(pixels(run("dropshadow", src, "azimuth_0;elevation_30;spread_0")), src)
    soft = shadow_of(pixels(run("dropshadow", src, "azimuth_0;elevation_30;spread_100")), src)
    assert edge_width(soft) > edge_width(sharp) * 1.5
    assert extent(soft, 0.01) > extent(sharp, 0.01)


def test_an_opaque_image_has_no_shadow_to_cast():
    opaque = np.zeros((40, 40, 4)) + (10, 20, 30, 255)
    for image in (np.zeros((40, 40, 3)) + 90, opaque):
        with pytest.raises(BadRequest) as err:
            run("dropshadow", image)
        assert "e_background_removal" in str(err.value) and err.value.status == 400


def test_a_fully_transparent_image_stays_as_it_is():
    empty = np.zeros((30, 30, 4))
    assert pixels(run("dropshadow", empty)).max() == 0


def test_the_direction_convention():
    assert dropshadow.direction(0) == pytest.approx((0, 1))  # light behind: towards the viewer
    assert dropshadow.direction(90) == pytest.approx((-1, 0))  # light right: to the left


# --- e_improve ------------------------------------------------------------------------------


def cast_photo() -> np.ndarray:
    """The astronaut with a warm cast, low contrast (as through a tungsten-lit haze)."""
    photo = data.astronaut().astype(float)
    return np.clip(60 + photo * 0.5 * np.array([1.15, 1.0, 0.7]), 0, 255)


def cast_of(rgb: np.ndarray) -> float:
    """How far the scene's mean colour is from grey: the chromaticity of each channel's mean
    above its own 1st percentile (neither a grey veil nor a stretch changes it)."""
    px = rgb[..., :3].reshape(-1, 3)
    lifted = px.mean(axis=0) - np.percentile(px, 1, axis=0)
    return float(np.abs(lifted / lifted.sum() - 1 / 3).sum())


def spread_of(rgb: np.ndarray) -> float:
    g = grey(rgb)
    return float(np.percentile(g, 99) - np.percentile(g, 1))


@pytest.mark.parametrize("mode", ["outdoor", "indoor"])
def test_improve_neutralises_a_cast_and_widens_the_range(mode):
    src = cast_photo()
    out = pixels(run("improve", src, mode))
    assert cast_of(out) < cast_of(src) * 0.7
    assert spread_of(out) > spread_of(src) * 1.4
    assert ssim(out, src) > 0.5  # the same picture


def test_improve_blend_and_modes():
    src = cast_photo()
    assert mean_difference(pixels(run("improve", src, "outdoor", 0)), np.round(src)) < 0.6
    half, full = pixels(run("improve", src, 50)), pixels(run("improve", src))
    assert 0.3 < mean_difference(half, src) / mean_difference(full, src) < 0.7
    indoor, outdoor = pixels(run("improve", src, "indoor")), pixels(run("improve", src, "outdoor"))
    assert mean_difference(indoor, outdoor) > 1
    assert cast_of(indoor) < cast_of(outdoor)  # indoor corrects a warm cast more


def test_improve_parsing():
    parse = EFFECTS["improve"].parse
    assert parse((), {}) == parse(("outdoor", "100"), {}) == ("outdoor", 100)
    assert parse(("indoor",), {}) == ("indoor", 100)
    for bad in (("sunny",), ("indoor", "101"), ("-1",), ("indoor", "5", "6")):
        with pytest.raises(BadRequest):
            parse(bad, {})


def test_improve_enhance_retouch_keep_alpha():
    src = np.concatenate([cast_photo()[:120, :160], np.zeros((120, 160, 1)) + 255], axis=2)
    src[:, :40, 3] = 0
    src[:, 40:60, 3] = 128
    for name, args in (("improve", ()), ("enhance", ()), ("retouch", ())):
        out = pixels(run(name, src, *args, ctx=registry.RenderContext(faces=[(50, 20, 60, 70)])))
        assert out.shape[2] == 4 and np.array_equal(out[..., 3], src[..., 3]), name


# --- e_enhance ------------------------------------------------------------------------------


def local_contrast(rgb: np.ndarray, size=8) -> float:
    """The mean standard deviation of luminance in size x size blocks."""
    g = grey(rgb)
    h, w = (g.shape[0] // size) * size, (g.shape[1] // size) * size
    return float(g[:h, :w].reshape(h // size, size, w // size, size).std(axis=(1, 3)).mean())


def test_enhance_keeps_the_picture_and_adds_local_contrast():
    src = cast_photo()
    out = pixels(run("enhance", src))
    assert ssim(out, src) > 0.5
    assert local_contrast(out) > local_contrast(src) * 1.3
    assert local_contrast(out) > local_contrast(pixels(run("improve", src))) * 0.95


def test_enhance_takes_no_arguments_and_refuses_large_images():
    with pytest.raises(BadRequest):
        EFFECTS["enhance"].parse(("50",), {})
    big = pyvips.Image.black(4097, 8, bands=3).copy(interpretation="srgb")
    with pytest.raises(BadRequest) as err:
        run("enhance", big)
    assert "4096" in str(err.value) and err.value.status == 400


# --- e_retouch ------------------------------------------------------------------------------


def texture(rgb: np.ndarray) -> float:
    """Fine texture: the median of |luminance - its 3x3 box mean| (the median, so a few strong
    edges, eyes and teeth, do not decide it)."""
    g = grey(rgb)
    mean = sum(np.roll(np.roll(g, dy, 0), dx, 1) for dy in (-1, 0, 1) for dx in (-1, 0, 1)) / 9
    return float(np.median(np.abs(g - mean)[1:-1, 1:-1]))


def test_retouch_smooths_inside_the_face_only():
    src = data.astronaut().astype(float)
    x, y, w, h = 182, 58, 88, 120  # her face, as CenterFace finds it
    out = pixels(run("retouch", src, ctx=registry.RenderContext(faces=[(x, y, w, h)])))
    face_in, face_out = src[y:y + h, x:x + w], out[y:y + h, x:x + w]
    assert texture(face_out) < texture(face_in) * 0.8
    assert ssim(face_out, face_in) > 0.7  # still her face
    outside = np.ones(src.shape[:2], bool)
    outside[y - 2:y + h + 2, x - 2:x + w + 2] = False
    assert np.abs(out[outside] - src[outside]).max() <= 1


def test_retouch_without_faces_changes_nothing():
    src = data.astronaut().astype(float)
    assert np.abs(pixels(run("retouch", src)) - src).max() == 0
    with pytest.raises(BadRequest):
        EFFECTS["retouch"].parse(("5",), {})


def test_registered_with_what_they_read():
    assert EFFECTS["retouch"].needs_faces and not EFFECTS["improve"].needs_faces
    assert EFFECTS["dropshadow"].changes_alpha and not EFFECTS["enhance"].changes_alpha


# --- through delivery URLs -------------------------------------------------------------------


def png(array: np.ndarray) -> bytes:
    return vips(array).write_to_buffer(".png")


def get(client, transformation: str, public_id: str, ext: str = "png"):
    return client.get(f"/{CLOUD}/image/upload/{transformation}/{public_id}.{ext}")


def pixels_of(response) -> np.ndarray:
    assert response.status_code == 200, (response.status_code, response.headers.get("X-Cld-Error"))
    body = b"".join(response.streaming_content) if response.streaming else response.content
    image = pyvips.Image.new_from_buffer(body, "")
    return np.asarray(image.numpy()).reshape(image.height, image.width, image.bands).astype(float)


@pytest.fixture
def uploaded(upload):
    jpeg = vips(cast_photo()).write_to_buffer(".jpg", Q=92)
    for body, name in ((png(disc()), "disc.png"), (jpeg, "cast.jpg"), (png(data.astronaut()), "astronaut.png"),
                       (png(data.coffee()), "coffee.png")):
        response = upload(body, name=name, public_id=name.split(".")[0])
        assert response.status_code == 200, response.content


@pytest.mark.django_db
def test_dropshadow_through_the_url(client, uploaded):
    src = disc()
    right = shadow_of(pixels_of(get(client, "e_dropshadow:azimuth_90;elevation_30", "disc")), src)
    left = shadow_of(pixels_of(get(client, "e_dropshadow:elevation_30;azimuth_270", "disc")), src)
    assert centroid(right)[0] < 100 < 140 < centroid(left)[0]
    for text in ("e_dropshadow", "e_dropshadow:azimuth_10", "e_dropshadow:spread_70"):
        response = get(client, text, "cast", "jpg")  # an opaque JPEG
        assert response.status_code == 400
        assert "e_background_removal" in response.headers["X-Cld-Error"]
    for text in ("e_dropshadow:azimuth_400", "e_dropshadow:elevation_-5", "e_dropshadow:shade_3"):
        response = get(client, text, "disc")
        assert response.status_code == 400 and "e_dropshadow" in response.headers["X-Cld-Error"]


@pytest.mark.django_db
def test_improve_and_enhance_through_the_url(client, uploaded):
    src = pixels_of(get(client, "c_scale,w_256", "cast", "png"))
    improved = pixels_of(get(client, "c_scale,w_256/e_improve:indoor", "cast", "png"))
    assert cast_of(improved) < cast_of(src) * 0.7 and spread_of(improved) > spread_of(src) * 1.3
    unchanged = pixels_of(get(client, "c_scale,w_256/e_improve:0", "cast", "png"))
    assert mean_difference(unchanged, src) < 0.6
    enhanced = pixels_of(get(client, "c_scale,w_256/e_enhance", "coffee", "png"))
    coffee = pixels_of(get(client, "c_scale,w_256", "coffee", "png"))
    assert ssim(enhanced, coffee) > 0.5 and local_contrast(enhanced) > local_contrast(coffee) * 1.1
    response = get(client, "c_scale,w_5000,h_10/e_enhance", "coffee", "png")
    assert response.status_code == 400 and "e_enhance" in response.headers["X-Cld-Error"]
    assert get(client, "e_enhance:3", "coffee").status_code == 400


@pytest.mark.django_db
def test_retouch_through_the_url_uses_the_detected_face(client, uploaded):
    src = pixels_of(get(client, "f_png", "astronaut"))
    out = pixels_of(get(client, "e_retouch", "astronaut"))
    changed = np.abs(out - src).max(axis=2) > 2
    ys, xs = np.nonzero(changed)
    assert len(ys) > 500
    # Only on her face (the detector puts it around x 180-300, y 60-200 of the 512 x 512 photo).
    assert 150 < xs.min() and xs.max() < 330 and 30 < ys.min() and ys.max() < 240
    box = (slice(ys.min(), ys.max() + 1), slice(xs.min(), xs.max() + 1))
    assert texture(out[box]) < texture(src[box]) * 0.8
    coffee = pixels_of(get(client, "f_png", "coffee"))
    assert np.array_equal(pixels_of(get(client, "e_retouch", "coffee")), coffee)  # no face: unchanged


@pytest.mark.django_db
def test_dropshadow_after_background_removal(upload, client):
    """The documented chain: the real ISNet cut-out (computed by a synchronous eager upload, so
    no 423), then the shadow on its alpha; the same photo without the removal is a 400."""
    from tests.cutouts import scene

    body = vips(scene()).write_to_buffer(".jpg", Q=92)
    response = upload(body, name="scene.jpg", public_id="scene", eager="e_background_removal/e_dropshadow/png")
    assert response.status_code == 200, response.content
    plain = pixels_of(get(client, "e_background_removal", "scene"))
    shadowed = pixels_of(get(client, "e_background_removal/e_dropshadow:azimuth_0;elevation_30", "scene"))
    assert plain.shape == shadowed.shape and plain.shape[2] == 4
    added = np.where(plain[..., 3] > 127, 0, shadowed[..., 3] - plain[..., 3]) / 255
    assert added.max() > 0.3  # a shadow where the background was removed
    assert centroid(np.clip(added, 0, 1))[1] > 120 + 30  # below the disc (light behind it)
    response = get(client, "e_dropshadow", "scene")
    assert response.status_code == 400 and "e_background_removal" in response.headers["X-Cld-Error"]


def test_large_images_get_their_clahe_on_a_reduced_copy(monkeypatch):
    """Above tone.FULL_PIXELS the L band's correction is computed smaller and enlarged back:
    nearly the same picture as the full computation."""
    from transforms.ops import tone

    src = vips(cast_photo()).resize(2)  # 1024 x 1024
    full = pixels(run("improve", src))
    monkeypatch.setattr(tone, "FULL_PIXELS", 512 * 512)
    reduced = pixels(run("improve", src))
    assert mean_difference(full, reduced) < 4 and ssim(full, reduced) > 0.9
