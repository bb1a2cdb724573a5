"""Focus areas through the Upload and Admin APIs (issue 12): ``face_coordinates``,
``custom_coordinates`` and ``regions`` on upload, explicit and update are parsed, clipped
to the image and stored as one revision each (assets.focus); a bad one is a 400 naming
the field with nothing stored; resource details show them (``faces``, ``coordinates``,
``regions``)."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
import pyvips
from skimage import data

from assets.models import Asset, FocusAreas, UploadPreset
from tests.admin_client import admin  # noqa: F401  (a fixture)
from tests.conftest import CLOUD, make_image, signed
from tests.uploads import assert_nothing_left

pytestmark = pytest.mark.django_db

W, H = 241, 51  # pycloudinary's test_face_coordinates image size


def explicit(client, api_key, **params):
    return client.post(f"/v1_1/{CLOUD}/image/explicit", signed({"type": "upload", **params}, api_key))


def error_of(response) -> str:
    assert response.status_code == 400, response.content
    return response.json()["error"]["message"]


# --- the clipping table -------------------------------------------------------------------


@pytest.mark.parametrize("field", ["face_coordinates", "custom_coordinates"])
@pytest.mark.parametrize("given, stored", [
    ("10,10,50,20", [[10, 10, 50, 20]]),  # inside
    ("200,10,100,20", [[200, 10, 41, 20]]),  # past the right edge
    ("120,30,109,150", [[120, 30, 109, 21]]),  # past the bottom (Cloudinary keeps h=150 -> 51 there)
    ("-10,-5,30,20", [[0, 0, 20, 15]]),  # negative x and y
    ("-5,-5,300,100", [[0, 0, W, H]]),  # larger than the image
    ("0,0,10,10|230,40,50,50", [[0, 0, 10, 10], [230, 40, 11, 11]]),  # two boxes, one cut
    ("1.9,2.2,10.7,5", [[1, 2, 10, 5]]),  # fractions cut
], ids=["inside", "right", "bottom", "negative", "larger", "two", "fractions"])
def test_upload_clips_boxes_to_the_image(upload, field, given, stored):
    response = upload(make_image(W, H), public_id="clip", **{field: given})
    assert response.status_code == 200, response.content
    asset = Asset.objects.get(public_id="clip")
    assert getattr(asset, field) == stored
    row = FocusAreas.objects.get(asset=asset)
    assert (row.source, row.revision, row.version_id) == ("upload", 1, asset.version_id)
    assert (row.faces if field == "face_coordinates" else row.custom) == stored


@pytest.mark.parametrize("field", ["face_coordinates", "custom_coordinates"])
@pytest.mark.parametrize("given, words", [
    ("300,10,10,10", "outside"),  # right of the image
    ("10,60,10,10", "outside"),  # below it
    ("-20,-20,10,10", "outside"),  # above and left of it
    ("1,1,0,5", "no area"),  # zero width
    ("1,1,5,-3", "no area"),  # negative height
    ("1,2,3", "not a box"),
    ("a,b,c,d", "not a number"),
    ("1e400,1,1,1", "within"),
], ids=["right", "below", "above-left", "zero-width", "negative-height", "three", "words", "huge"])
def test_upload_refuses_bad_boxes_naming_the_field_and_stores_nothing(upload, field, given, words):
    message = error_of(upload(make_image(W, H), public_id="bad", **{field: given}))
    assert field in message and words in message
    assert_nothing_left()
    assert FocusAreas.objects.count() == 0


def test_upload_with_an_empty_value_stores_no_revision(upload):
    response = upload(make_image(W, H), public_id="empty", face_coordinates="", custom_coordinates="")
    assert response.status_code == 200, response.content
    asset = Asset.objects.get(public_id="empty")
    assert asset.face_coordinates is None and asset.faces_version == ""  # detection still to run
    assert FocusAreas.objects.count() == 0


def test_overwrite_with_a_box_outside_the_new_image_keeps_the_old_version(upload):
    first = upload(make_image(200, 100), public_id="keep", face_coordinates="150,50,40,40").json()
    message = error_of(upload(make_image(100, 50), public_id="keep", overwrite="true",
                              face_coordinates="150,50,40,40"))
    assert "outside the 100x50 image" in message
    asset = Asset.objects.get(public_id="keep")
    assert (asset.version_id, asset.width, asset.face_coordinates) == (first["version_id"], 200, [[150, 50, 40, 40]])
    assert FocusAreas.objects.filter(asset=asset).count() == 1


# --- the regions table --------------------------------------------------------------------


@pytest.mark.parametrize("given, stored", [
    ({"hat": [[10, 10], [50, 40]]}, {"hat": [[10, 10], [50, 40]]}),  # a box
    ({"p-1": [[0, 0], [50, 0], [25, 40]]}, {"p-1": [[0, 0], [50, 0], [25, 40]]}),  # a polygon
    ({"A9": [[150, 50], [250, 50], [200, 150]]}, {"A9": [[150, 50], [200, 50], [200, 100]]}),  # clipped
    ({"a": [["1", "2"], [3.5, 4]], "b-b": [[5, 6], [7, 8]]}, {"a": [[1, 2], [3, 4]], "b-b": [[5, 6], [7, 8]]}),
    ({}, None),  # nothing given on an upload
], ids=["box", "polygon", "clipped", "two-and-texts", "empty"])
def test_upload_stores_regions(upload, given, stored):
    response = upload(make_image(200, 100), public_id="reg", regions=json.dumps(given))
    assert response.status_code == 200, response.content
    asset = Asset.objects.get(public_id="reg")
    assert asset.regions == stored
    if stored:
        assert response.json()["regions"] == [{"name": k, "values": v} for k, v in stored.items()]
        assert FocusAreas.objects.get(asset=asset).regions == stored
    else:
        assert "regions" not in response.json()


@pytest.mark.parametrize("given, words", [
    ({"a b": [[1, 1], [5, 5]]}, "region name"),  # a space
    ({"a_b": [[1, 1], [5, 5]]}, "region name"),  # an underscore
    ({"häuser": [[1, 1], [5, 5]]}, "region name"),  # not ASCII
    ({"x" * 65: [[1, 1], [5, 5]]}, "region name"),  # too long
    ({"": [[1, 1], [5, 5]]}, "region name"),
    ({"one": [[1, 1]]}, "at least two points"),
    ({"none": []}, "at least two points"),
    ({"text": "1,1,5,5"}, "at least two points"),
    ({"nan": [["a", "b"], [5, 5]]}, "not a number"),
    ({"three": [[1, 2, 3], [5, 5]]}, "not a point"),
    ({"out": [[300, 300], [400, 400]]}, "outside"),
    ({"line": [[1, 1], [50, 1]]}, "no area"),
    ({f"r{i}": [[1, 1], [5, 5]] for i in range(101)}, "at most 100"),
    ({"many": [[i % 200, i % 100] for i in range(1001)]}, "at most 1000"),
    ([1, 2], "expected a JSON object"),
    ("{not json", "Expecting property name"),
], ids=["space", "underscore", "unicode", "long", "empty-name", "one-point", "no-points", "text", "words",
        "three-numbers", "outside", "line", "too-many-regions", "too-many-points", "list", "not-json"])
def test_upload_refuses_bad_regions_naming_the_field(upload, given, words):
    text = given if isinstance(given, str) else json.dumps(given)
    message = error_of(upload(make_image(200, 100), public_id="badreg", regions=text))
    assert "regions" in message and words in message
    assert_nothing_left()


# --- upload, explicit and update write revisions ------------------------------------------


def test_upload_explicit_and_update_each_write_one_revision(upload, client, api_key, admin):
    body = upload(make_image(200, 100), public_id="rev", face_coordinates="10,10,20,20",
                  custom_coordinates="0,0,50,50", regions='{"hat":[[1,2],[30,40]]}').json()
    assert body["regions"] == [{"name": "hat", "values": [[1, 2], [30, 40]]}]
    response = explicit(client, api_key, public_id="rev", custom_coordinates="150,80,100,100")
    assert response.status_code == 200, response.content
    assert "regions" not in response.json()  # not given to this call
    response = admin.post("resources/image/upload/rev", {"regions": {"shoes": [[5, 5], [9, 9], [5, 9]]},
                                                         "coordinates": "true"})
    assert response.status_code == 200, response.content
    details = response.json()
    assert details["coordinates"] == {"faces": [[10, 10, 20, 20]], "custom": [[150, 80, 50, 20]]}
    assert details["regions"] == [{"name": "shoes", "values": [[5, 5], [9, 9], [5, 9]]}]
    rows = list(FocusAreas.objects.filter(asset__public_id="rev").order_by("revision"))
    assert [(r.revision, r.source) for r in rows] == [(1, "upload"), (2, "explicit"), (3, "update")]
    assert [r.custom for r in rows] == [[[0, 0, 50, 50]], [[150, 80, 50, 20]], [[150, 80, 50, 20]]]
    assert [r.faces for r in rows] == [[[10, 10, 20, 20]]] * 3  # kinds left out stay unchanged
    assert rows[2].regions == {"shoes": [[5, 5], [9, 9], [5, 9]]}
    asset = Asset.objects.get(public_id="rev")
    assert (asset.face_count, asset.faces_version) == (1, asset.version_id)  # given faces override detection


def test_explicit_with_a_bad_box_changes_nothing(upload, client, api_key):
    upload(make_image(200, 100), public_id="atomic", tags="old", face_coordinates="1,1,10,10")
    message = error_of(explicit(client, api_key, public_id="atomic", tags="new", custom_coordinates="5,5,5,5",
                                face_coordinates="500,500,10,10"))
    assert "face_coordinates" in message and "outside" in message
    asset = Asset.objects.get(public_id="atomic")
    assert asset.tag_names == ["old"] and asset.custom_coordinates is None
    assert asset.face_coordinates == [[1, 1, 10, 10]]
    assert FocusAreas.objects.filter(asset=asset).count() == 1


def test_update_with_bad_regions_is_a_400_naming_regions(upload, admin):
    upload(make_image(200, 100), public_id="upbad")
    response = admin.post("resources/image/upload/upbad", {"regions": {"bad name": [[1, 1], [5, 5]]}})
    assert "regions" in error_of(response)
    assert FocusAreas.objects.count() == 0


@pytest.mark.parametrize("as_", ["json", "form"])
def test_update_clears_with_empty_values(upload, admin, as_):
    upload(make_image(200, 100), public_id="clear", face_coordinates="1,1,10,10", custom_coordinates="2,2,5,5",
           regions='{"a":[[1,1],[5,5]]}')
    response = admin.post("resources/image/upload/clear", {"face_coordinates": "", "regions": "{}",
                                                           "coordinates": "true", "faces": "true"}, as_=as_)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["faces"] == [] and body["coordinates"] == {"faces": [], "custom": [[2, 2, 5, 5]]}
    assert "regions" not in body
    asset = Asset.objects.get(public_id="clear")
    assert (asset.face_count, asset.regions) == (0, {})


def test_update_accepts_the_sdk_shapes(upload, admin):
    """Lists of boxes, one flat box, and regions as text or in the resource details' shape."""
    upload(make_image(200, 100), public_id="shapes")
    response = admin.post("resources/image/upload/shapes", {
        "face_coordinates": [[1, 2, 3, 4], [190, 90, 20, 20]], "custom_coordinates": [5, 6, 7, 8],
        "regions": '[{"name": "hat", "values": [[2, 7], [37, 92]]}]', "coordinates": "true"})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["coordinates"] == {"faces": [[1, 2, 3, 4], [190, 90, 10, 10]], "custom": [[5, 6, 7, 8]]}
    assert body["regions"] == [{"name": "hat", "values": [[2, 7], [37, 92]]}]


