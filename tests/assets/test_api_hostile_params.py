"""Parameters that once made a 500 (issue 10, item 9, and what the fuzz test found after):
each is a 4xx with Cloudinary's JSON error, and nothing is written.

One row per case, so each stays covered whatever Hypothesis happens to generate
(test_api_fuzz.py).  Rows name the call (method, path under /v1_1/<cloud>/, how the
parameters travel, the parameters) and the expected status.
"""

from __future__ import annotations

import base64
import time

import pytest

from tests.api_fuzz_strategies import cursor
from tests.api_hostile import IMAGE, Pairs, Raw, check_answer, seed, send, snapshot
from tests.conftest import signed

pytestmark = pytest.mark.django_db

DEEP_LIST = "[" * 5000 + "]" * 5000
DEEP_OBJECT = '{"a":' * 5000 + "1" + "}" * 5000
NOW = str(int(time.time()))

# (id, method, path, kind, params, status); kind "signed" is a signed multipart upload with a file,
# "multipart" sends a file too on the upload action.
CASES = [
    # -- the list --
    ("tags and tags[] as a form", "post", "image/upload", "multipart", {"tags": "a", "tags[]": ["b"]}, 400),
    ("tags[] and tags in JSON", "post", "image/explicit", "json",
     Pairs((("public_id", "fuzz/one"), ("tags[]", ["a"]), ("tags", "b"))), 400),
    ("tags in the query and tags[] in the body", "post", "image/tags?tag=x", "form",
     {"tag[]": ["y"], "command": "add", "public_ids": "fuzz/one"}, 400),
    ("26-digit timestamp", "post", "image/upload", "signed", {"timestamp": "1" * 26}, 400),
    ("400-digit timestamp", "post", "image/upload", "signed", {"timestamp": "9" * 400}, 400),
    ("5000-digit timestamp", "post", "image/upload", "signed", {"timestamp": "9" * 5000}, 400),
    ("negative 400-digit timestamp", "post", "image/upload", "signed", {"timestamp": "-" + "9" * 400}, 400),
    ("face_coordinates 1e400", "post", "image/upload", "multipart", {"face_coordinates": "1e400,1,1,1"}, 400),
    ("101 face boxes", "post", "image/upload", "multipart", {"face_coordinates": "|".join(["1,1,1,1"] * 101)}, 400),
    ("custom_coordinates 1e400", "post", "image/upload", "multipart", {"custom_coordinates": "1,1,1e400,1"}, 400),
    ("face_coordinates -1e400 on explicit", "post", "image/explicit", "form",
     {"public_id": "fuzz/one", "face_coordinates": "-1e400,0,1,1"}, 400),
    ("custom_coordinates 1e400 as a JSON number", "post", "resources/image/upload/fuzz/one", "json",
     {"custom_coordinates": [[Raw("1e400"), 0, 1, 1]]}, 400),
    ("face_coordinates with a 400-digit integer", "post", "resources/image/upload/fuzz/one", "json",
     {"face_coordinates": [[int("9" * 400), 0, 1, 1]]}, 400),
    ("face_coordinates with a 400-digit text", "post", "image/explicit", "form",
     {"public_id": "fuzz/one", "face_coordinates": "9" * 400 + ",0,1,1"}, 400),
    ("folder as a JSON list", "post", "image/upload", "json",
     {"folder": ["a", "b"], "file": "data:image/png;base64,AAAA"}, 400),
    ("folder[] in a form", "post", "image/upload", "multipart", {"folder[]": ["a", "b"]}, 400),
    ("folder as a JSON object", "post", "image/upload", "json", {"folder": {"a": 1}}, 400),
    ("folder as a JSON number", "post", "image/upload", "json", {"folder": 5}, 400),  # then: no file
    ("deeply nested JSON body on upload", "post", "image/upload", "json", Raw('{"tags":' + DEEP_LIST + "}"), 400),
    ("deeply nested JSON body on explicit", "post", "image/explicit", "json",
     Raw('{"public_id":"fuzz/one","context":' + DEEP_OBJECT + "}"), 400),
    # -- the same kinds elsewhere --
    ("deeply nested JSON body on the Admin API", "post", "resources/image/upload/fuzz/one", "json",
     Raw('{"tags":' + DEEP_LIST + "}"), 400),
    ("33 levels of JSON body", "put", "upload_presets/fuzzpreset", "json", Raw('{"x":' + "[" * 33 + "]" * 33 + "}"),
     400),
    ("deeply nested JSON text in a form's tags", "post", "image/explicit", "form",
     {"public_id": "fuzz/one", "tags": DEEP_LIST}, 400),
    ("deeply nested JSON text in a form's context", "post", "image/explicit", "form",
     {"public_id": "fuzz/one", "context": DEEP_OBJECT}, 400),
    ("deeply nested JSON text in public_ids", "delete", "resources/image/upload", "form", {"public_ids": DEEP_LIST},
     400),
    ("deeply nested JSON text in strokes", "put", "refiners/background_removal/upload/fuzz/one", "form",
     {"strokes": DEEP_LIST}, 400),
    ("deeply nested next_cursor", "get", "resources/image", "query",
     {"next_cursor": base64.urlsafe_b64encode(DEEP_LIST.encode()).decode()}, 400),
    ("start_at just after year 9999 in UTC", "get", "resources/image", "query",
     {"start_at": "9999-12-31T23:59:59-23:59"}, 400),
    ("start_at just before year 1 in UTC", "get", "resources/image/upload", "query",
     {"start_at": "0001-01-01T00:00:00+01:00"}, 400),
    ("NUL inside a next_cursor", "get", "upload_presets", "query", {"next_cursor": cursor("preset", "a\x00")}, 400),
    ("max_results 400 digits", "get", "resources/image", "query", {"max_results": "9" * 400}, 400),
    ("max_results 1e400 in JSON", "delete", "resources/image/upload", "json",
     {"public_ids": ["nope"], "max_results": Raw("1e400")}, 400),
    ("max_results NaN in JSON", "get", "transformations", "json", {"max_results": Raw("NaN")}, 400),
    ("a 400-digit integer in a JSON body", "put", "upload_presets/fuzzpreset", "json",
     {"eager_async": int("9" * 400)}, 400),
    ("a 5000-digit integer in a JSON body", "post", "upload_presets", "json", {"x": Raw("9" * 5000)}, 400),
    ("NUL in a tag", "post", "image/tags", "form", {"command": "add", "tag": "a\x00b", "public_ids": "fuzz/one"},
     400),
    ("NUL in a context key", "post", "resources/image/upload/fuzz/one", "json", {"context": {"k\x00": "v"}}, 400),
    ("NUL in a public_id in the path", "get", "resources/image/upload/fuzz%00one", "query", {}, 400),
    ("lone surrogate in JSON", "post", "image/context", "json",
     {"command": "add", "context": {"k": Raw('"\\ud800"')}, "public_ids": ["fuzz/one"]}, 400),
    ("context as a list", "post", "image/context", "json", {"command": "add", "context": ["a"],
                                                            "public_ids": ["fuzz/one"]}, 400),
    ("coordinates as an object", "post", "resources/image/upload/fuzz/one", "json",
     {"face_coordinates": {"1234": 1}}, 400),
    ("Content-Range of 5000 digits", "post", "image/upload", "chunk", {"range": "bytes 0-1/" + "9" * 5000}, 400),
    # -- half-writes: options read after the write used to refuse a call that had already changed the asset --
    ("explicit: new tags with a bad invalidate", "post", "image/explicit", "json",
     {"public_id": "fuzz/one", "tags": "green", "invalidate": "1e400"}, 400),
    ("explicit: new context with a bad eager_async", "post", "image/explicit", "form",
     {"public_id": "fuzz/one", "context": "a=b", "eager": "w_5", "eager_async": "perhaps"}, 400),
    ("upload with eager and a bad eager_async", "post", "image/upload", "multipart",
     {"public_id": "fuzz/new", "eager": "w_5", "eager_async": "perhaps"}, 400),
    ("Admin update: new tags with a bad faces flag", "post", "resources/image/upload/fuzz/one", "json",
     {"tags": ["green"], "faces": "maybe"}, 400),
    # -- numbers inside transformations (the engine's parameter parsers) --
    ("eager width of 400 digits", "post", "image/explicit", "form",
     {"public_id": "fuzz/one", "eager": "w_" + "9" * 400}, 400),
    ("eager variable of 400 digits", "post", "image/explicit", "json",
     {"public_id": "fuzz/one", "eager": "$v_" + "9" * 400 + "/w_$v"}, 400),
    ("named transformation with an effect level of 5000 digits", "post", "transformations", "json",
     {"name": "huge", "transformation": "e_blur:" + "9" * 5000}, 400),
    ("to_public_id as a list", "post", "image/rename", "json",
     {"from_public_id": "fuzz/one", "to_public_id": ["a", "b"]}, 400),
]


