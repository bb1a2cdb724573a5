"""The production web command (the Procfile's ``web:`` line: granian serving config.wsgi,
which puts transforms.memo in front of Django), run for real on a free
port with its own data directory: uploads (multipart, chunked Transfer-Encoding,
Content-Range chunks), first render then cached hits on one kept-alive connection, HEAD,
304, a large original streamed, the access log, and a graceful stop that loses no entry
of the log of delivered transformations."""

from __future__ import annotations

import hashlib
import http.client
import os
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import pyvips
from django.conf import settings

from assets import signing
from tests.conftest import make_image

ROOT = Path(__file__).resolve().parent.parent
CLOUD = "demo"
HOST = "127.0.0.1"
pytestmark = pytest.mark.django_db(transaction=True)  # only to learn which database engine the session runs


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def _web_command() -> str:
    for line in (ROOT / "Procfile").read_text().splitlines():
        if line.startswith("web:"):
            return line.split(":", 1)[1].strip()
    raise AssertionError("the Procfile has no web: line")


class Server:
    def __init__(self, tmp: Path):
        self.tmp = tmp
        self.port = _free_port()
        self.log = tmp / "web.log"
        self.env = {k: v for k, v in os.environ.items()
                    if not k.startswith(("DAM_", "DJANGO_", "CELERY_", "AWS_", "PYTEST")) and k != "DATABASE_URL"}
        self.env.update({"DJANGO_SETTINGS_MODULE": "config.settings", "DAM_VAR_DIR": str(tmp / "var"),
                         "DAM_CLOUD_NAME": CLOUD, "DAM_DEBUG": "0", "DAM_HOST": HOST, "DAM_PORT": str(self.port),
                         "DAM_WEB_WORKERS": "1", "DAM_CELERY_QUEUE": f"prod-test-{uuid.uuid4().hex[:8]}"})
        self.database = None
        engine = settings.DATABASES["default"]["ENGINE"]
        if engine.endswith("postgresql"):  # the session runs on PostgreSQL: so does the server, on a throwaway db
            import psycopg

            db = settings.DATABASES["default"]
            self.admin = dict(host=db["HOST"] or "127.0.0.1", port=db["PORT"] or 5432, user=db["USER"],
                              password=db["PASSWORD"] or None, dbname="postgres", autocommit=True)
            self.database = f"dam_prodtest_{uuid.uuid4().hex[:10]}"
            with psycopg.connect(**self.admin) as conn:
                conn.execute(f'CREATE DATABASE "{self.database}"')
            password = f":{db['PASSWORD']}" if db["PASSWORD"] else ""
            self.env["DATABASE_URL"] = (f"postgres://{db['USER']}{password}@{self.admin['host']}:"
                                        f"{self.admin['port']}/{self.database}")
        self.proc = None

    def manage(self, *args: str) -> str:
        out = subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=self.env, capture_output=True,
                             text=True, timeout=300)
        assert out.returncode == 0, out.stdout + out.stderr
        return out.stdout

    def start(self) -> None:
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(["bash", "-c", "exec " + _web_command()], cwd=ROOT, env=self.env,
                                         stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, self.log.read_text()
            try:
                conn = http.client.HTTPConnection(HOST, self.port, timeout=5)
                conn.request("GET", f"/v1_1/{CLOUD}/image/upload")
                if conn.getresponse().status == 405:
                    conn.close()
                    return
            except OSError:
                time.sleep(0.2)
        raise AssertionError("the web server did not answer:\n" + self.log.read_text())

    def stop(self, timeout: float = 30) -> int:
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)
            raise

    def close(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait(timeout=10)
        if self.database:
            import psycopg

            with psycopg.connect(**self.admin) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')


@pytest.fixture
def server(tmp_path):
    server = Server(tmp_path)
    try:
        server.manage("migrate", "--noinput", "-v0")
        out = server.manage("shell", "-c", "from assets.models import ApiKey; k = ApiKey.objects.create(name='t'); "
                                           "print('KEY', k.key, k.secret)")
        server.key, server.secret = re.search(r"KEY (\S+) (\S+)", out).groups()
        server.start()
        yield server
    finally:
        server.close()


def multipart(fields: dict, data: bytes, filename: str = "photo.jpg") -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
             for k, v in fields.items()]
    parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
                 f"Content-Type: application/octet-stream\r\n\r\n".encode() + data + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def signed_fields(server, **params) -> dict:
    params = {**params, "timestamp": str(int(time.time()))}
    return {**params, "signature": signing.sign_params(params, server.secret, "sha1"), "api_key": server.key}


def request(conn, method: str, path: str, body=None, headers=None, chunked: bool = False):
    conn.request(method, path, body=body, headers=headers or {}, encode_chunked=chunked)
    response = conn.getresponse()
    return response, response.read()


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