# --- resource details ---------------------------------------------------------------------


def test_resource_details_flags(upload, admin):
    upload(make_image(200, 100), public_id="flags", face_coordinates="10,10,20,20|50,50,10,10",
           custom_coordinates="0,0,5,5", regions='{"hat":[[1,2],[30,40]],"poly":[[0,0],[9,0],[4,9]]}')
    regions = [{"name": "hat", "values": [[1, 2], [30, 40]]}, {"name": "poly", "values": [[0, 0], [9, 0], [4, 9]]}]
    plain = admin.get("resources/image/upload/flags").json()
    assert "faces" not in plain and "coordinates" not in plain
    assert plain["regions"] == regions  # listed whenever present
    faces = admin.get("resources/image/upload/flags", {"faces": "true"}).json()
    assert faces["faces"] == [[10, 10, 20, 20], [50, 50, 10, 10]] and "coordinates" not in faces
    both = admin.get("resources/image/upload/flags", {"faces": "true", "coordinates": "true"}).json()
    assert both["coordinates"] == {"faces": [[10, 10, 20, 20], [50, 50, 10, 10]], "custom": [[0, 0, 5, 5]]}
    assert admin.get("resources/image/upload/flags", {"coordinates": "maybe"}).status_code == 400


def test_a_new_version_starts_without_focus_areas(upload, admin):
    upload(make_image(200, 100), public_id="newver", face_coordinates="10,10,20,20", regions='{"a":[[1,1],[5,5]]}')
    upload(make_image(120, 60, seed=2), public_id="newver", overwrite="true", custom_coordinates="100,50,40,40")
    body = admin.get("resources/image/upload/newver", {"coordinates": "true"}).json()
    assert body["coordinates"] == {"faces": [], "custom": [[100, 50, 20, 10]]} and "regions" not in body
    asset = Asset.objects.get(public_id="newver")
    current = FocusAreas.objects.filter(asset=asset, version_id=asset.version_id).order_by("revision")
    assert [r.source for r in current] == ["upload", "detection"]  # coordinates=true detected (none here)
    assert FocusAreas.objects.filter(asset=asset).count() == 3  # the old version's revision is history


