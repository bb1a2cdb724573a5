"""Nothing needs a shared local disk or process: two production web servers (the Procfile's
``web:`` command, tests/production_server.py), each with its own ``DAM_VAR_DIR``, share only
PostgreSQL, Redis and an S3 bucket (SeaweedFS, tests/s3_server.py).  An upload through
one, an overwrite through the other, and both deliver the new version: the original and a
transformation that both had rendered, stored and remembered (derived files in the bucket,
delivery memo per process) before the overwrite.  The Admin API rate limit counts calls
to either server in one count.  A chunked upload (``upload_large``) whose chunks alternate
between the two servers is assembled whole (its session is a database row, its chunks
objects in the bucket).

Runs when PostgreSQL and Redis answer (the session's own, else 127.0.0.1:5432 as
``postgres`` and 127.0.0.1:6379); .ci/run's second leg has both.
"""

from __future__ import annotations

import base64
import time
import io
import os
import secrets
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import cloudinary.uploader
import cloudinary.utils
import pytest
import pyvips
import requests

from tests.production_server import CLOUD, HOST, Server
from tests.s3_server import s3_server  # noqa: F401 (fixture)

pytestmark = pytest.mark.live

DEFAULT_PG = "postgres://postgres@127.0.0.1:5432/postgres"
DEFAULT_REDIS = "redis://127.0.0.1:6379/15"
TIMEOUT = 60


def _postgres() -> dict:
    url = os.environ.get("DATABASE_URL", "")
    parts = urlsplit(url if url.startswith(("postgres://", "postgresql://")) else DEFAULT_PG)
    return dict(host=parts.hostname or "127.0.0.1", port=parts.port or 5432, user=parts.username or "postgres",
                password=parts.password or None, dbname="postgres", autocommit=True, connect_timeout=3)


def _redis_url() -> str:
    url = os.environ.get("CELERY_BROKER_URL", "")
    return url if url.startswith("redis://") else DEFAULT_REDIS


@pytest.fixture
def services():
    """(PostgreSQL admin connection parameters, Redis URL), or a skip saying which is missing."""
    import psycopg
    import redis

    admin = _postgres()
    try:
        with psycopg.connect(**admin) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        pytest.skip(f"needs PostgreSQL on {admin['host']}:{admin['port']} (as in .ci/run's second leg): {exc}")
    url = _redis_url()
    try:
        redis.Redis.from_url(url, socket_timeout=3).ping()
    except redis.RedisError as exc:
        pytest.skip(f"needs Redis at {url} (as in .ci/run's second leg): {exc}")
    return admin, url


@pytest.fixture
def two_servers(services, s3_server, tmp_path):  # noqa: F811
    import psycopg
    import redis

    admin, redis_url = services
    database = f"dam_twoservers_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(**admin) as conn:
        conn.execute(f'CREATE DATABASE "{database}"')
    password = f":{admin['password']}" if admin["password"] else ""
    queue = f"two-servers-{uuid.uuid4().hex[:8]}"
    shared = {
        "DATABASE_URL": f"postgres://{admin['user']}{password}@{admin['host']}:{admin['port']}/{database}",
        "CELERY_BROKER_URL": redis_url, "DAM_CELERY_QUEUE": queue, "DJANGO_SECRET_KEY": secrets.token_urlsafe(40),
        **s3_server.env(s3_server.bucket("two-servers")),
    }
    servers = []
    try:
        for name in ("a", "b"):
            (tmp_path / name).mkdir()
            server = Server(tmp_path / name)  # its own DAM_VAR_DIR: tmp/<name>/var
            server.env.update(shared)
            servers.append(server)
        servers[0].manage("migrate", "--noinput", "-v0")
        out = servers[0].manage("shell", "-c", "from assets.models import ApiKey; k = ApiKey.objects.create(name='t'); "
                                               "print('KEY', k.key, k.secret)")
        key, secret = out.split("KEY ", 1)[1].split()[:2]
        for server in servers:
            server.key, server.secret = key, secret
            server.url = f"http://{HOST}:{server.port}"
            server.start()
        assert servers[0].env["DAM_VAR_DIR"] != servers[1].env["DAM_VAR_DIR"]
        yield servers
    finally:
        for server in servers:
            server.close()
        with psycopg.connect(**admin) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        redis.Redis.from_url(redis_url).delete(queue, f"{queue}-faces", f"{queue}-ai")  # tasks no worker took


