"""Admission control through the production server command (the Procfile's ``web:``
line, granian), with one worker process of 4 request threads of which 2 are reserved:
a burst of distinct first renders is answered 200 or 429 with Retry-After (never a 5xx
nor a long queue), while a cached hit and the Admin API ping are answered at once; and
a burst of anonymous background-removal URLs with distinct options queues at most the
bounded number of model runs.  Every request goes to the loopback, counted and with
timeouts."""

from __future__ import annotations

import base64
import http.client
import json
import re
import threading
import time

import pytest

from tests.conftest import make_image
from tests.http_bodies import multipart
from tests.production_server import CLOUD, HOST, request, running_server, signed_fields

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.live]

BURST = 12  # distinct first renders at once: three times the server's request threads


@pytest.fixture
def busy_server(tmp_path):
    with running_server(tmp_path, DAM_WEB_THREADS="4", DAM_RESERVED_THREADS="2", DAM_MAX_CONCURRENT_RENDERS="1",
                        DAM_ACCESS_LOG="0") as server:
        yield server


def upload(server, public_id: str, data: bytes) -> None:
    conn = http.client.HTTPConnection(HOST, server.port, timeout=60)
    body, ctype = multipart(signed_fields(server, public_id=public_id), data)
    response, payload = request(conn, "POST", f"/v1_1/{CLOUD}/image/upload", body, {"Content-Type": ctype})
    conn.close()
    assert response.status == 200, payload


def get(server, path: str, headers=None, timeout: float = 120):
    """(status, headers, body, seconds) of one GET on its own connection."""
    started = time.monotonic()
    conn = http.client.HTTPConnection(HOST, server.port, timeout=timeout)
    try:
        response, body = request(conn, "GET", path, headers=headers)
        return response.status, response.headers, body, time.monotonic() - started  # headers: any case
    finally:
        conn.close()


def burst(server, paths: list[str]) -> list[tuple]:
    """GET every path at once, each on its own connection; (status, headers, body, seconds, ended at)."""
    results: list = [None] * len(paths)

    def one(index: int) -> None:
        status, headers, body, seconds = get(server, paths[index])
        results[index] = (status, headers, body, seconds, time.monotonic())

    threads = [threading.Thread(target=one, args=(i,)) for i in range(len(paths))]
    for thread in threads:
        thread.start()
    return threads, results


def test_first_renders_past_capacity_are_429_while_hits_and_the_admin_api_are_served(busy_server):
    server = busy_server
    upload(server, "busy/photo", make_image(1600, 1200, "jpg"))
    cached = f"/{CLOUD}/image/upload/c_fill,w_40,h_30/busy/photo.jpg"
    assert get(server, cached)[0] == 200
    auth = {"Authorization": "Basic " + base64.b64encode(f"{server.key}:{server.secret}".encode()).decode()}
    ping = f"/v1_1/{CLOUD}/ping"

    # each render upscales to 16 MP and blurs it four times: seconds of CPU
    heavy = "c_scale,w_4000,h_4000/e_blur:{}/e_blur:1800/e_blur:1800/e_blur:1800"
    paths = [f"/{CLOUD}/image/upload/{heavy.format(1800 + i)}/busy/photo.jpg" for i in range(BURST)]
    threads, results = burst(server, paths)
    time.sleep(0.3)  # the burst has arrived
    hit_status, _, _, hit_seconds = get(server, cached, timeout=30)
    ping_status, _, ping_body, ping_seconds = get(server, ping, auth, timeout=30)
    measured_at = time.monotonic()
    for thread in threads:
        thread.join(180)
    assert all(result is not None for result in results), "a render request did not come back"

    statuses = [r[0] for r in results]
    assert set(statuses) <= {200, 429}, statuses  # never a 5xx
    assert statuses.count(429) >= BURST - 4 and statuses.count(200) >= 1, statuses
    for status, headers, body, seconds, _ in results:
        if status == 429:
            assert int(headers["Retry-After"]) > 0
            message = json.loads(body)["error"]["message"]
            assert headers["X-Cld-Error"] == message and "Too many renders" in message
            assert seconds < 30  # refused, not queued behind the renders
    assert hit_status == 200 and hit_seconds < 3
    assert ping_status == 200 and json.loads(ping_body) == {"status": "ok"} and ping_seconds < 3
    assert max(r[4] for r in results if r[0] == 200) > measured_at  # renders were still running meanwhile
    # and admitted renders did render
    assert get(server, paths[statuses.index(200)])[0] == 200


def test_anonymous_option_sets_queue_a_bounded_number_of_model_runs(busy_server):
    from transforms.ai import bgremoval

    server = busy_server
    upload(server, "busy/subject", make_image(320, 240, "jpg"))
    names = sorted(bgremoval.HINTS)
    paths = [f"/{CLOUD}/image/upload/e_background_removal:hints_({name})/busy/subject.png" for name in names]
    threads, results = burst(server, paths[:20])
    for thread in threads:
        thread.join(120)
    statuses = [r[0] for r in results]
    assert set(statuses) <= {423, 401, 429}, statuses
    assert statuses.count(423) == 2, statuses  # DAM_AI_UNSIGNED_OPTION_SETS=3: the defaults + 2 others
    out = server.manage("shell", "-c", "from transforms.models import Cutout; print('RUNS', Cutout.objects.count())")
    assert int(re.search(r"RUNS (\d+)", out).group(1)) == statuses.count(423)