# --- faces=true: synchronous detection (the real CenterFace model) -------------------------


def png(array) -> bytes:
    return pyvips.Image.new_from_array(np.ascontiguousarray(array)).pngsave_buffer()


def inside(box, point) -> bool:
    x, y, w, h = box
    return x <= point[0] <= x + w and y <= point[1] <= y + h


def test_upload_with_faces_true_answers_the_detected_faces(upload, admin):
    response = upload(png(data.astronaut()), name="a.png", public_id="astro", faces="true")
    assert response.status_code == 200, response.content
    found = response.json()["faces"]
    assert len(found) == 1 and inside(found[0], (225, 120))  # between her eyes
    row = FocusAreas.objects.get(asset__public_id="astro")
    assert (row.source, row.faces) == ("detection", found)
    details = admin.get("resources/image/upload/astro", {"faces": "true", "coordinates": "true"}).json()
    assert details["faces"] == found and details["coordinates"] == {"faces": found, "custom": []}


def test_upload_without_faces_true_leaves_detection_to_the_worker(upload):
    body = upload(png(data.astronaut()), name="a.png", public_id="later").json()
    assert "faces" not in body
    assert Asset.objects.get(public_id="later").faces_version == ""  # not detected in the request


def test_given_face_coordinates_win_over_faces_true(upload):
    response = upload(png(data.astronaut()), name="a.png", public_id="given", faces="true",
                      face_coordinates="400,400,200,200")
    assert response.status_code == 200, response.content
    assert response.json()["faces"] == [[400, 400, 112, 112]]  # clipped to the 512x512 image, not detected
    assert list(FocusAreas.objects.filter(asset__public_id="given").values_list("source", flat=True)) == ["upload"]


