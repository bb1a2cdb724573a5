"""The production web command (the Procfile's ``web:`` line: granian serving config.wsgi,
which puts transforms.memo in front of Django), run for real on a free
port with its own data directory: uploads (multipart, chunked Transfer-Encoding,
Content-Range chunks), first render then cached hits on one kept-alive connection, HEAD,
304, a large original streamed, the access log, and a graceful stop that loses no entry
of the log of delivered transformations."""

from __future__ import annotations

import hashlib
import http.client
import uuid

import pytest
import pyvips

from tests.conftest import make_image
from tests.http_bodies import multipart
from tests.production_server import CLOUD, HOST, request, server, signed_fields  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db(transaction=True)  # only to learn which database engine the session runs


def size_of(body: bytes) -> tuple[int, int]:
    image = pyvips.Image.new_from_buffer(body, "")
    return image.width, image.height


def test_the_production_command_serves_everything(server):
    import json

    conn = http.client.HTTPConnection(HOST, server.port, timeout=60)
    upload = f"/v1_1/{CLOUD}/image/upload"

    # a multipart upload with a Content-Length
    body, ctype = multipart(signed_fields(server, public_id="prod/pic"), make_image(160, 120, "jpg"))
    response, payload = request(conn, "POST", upload, body, {"Content-Type": ctype})
    assert response.status == 200, payload
    assert (json.loads(payload)["width"], json.loads(payload)["height"]) == (160, 120)

    # the same, streamed with Transfer-Encoding: chunked (no Content-Length), as the npm SDK sends it
    body, ctype = multipart(signed_fields(server, public_id="prod/chunked"), make_image(70, 35, "png"), "c.png")
    pieces = (body[i:i + 1000] for i in range(0, len(body), 1000))
    response, payload = request(conn, "POST", upload, pieces, {"Content-Type": ctype}, chunked=True)
    assert response.status == 200, payload
    assert json.loads(payload)["public_id"] == "prod/chunked" and json.loads(payload)["width"] == 70

    # upload_large: Content-Range chunks of one file
    large = make_image(300, 200, "png", seed=4)
    upload_id = uuid.uuid4().hex
    fields = signed_fields(server, public_id="prod/large")
    step = len(large) // 2 + 1
    for start in range(0, len(large), step):
        piece = large[start:start + step]
        body, ctype = multipart(fields, piece, "large.png")
        response, payload = request(conn, "POST", upload, body, {
            "Content-Type": ctype, "X-Unique-Upload-Id": upload_id,
            "Content-Range": f"bytes {start}-{start + len(piece) - 1}/{len(large)}"})
        assert response.status == 200, payload
    assert (json.loads(payload)["public_id"], json.loads(payload)["width"]) == ("prod/large", 300)

    # first render, then cached hits, on one kept-alive connection
    url = f"/{CLOUD}/image/upload/c_fill,w_40,h_30/prod/pic.jpg"
    first, first_body = request(conn, "GET", url)
    sock = conn.sock
    assert first.status == 200 and size_of(first_body) == (40, 30)
    etag = first.getheader("ETag")
    ids = {first.getheader("X-Request-Id")}
    for _ in range(3):
        hit, hit_body = request(conn, "GET", url)
        assert hit.status == 200 and hit.getheader("ETag") == etag
        assert f'"{hashlib.md5(hit_body).hexdigest()}"' == etag and size_of(hit_body) == (40, 30)
        assert [(k.lower(), v) for k, v in hit.getheaders() if k.lower() not in ("date", "x-request-id")] == \
            [(k.lower(), v) for k, v in first.getheaders() if k.lower() not in ("date", "x-request-id")]
        ids.add(hit.getheader("X-Request-Id"))
    assert conn.sock is sock, "keep-alive: the connection was not reused"
    assert len(ids) == 4

    head, head_body = request(conn, "HEAD", url)
    assert head.status == 200 and head_body == b"" and head.getheader("Content-Length") == str(len(first_body))
    for _ in range(2):
        not_modified, nm_body = request(conn, "GET", url, headers={"If-None-Match": etag})
        assert not_modified.status == 304 and nm_body == b"" and not_modified.getheader("ETag") == etag
    missing, _ = request(conn, "GET", f"/{CLOUD}/image/upload/prod/nothing.jpg")
    assert missing.status == 404 and "Resource not found" in missing.getheader("X-Cld-Error")

    # a large original (over the memo's item size) is streamed whole, every time
    big = make_image(1400, 1000, "png", seed=2)
    assert len(big) > 2 * 1024 * 1024
    body, ctype = multipart(signed_fields(server, public_id="prod/big"), big, "big.png")
    response, payload = request(conn, "POST", upload, body, {"Content-Type": ctype})
    assert response.status == 200, payload
    for _ in range(2):
        response, original = request(conn, "GET", f"/{CLOUD}/image/upload/prod/big.png")
        assert response.status == 200 and len(original) == len(big)
        assert f'"{hashlib.md5(original).hexdigest()}"' == response.getheader("ETag")

    # a first render right before a stop: the log of delivered transformations keeps it
    response, _ = request(conn, "GET", f"/{CLOUD}/image/upload/c_scale,w_21/prod/pic.jpg")
    assert response.status == 200
    conn.close()
    assert server.stop() == 0
    log = server.log.read_text()
    assert f'"GET /{CLOUD}/image/upload/c_fill,w_40,h_30/prod/pic.jpg HTTP/1.1" 200' in log  # access log
    assert f'"GET /{CLOUD}/image/upload/c_fill,w_40,h_30/prod/pic.jpg HTTP/1.1" 304' in log
    # the request right before the stop: its line was still queued and is written at the worker's exit
    assert f'"GET /{CLOUD}/image/upload/c_scale,w_21/prod/pic.jpg HTTP/1.1" 200' in log
    out = server.manage("shell", "-c", "from transforms.models_named import Transformation; "
                                       "print(sorted(Transformation.objects.filter(named=False)"
                                       ".values_list('name', flat=True)))")
    assert "['c_fill,h_30,w_40', 'c_scale,w_21']" in out, out

