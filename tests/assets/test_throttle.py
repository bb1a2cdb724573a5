"""Counters shared by every process (assets.throttle) and the Admin API rate limit on them.

The rate limit used to be a per-process cache counter: N web processes allowed N times
the limit.  Here two real processes (this one and a child Python process on the same
test database) count against one limit, and concurrent connections lose no hit.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest
from django.db import connection, connections

from assets import throttle
from assets.models import Counter
from tests.admin_client import Admin

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.django_db(transaction=True)  # the other connections and process see committed rows


def test_concurrent_connections_lose_no_hit():
    got: list[int] = []
    lock = threading.Lock()

    def count(n: int) -> None:
        try:
            for _ in range(n):
                window = throttle.hit("t:shared", 3600)
                with lock:
                    got.append(window.count)
        finally:
            connections.close_all()  # this thread's own connection

    threads = [threading.Thread(target=count, args=(15,)) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    # every hit got its own count: the UPSERT's increment and RETURNING are one atomic step
    assert sorted(got) == list(range(1, 46))
    assert throttle.peek("t:shared", 3600).count == 45


def test_windows_are_fixed_and_ended_ones_are_swept():
    start = 1_800_000_000 - 1_800_000_000 % 60
    assert throttle.hit("t:a", 60, now=start + 1).count == 1
    assert throttle.hit("t:a", 60, now=start + 59) == throttle.Window(2, start + 60)
    assert throttle.peek("t:a", 60, now=start + 30).count == 2
    assert throttle.hit("t:a", 60, now=start + 60).count == 1  # a new window ...
    assert list(Counter.objects.values_list("started", flat=True)) == [start + 60]  # ... swept the old one
    throttle.clear("t:a")
    assert throttle.peek("t:a", 60, now=start + 61).count == 0


def test_a_pause_lasts_a_full_period_from_when_it_is_set():
    start = 1_800_000_000 - 1_800_000_000 % 900
    assert throttle.paused_until("t:p", now=start) is None
    assert throttle.pause("t:p", 900, now=start + 890) == start + 1790  # near the end of a fixed window
    assert throttle.paused_until("t:p", now=start + 1789) == start + 1790
    assert throttle.paused_until("t:p", now=start + 1790) is None
    assert throttle.pause("t:p", 900, now=start + 2000) == start + 2900  # set again: one row, later end
    assert Counter.objects.filter(name="pause:t:p").count() == 1


def _database_url() -> str:
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    password = f":{db['PASSWORD']}" if db["PASSWORD"] else ""
    return f"postgres://{db['USER']}{password}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


CHILD = """
import json, os, django
django.setup()
from django.test import Client
from tests.admin_client import basic
client = Client()
answers = []
for _ in range(int(os.environ["CALLS"])):
    r = client.get("/v1_1/demo/ping", HTTP_AUTHORIZATION=basic(os.environ["KEY"], os.environ["SECRET"]))
    answers.append([r.status_code, r["X-FeatureRateLimit-Remaining"]])
print(json.dumps(answers))
"""


def _other_process(api_key, calls: int, limit: int) -> list[list]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    env.update({"DATABASE_URL": _database_url(), "DAM_API_RATE_LIMIT": str(limit), "CALLS": str(calls),
                "KEY": api_key.key, "SECRET": api_key.secret, "DJANGO_SETTINGS_MODULE": "config.settings",
                "DAM_CLOUD_NAME": "demo", "DAM_DB_CONN_MAX_AGE": "0"})
    env.pop("DAM_TEST_DB_NAME", None)
    out = subprocess.run([sys.executable, "-c", CHILD], cwd=ROOT, env=env, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def _away_from_the_hour() -> None:
    """The count starts afresh each clock hour: keep the test's few seconds inside one."""
    left = 3600 - time.time() % 3600
    if left < 20:
        time.sleep(left + 0.5)


def test_two_processes_share_one_rate_limit(client, api_key, settings):
    settings.DAM_API_RATE_LIMIT = 5
    _away_from_the_hour()
    admin = Admin(client, api_key)
    first = admin.get("ping")
    assert first.status_code == 200 and first["X-FeatureRateLimit-Remaining"] == "4"
    # another process makes three calls: it sees this one's
    assert _other_process(api_key, 3, 5) == [[200, "3"], [200, "2"], [200, "1"]]
    last = admin.get("ping")  # and this one sees its three
    assert last.status_code == 200 and last["X-FeatureRateLimit-Remaining"] == "0"
    refused = admin.get("ping")
    assert refused.status_code == 420
    assert refused.json() == {"error": {"message": "Rate Limit Exceeded: 5 calls per hour"}}
    assert refused["X-FeatureRateLimit-Limit"] == "5" and refused["X-FeatureRateLimit-Remaining"] == "0"
    hour_end = (int(time.time()) // 3600 + 1) * 3600
    reset = datetime.strptime(refused["X-FeatureRateLimit-Reset"], "%a, %d %b %Y %H:%M:%S GMT")
    assert reset.replace(tzinfo=timezone.utc).timestamp() == hour_end
    assert _other_process(api_key, 1, 5) == [[420, "0"]]


def test_each_key_has_its_own_count(client, api_key, settings):
    from assets.models import ApiKey

    settings.DAM_API_RATE_LIMIT = 1
    _away_from_the_hour()
    other = ApiKey.objects.create(name="other")
    assert Admin(client, api_key).get("ping").status_code == 200
    assert Admin(client, api_key).get("ping").status_code == 420
    assert Admin(client, other).get("ping").status_code == 200