def _solid_png(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    return (pyvips.Image.black(width, height, bands=3) + list(rgb)).cast("uchar").write_to_buffer(".png")


def _upload(server, data: bytes, public_id: str) -> dict:
    stream = io.BytesIO(data)
    stream.name = "pic.png"
    return cloudinary.uploader.upload(stream, public_id=public_id, cloud_name=CLOUD, api_key=server.key,
                                      api_secret=server.secret, upload_prefix=server.url,
                                      signature_algorithm="sha1", timeout=TIMEOUT)


def _fetch(server, path: str) -> pyvips.Image:
    response = requests.get(f"{server.url}/{CLOUD}/image/upload/{path}", timeout=TIMEOUT)
    assert response.status_code == 200, (server.url, path, response.status_code, response.text[:300])
    return pyvips.Image.new_from_buffer(response.content, "")


def _looks(image: pyvips.Image) -> tuple[int, int, tuple[int, ...]]:
    """Width, height and mean colour (rounded) of a delivered image."""
    return image.width, image.height, tuple(round(image[band].avg()) for band in range(3))


def _ping(server) -> int:
    auth = base64.b64encode(f"{server.key}:{server.secret}".encode()).decode()
    response = requests.get(f"{server.url}/v1_1/{CLOUD}/ping", headers={"Authorization": f"Basic {auth}"},
                            timeout=TIMEOUT)
    assert response.status_code == 200, response.text
    return int(response.headers["X-FeatureRateLimit-Remaining"])


def test_two_servers_share_nothing_but_the_database_redis_and_the_bucket(two_servers, s3_server):  # noqa: F811
    a, b = two_servers
    red, blue = (200, 30, 30), (20, 40, 210)
    first = _upload(a, _solid_png(120, 80, red), "shared/pic")
    assert (first["width"], first["height"]) == (120, 80)

    # Both render and remember the original and a transformation (the second hit is the memo's).
    for server in (a, b):
        for _ in range(2):
            assert _looks(_fetch(server, "shared/pic.png")) == (120, 80, red)
            assert _looks(_fetch(server, "w_60/shared/pic.png")) == (60, 40, red)
    bucket = a.env["DAM_S3_BUCKET"]
    derived = s3_server.client().list_objects_v2(Bucket=bucket, Prefix="derived/").get("Contents", [])
    assert derived, "the transformation was stored in the bucket"

    second = _upload(b, _solid_png(90, 60, blue), "shared/pic")  # the overwrite, through the other server
    assert second["version"] != first["version"] and (second["width"], second["height"]) == (90, 60)

    for server in (a, b):
        assert _looks(_fetch(server, "shared/pic.png")) == (90, 60, blue), server.url
        assert _looks(_fetch(server, "w_60/shared/pic.png")) == (60, 40, blue), server.url

    originals = s3_server.client().list_objects_v2(Bucket=bucket, Prefix="originals/").get("Contents", [])
    assert len(originals) >= 1
    for server in (a, b):  # nothing of the assets on either server's own disk
        media = Path(server.env["DAM_VAR_DIR"]) / "media"
        assert not [p for p in media.rglob("*") if p.is_file()] if media.exists() else True

    # The Admin API rate limit is one count for the key, whichever server is called.
    before = _ping(a)
    assert _ping(b) == before - 1
    assert _ping(a) == before - 2


def _chunk(server, piece: bytes, start: int, total: int, upload_id: str, public_id: str) -> dict:
    """One chunk as the SDK's upload_large sends it: signed parameters, Content-Range, X-Unique-Upload-Id."""
    params = {"public_id": public_id, "timestamp": str(int(time.time()))}
    params["signature"] = cloudinary.utils.api_sign_request(params, server.secret, "sha1")
    params["api_key"] = server.key
    response = requests.post(f"{server.url}/v1_1/{CLOUD}/image/upload", data=params,
                             files={"file": ("big.png", piece, "application/octet-stream")},
                             headers={"Content-Range": f"bytes {start}-{start + len(piece) - 1}/{total}",
                                      "X-Unique-Upload-Id": upload_id}, timeout=TIMEOUT)
    assert response.status_code == 200, (server.url, response.status_code, response.text[:300])
    return response.json()


def test_a_chunked_upload_may_alternate_between_the_servers(two_servers, s3_server):  # noqa: F811
    a, b = two_servers
    image = pyvips.Image.gaussnoise(300, 200, mean=128, sigma=60).cast("uchar").bandjoin([
        pyvips.Image.xyz(300, 200)[0].cast("uchar"), pyvips.Image.xyz(300, 200)[1].cast("uchar")])
    data = image.write_to_buffer(".png")
    size = 20_000
    assert len(data) > 4 * size
    upload_id = uuid.uuid4().hex
    starts = list(range(0, len(data), size))
    for number, start in enumerate(starts):
        server = (a, b)[number % 2]
        answer = _chunk(server, data[start:start + size], start, len(data), upload_id, "shared/big")
        if start != starts[-1]:
            assert (answer["done"], answer["public_id"]) == (False, "shared/big"), server.url
    assert (answer["public_id"], answer["width"], answer["height"], answer["bytes"]) == ("shared/big", 300, 200,
                                                                                        len(data))
    expected = image.numpy()
    for server in (a, b):
        delivered = _fetch(server, "shared/big.png")
        assert (delivered.width, delivered.height) == (300, 200)
        assert (delivered.numpy() == expected).all(), server.url  # every pixel, through either server
    bucket = a.env["DAM_S3_BUCKET"]
    left = [o["Key"] for o in s3_server.client().list_objects_v2(Bucket=bucket).get("Contents", [])
            if "/chunks/" in f"/{o['Key']}"]
    assert left == [], "the chunks were removed once assembled"
    for server in (a, b):  # no chunk on either server's own disk
        assert not (Path(server.env["DAM_VAR_DIR"]) / "chunks").exists()