@pytest.mark.parametrize("method, path, kind, params, status", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_hostile_parameter_is_a_clean_4xx(client, api_key, settings, method, path, kind, params, status):
    settings.DAM_API_RATE_LIMIT = 10**9
    seed(client, api_key)
    before = snapshot()
    if kind == "signed":
        form = signed({"public_id": "never", **params}, api_key)
        response = send(client, method, path, form, "multipart", file=IMAGE)
    elif kind == "chunk":
        response = send(client, method, path, {"public_id": "never"}, "multipart", api_key, file=IMAGE,
                        headers={"HTTP_CONTENT_RANGE": params["range"], "HTTP_X_UNIQUE_UPLOAD_ID": "u1"})
    else:
        file = IMAGE if kind == "multipart" and path == "image/upload" else None
        response = send(client, method, path, params, kind, api_key, file=file)
    check_answer(response, before, path)
    assert response.status_code == status, response.content


def test_too_many_form_fields_is_a_400(client, api_key, settings):
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 50
    before = snapshot()
    response = send(client, "post", "image/explicit", {f"k{i}": "v" for i in range(60)}, "form", api_key)
    check_answer(response, before)
    assert response.status_code == 400


def test_a_json_body_over_the_memory_limit_is_a_413(client, api_key, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    before = snapshot()
    response = send(client, "post", "upload_presets", {"name": "big", "x": "y" * 2000}, "json", api_key)
    check_answer(response, before)
    assert response.status_code == 413


def test_hostile_kinds_still_accept_their_good_forms(client, api_key, settings):
    """What the bounds must not refuse: JSON numbers where text is expected, 32 levels,
    a flat coordinate list, a 10-digit timestamp, a 64-bit integer."""
    settings.DAM_API_RATE_LIMIT = 10**9
    seed(client, api_key)
    response = send(client, "post", "resources/image/upload/fuzz/one", {
        "face_coordinates": [10, 2, 8, 9], "custom_coordinates": "1.5,2,3,4|5,6,7,8",
        "context": {"n": 2**63 - 1, "deep": Raw("[" * 30 + "]" * 30)},
    }, "json", api_key)
    assert response.status_code == 200, response.content
    body = send(client, "get", "resources/image/upload/fuzz/one", {"coordinates": "true"}, key=api_key).json()
    assert body["coordinates"] == {"faces": [[10, 2, 8, 9]], "custom": [[1, 2, 3, 4], [5, 6, 7, 8]]}
    assert body["context"]["custom"]["n"] == str(2**63 - 1)
    response = send(client, "post", "image/upload", signed({"public_id": 7, "timestamp": NOW}, api_key), "json",
                    file=None)
    assert response.status_code == 400 and "file" in response.json()["error"]["message"]  # the signature held
    assert send(client, "get", "resources/image", {"max_results": "2"}, key=api_key).status_code == 200


@pytest.mark.parametrize("stored", [{"folder": ["a", "b"]}, {"public_id": {"a": 1}},
                                    {"face_coordinates": "1e400,0,1,1"}, {"context": ["a"], "folder": 5}])
def test_a_preset_stored_with_hostile_settings_is_a_clean_4xx(client, api_key, stored):
    """Settings stored by other means than the Admin API (older rows, the Studio) are
    checked as a request's are when an upload applies them."""
    from assets.models import UploadPreset

    UploadPreset.objects.create(name="odd", unsigned=True, settings=stored)
    before = snapshot()
    response = send(client, "post", "image/upload", {"upload_preset": "odd"}, "multipart", file=IMAGE)
    check_answer(response, before)
    assert response.status_code == 400


@pytest.mark.parametrize("text", ["w_1e400", "h_nan", "c_fill,w_inf", "o_" + "9" * 5000])
def test_a_dynamic_transformation_with_a_non_number_reads_back_as_text(client, api_key, text):
    """Allowing a dynamic transformation stores its text; reading it back answered a 500
    when ``info`` turned 1e400 or nan into a float JSON cannot carry."""
    send(client, "put", "transformations", {"transformation": text, "allowed_for_strict": "true"}, "json", api_key)
    before = snapshot()
    response = send(client, "get", "transformations/" + text, key=api_key)
    check_answer(response, before)
    assert response.status_code == 200, response.content
    value = text.split(",")[-1].partition("_")[2]
    assert value in [str(v) for item in response.json()["info"] for v in item.values()]


@pytest.mark.parametrize("component", ["w_" + "9" * 400, "$v_" + "9" * 400 + "/w_$v", "e_blur:" + "9" * 5000])
def test_a_delivery_url_with_a_huge_number_is_a_400(client, api_key, component):
    seed(client, api_key)
    response = client.get(f"/demo/image/upload/{component}/fuzz/one.jpg")
    assert response.status_code == 400 and response["X-Cld-Error"]
