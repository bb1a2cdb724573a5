"""Property-based fuzzing of every Upload and Admin API call (issue 10, item 9).

For every endpoint, with its known parameters and hostile values of every kind
(tests/api_fuzz_strategies.py), sent as a JSON body, a form, a multipart form or a query
string: the answer is a 2xx, or a 4xx with Cloudinary's JSON error and nothing written;
never a 5xx (tests/api_hostile.check_answer).  Upload API calls are made with HTTP Basic
credentials, signed (every value as text; hostile ``timestamp``/``signature``/``api_key``
now and then) or anonymously (mostly through the seeded unsigned preset); Admin API calls
with HTTP Basic.

Each endpoint is its own test over the same seeded library (tests/api_hostile.seed); each
example runs in a savepoint rolled back afterwards (and chunked-upload sessions, which are
files, are removed), so every example starts from that library whatever the one before
it deleted.  Deterministic (``derandomize``, no example database) and bounded: EXAMPLES
per endpoint (about half a minute for the module on a quiet machine), a generous deadline
per example.  For a deeper search, raise EXAMPLES and turn ``derandomize`` off locally.
A 500 this finds is fixed in the code and gets a row in test_api_hostile_params.py.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings as django_settings
from django.db import transaction
from hypothesis import HealthCheck, given, settings as hypothesis_settings, strategies as st

from tests.api_fuzz_strategies import TRANSFORMATION_TEXTS, good_values, header_text, parameters, path_segment
from tests.api_hostile import IMAGE, Pairs, as_text, check_answer, seed, send, snapshot
from tests.conftest import signed

pytestmark = pytest.mark.django_db

EXAMPLES = 40

# What a path placeholder may be when it is a real one.
PATH_VALUES = {
    "rt": ("image", "video", "raw", "by_asset_ids", "by_asset_folder"), "type": ("upload", "private", "fetch"),
    "pid": ("fuzz/one", "fuzz/two", "missing"), "tag": ("red", "blue"), "folder": ("fuzz", "nope", "fuzz/x"),
    "preset": ("fuzzpreset", "none"), "tname": ("fuzzname", "t_fuzzname", "w_10", *TRANSFORMATION_TEXTS),
    "date": ("01-01-2026",),
    "action": ("upload", "explicit"),
}
LISTING = ("max_results", "next_cursor", "direction", "prefix", "start_at", "tags", "context", "public_ids")
UPLOAD = ("file", "public_id", "folder", "asset_folder", "use_filename", "unique_filename", "filename_override",
          "type", "overwrite", "backup", "tags", "context", "face_coordinates", "custom_coordinates",
          "discard_original_filename", "eager", "eager_async", "upload_preset", "display_name", "notification_url",
          "background_removal", "callback", "metadata")
METADATA = ("tags", "context", "face_coordinates", "custom_coordinates")


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str  # under /v1_1/<cloud>/; {placeholders} from PATH_VALUES
    params: tuple[str, ...] = ()
    required: tuple[str, ...] = ()
    upload_api: bool = False  # Upload API: Basic or signed; Admin API: Basic

    @property
    def id(self) -> str:
        return f"{self.method} {self.path}"


ENDPOINTS = [
    # Upload API
    Endpoint("post", "image/upload", UPLOAD, ("file",), upload_api=True),
    Endpoint("post", "image/upload#chunked", UPLOAD, upload_api=True),
    Endpoint("post", "image/explicit", ("public_id", "type", "invalidate", "eager", "eager_async") + METADATA,
             ("public_id",), upload_api=True),
    Endpoint("post", "image/rename", ("from_public_id", "to_public_id", "type", "to_type", "overwrite", "invalidate",
                                      "context"), ("from_public_id", "to_public_id"), upload_api=True),
    Endpoint("post", "image/destroy", ("public_id", "type", "invalidate"), ("public_id",), upload_api=True),
    Endpoint("post", "image/tags", ("command", "tag", "public_ids", "type"), ("command", "tag", "public_ids"),
             upload_api=True),
    Endpoint("post", "image/context", ("command", "context", "public_ids", "type"),
             ("command", "context", "public_ids"), upload_api=True),
    Endpoint("post", "{rt}/{action}", ("public_id",), upload_api=True),
    # Admin API: account
    Endpoint("get", "ping"), Endpoint("get", "usage"), Endpoint("get", "usage/{date}"),
    Endpoint("get", "tags/{rt}", ("prefix", "max_results", "next_cursor")),
    # Admin API: resources
    Endpoint("get", "resources"), Endpoint("delete", "resources", ("asset_ids", "keep_original", "next_cursor")),
    Endpoint("get", "resources/{rt}", LISTING + ("asset_ids", "asset_folder")),
    Endpoint("get", "resources/{rt}/{type}", LISTING),
    Endpoint("delete", "resources/{rt}", ("public_ids", "prefix", "all", "type", "keep_original", "invalidate",
                                          "next_cursor", "transformations"), ("public_ids",)),
    Endpoint("delete", "resources/{rt}/{type}", ("public_ids", "prefix", "all", "keep_original", "transformations",
                                                 "next_cursor"), ("public_ids",)),
    Endpoint("get", "resources/{rt}/tags/{tag}", ("max_results", "next_cursor", "direction", "tags", "context")),
    Endpoint("delete", "resources/{rt}/tags/{tag}", ("keep_original", "next_cursor", "invalidate")),
    Endpoint("get", "resources/{rt}/context", ("key", "value", "max_results", "next_cursor"), ("key",)),
    Endpoint("get", "resources/{rt}/{type}/{pid}", ("versions", "faces", "coordinates")),
    Endpoint("post", "resources/{rt}/{type}/{pid}", METADATA + ("asset_folder", "background_removal", "versions")),
    Endpoint("post", "resources/{rt}/{type}/restore", ("public_ids", "versions"), ("public_ids",)),
    Endpoint("get", "resources/{asset_id}", ("versions", "faces", "coordinates")),
    Endpoint("post", "resources/{asset_id}", METADATA + ("asset_folder",)),
    Endpoint("delete", "derived_resources", ("derived_resource_ids",), ("derived_resource_ids",)),
    # Admin API: folders
    Endpoint("get", "folders", ("max_results", "next_cursor")),
    Endpoint("get", "folders/{folder}", ("max_results", "next_cursor")),
    Endpoint("post", "folders/{folder}"), Endpoint("delete", "folders/{folder}"),
    Endpoint("put", "folders/{folder}", ("to_folder",), ("to_folder",)),
    # Admin API: upload presets
    Endpoint("get", "upload_presets", ("max_results", "next_cursor")),
    Endpoint("post", "upload_presets", ("name", "unsigned", "disallow_public_id") + UPLOAD),
    Endpoint("get", "upload_presets/{preset}"),
    Endpoint("put", "upload_presets/{preset}", ("unsigned",) + UPLOAD),
    Endpoint("delete", "upload_presets/{preset}"),
    # Admin API: named transformations (transforms.api_named)
    Endpoint("get", "transformations", ("named", "max_results", "next_cursor", "transformation")),
    Endpoint("get", "transformations/{tname}", ("max_results", "next_cursor")),
    Endpoint("post", "transformations", ("name", "transformation", "allowed_for_strict"), ("name", "transformation")),
    Endpoint("post", "transformations/{tname}", ("transformation", "unsafe_update", "allowed_for_strict")),
    Endpoint("put", "transformations", ("transformation", "unsafe_update", "allowed_for_strict"), ("transformation",)),
    Endpoint("put", "transformations/{tname}", ("unsafe_update", "allowed_for_strict")),
    Endpoint("delete", "transformations", ("transformation",), ("transformation",)),
    Endpoint("delete", "transformations/{tname}"),
    # Admin API: the Background Removal Refiner (refiners.views)
    Endpoint("get", "refiners/background_removal/{type}/{pid}"),
    Endpoint("put", "refiners/background_removal/{type}/{pid}", ("strokes", "base_revision"), ("strokes",)),
    Endpoint("delete", "refiners/background_removal/{type}/{pid}", ("base_revision",)),
]


@pytest.fixture
def library(client, api_key, settings):
    settings.DAM_API_RATE_LIMIT = 10**9  # thousands of calls with one key in one hour
    ids = seed(client, api_key)
    return {"ids": ids, "good": good_values(ids), "key": api_key, "client": client}


@st.composite
def requests(draw, endpoint: Endpoint, library: dict):
    """(method, path, params, kind, file, headers, with HTTP Basic) for one call to `endpoint`."""
    ids, good = library["ids"], library["good"]
    path = endpoint.path.split("#")[0]
    values = {**PATH_VALUES, "asset_id": (ids["asset_id"], "0" * 32)}
    for name, real in values.items():
        if "{" + name + "}" in path:
            segment = draw(path_segment(real))
            path = path.replace("{" + name + "}", quote(segment, safe="/" if segment in real else ""))
    params = draw(parameters(endpoint.params, good, endpoint.required))
    kinds = ["query"] if endpoint.method == "get" else ["json", "form", "multipart", "query"]
    kind = draw(st.sampled_from(kinds))
    file, headers = None, {}
    if endpoint.path == "image/upload" and draw(st.booleans()):
        file = IMAGE
    if endpoint.path.endswith("#chunked"):
        file = IMAGE[: draw(st.integers(0, len(IMAGE)))]
        total = draw(st.sampled_from((len(file), len(IMAGE), len(IMAGE) * 2)))
        real_range = f"bytes 0-{len(file) - 1}/{total}"
        headers = {"HTTP_CONTENT_RANGE": draw(st.sampled_from((real_range,)) | header_text()),
                   "HTTP_X_UNIQUE_UPLOAD_ID": draw(st.sampled_from(("fuzz-upload",)) | header_text())}
    # Upload API: HTTP Basic, signed (form bodies: every value as text) or anonymous, through the
    # unsigned preset most of the time; Admin API: HTTP Basic.
    auth = draw(st.sampled_from(("basic", "basic", "signed", "anonymous"))) if endpoint.upload_api else "basic"
    if auth == "signed" and kind == "json":
        auth = "basic"  # signing covers text values; JSON bodies carry other kinds
    if auth == "signed":
        form = {str(k).removesuffix("[]"): as_text(v) for k, v in params.items if v is not None}
        plumbing = {k: draw(st.sampled_from(("",)) | st.text(max_size=8) | st.sampled_from(("9" * 400, "1e400")))
                    for k in draw(st.lists(st.sampled_from(("timestamp", "signature", "api_key")), unique=True))}
        params = Pairs(tuple({**signed(form, library["key"]), **plumbing}.items()))
    elif auth == "anonymous" and draw(st.integers(0, 3)):
        params = Pairs((("upload_preset", "fuzzpreset"),) + params.items)
    return endpoint.method, path, params, kind, file, headers, auth == "basic"


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=[e.id for e in ENDPOINTS])
@hypothesis_settings(max_examples=EXAMPLES, deadline=timedelta(seconds=20), derandomize=True, database=None,
                     suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                            HealthCheck.data_too_large])
@given(data=st.data())
def test_no_parameter_makes_a_5xx_or_half_writes(library, endpoint, data):
    method, path, params, kind, file, headers, basic = data.draw(requests(endpoint, library), label="call")
    shutil.rmtree(Path(django_settings.VAR_DIR) / "chunks", ignore_errors=True)  # files are not rolled back
    with transaction.atomic():
        before = snapshot()
        response = send(library["client"], method, path, params, kind, library["key"] if basic else None,
                        file=file, headers=headers)
        check_answer(response, before, f"{method.upper()} {path} as {kind}")
        transaction.set_rollback(True)  # the next example starts from the seeded library again