def test_explicit_with_faces_true_detects_once(upload, client, api_key):
    upload(png(data.chelsea()), name="c.png", public_id="cat")
    for _ in range(2):
        response = explicit(client, api_key, public_id="cat", faces="true")
        assert response.status_code == 200, response.content
        assert response.json()["faces"] == []  # a cat has no human face
    assert list(FocusAreas.objects.filter(asset__public_id="cat").values_list("source", flat=True)) == ["detection"]
    assert "faces" not in explicit(client, api_key, public_id="cat").json()


def test_a_bad_faces_flag_is_a_400_before_anything_is_stored(upload):
    message = error_of(upload(png(data.coffee()), name="c.png", public_id="flag", faces="maybe"))
    assert "faces" in message
    assert_nothing_left()


def test_resource_details_detect_faces_the_worker_has_not_found_yet(upload, admin):
    upload(png(data.astronaut()), name="a.png", public_id="pending")
    assert Asset.objects.get(public_id="pending").faces_version == ""
    assert "faces" not in admin.get("resources/image/upload/pending").json()  # no detection without the flags
    assert Asset.objects.get(public_id="pending").faces_version == ""
    body = admin.get("resources/image/upload/pending", {"coordinates": "true"}).json()
    assert len(body["coordinates"]["faces"]) == 1 and inside(body["coordinates"]["faces"][0], (225, 120))
    assert list(FocusAreas.objects.filter(asset__public_id="pending").values_list("source", flat=True)) == ["detection"]


def test_an_unsigned_upload_may_give_coordinates_and_regions(client):
    UploadPreset.objects.create(name="guests", unsigned=True, settings={})
    image = io.BytesIO(make_image(200, 100))
    image.name = "g.jpg"
    response = client.post(f"/v1_1/{CLOUD}/image/upload", {
        "file": image, "upload_preset": "guests", "public_id": "guest", "face_coordinates": "150,50,100,100",
        "custom_coordinates": "0,0,5,5", "regions": '{"hat":[[1,1],[9,9]]}'})
    assert response.status_code == 200, response.content
    asset = Asset.objects.get(public_id="guest")
    assert (asset.face_coordinates, asset.custom_coordinates) == ([[150, 50, 50, 50]], [[0, 0, 5, 5]])
    assert asset.regions == {"hat": [[1, 1], [9, 9]]}
    image.seek(0)
    refused = client.post(f"/v1_1/{CLOUD}/image/upload", {"file": image, "upload_preset": "guests", "faces": "true"})
    assert "faces" in error_of(refused)  # detection in the request is for signed calls only
