"""Chunked request bodies (the npm SDK streams uploads with no Content-Length)."""

import io
import json
from wsgiref.util import setup_testing_defaults

import pytest

from config.wsgi import application
from tests.conftest import CLOUD, make_image, signed
from tests.http_bodies import chunk, multipart

pytestmark = pytest.mark.django_db(transaction=True)


def call(body: bytes, content_type: str, terminated: bool):
    environ = {}
    setup_testing_defaults(environ)
    environ.update({
        "REQUEST_METHOD": "POST", "PATH_INFO": f"/v1_1/{CLOUD}/image/upload", "CONTENT_TYPE": content_type,
        "HTTP_TRANSFER_ENCODING": "chunked", "HTTP_HOST": "testserver",
        "wsgi.input": io.BytesIO(body if terminated else chunk(body)),
    })
    environ.pop("CONTENT_LENGTH", None)
    if terminated:
        environ["wsgi.input_terminated"] = True
    status = {}

    def start_response(s, headers, exc_info=None):
        status["line"] = s

    payload = b"".join(application(environ, start_response))
    return status["line"], json.loads(payload)


@pytest.mark.parametrize("terminated", [False, True], ids=["raw-chunked", "server-dechunked"])
def test_chunked_multipart_upload_is_read_whole(api_key, terminated):
    body, ctype = multipart(signed({"public_id": f"chunked/{terminated}"}, api_key), make_image(70, 35))
    status, payload = call(body, ctype, terminated)
    assert status.startswith("200"), payload
    assert (payload["public_id"], payload["width"], payload["height"]) == (f"chunked/{terminated}", 70, 35)


def test_malformed_chunked_body_is_a_400(api_key):
    environ = {}
    setup_testing_defaults(environ)
    environ.update({"REQUEST_METHOD": "POST", "PATH_INFO": f"/v1_1/{CLOUD}/image/upload",
                    "HTTP_TRANSFER_ENCODING": "chunked", "wsgi.input": io.BytesIO(b"zz\r\nabc")})
    environ.pop("CONTENT_LENGTH", None)
    seen = {}
    body = b"".join(application(environ, lambda s, h, e=None: seen.setdefault("s", s)))
    assert seen["s"].startswith("400") and b"chunked" in body
