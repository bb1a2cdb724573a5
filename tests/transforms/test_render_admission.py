"""Admission control of first renders (transforms.admission) and the negative cache of
time-outs (transforms.failures), in process: the per-process render tokens, the
deployment leases shared through the database (exact under a race, freed by expiry after
their process was killed), and a URL that ran out of its time budget answering 422 at
once until a new version or the TTL.  The same through the production server command:
tests/transforms/test_render_admission_server.py."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone

from assets import capacity
from assets.models import Asset
from tests.conftest import CLOUD, make_image
from tests.worker import database_url
from transforms import admission
from transforms.models import DerivedImage, RenderFailure, RenderLease

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _log_written():
    """Deliveries log their transformation when the response is closed, which the test
    client leaves to us: write it within this test, not into the next one's database."""
    yield
    from transforms.cloudinary import named

    named.flush_log()


@pytest.fixture
def pic(upload):
    assert upload(make_image(120, 90, "jpg"), public_id="adm/pic").status_code == 200
    return Asset.objects.get(public_id="adm/pic")


def url(transformation: str, public_id: str = "adm/pic") -> str:
    return f"/{CLOUD}/image/upload/{transformation}/{public_id}.jpg"


def assert_429(response) -> None:
    assert response.status_code == 429, response.content
    assert int(response["Retry-After"]) > 0
    message = json.loads(response.content)["error"]["message"]
    assert response["X-Cld-Error"] == message and "Too many renders" in message


@pytest.fixture
def all_render_tokens():
    """Every long-work token of this process, taken as busy render threads would hold them."""
    held = 0
    while capacity.try_acquire("render"):
        held += 1
    try:
        yield held
    finally:
        for _ in range(held):
            capacity.release("render")


# --- per-process tokens ----------------------------------------------------------------


def test_without_a_free_render_token_a_first_render_is_429_at_once_and_hits_are_served(client, pic, settings):
    settings.DAM_WEB_THREADS, settings.DAM_RESERVED_THREADS = 4, 1
    assert client.get(url("c_fill,w_40,h_30")).status_code == 200  # stored before the rush
    held = 0
    while capacity.try_acquire("render"):
        held += 1
    try:
        assert held == 3  # DAM_WEB_THREADS - DAM_RESERVED_THREADS, read at call time
        started = time.monotonic()
        assert_429(client.get(url("c_fill,w_41,h_30")))
        assert time.monotonic() - started < 5  # refused, not queued
        assert client.get(url("c_fill,w_40,h_30")).status_code == 200  # a hit takes no token
        assert not DerivedImage.objects.filter(width=41).exists()
        assert RenderLease.objects.count() == 0  # nothing taken further
    finally:
        for _ in range(held):
            capacity.release("render")
    response = client.get(url("c_fill,w_41,h_30"))
    assert response.status_code == 200 and DerivedImage.objects.filter(width=41).count() == 1
    assert capacity.in_use("render") == 0 and RenderLease.objects.count() == 0  # both given back


def test_server_side_renders_are_not_refused_by_delivery_admission(pic, all_render_tokens):
    from transforms.cloudinary import entry

    row = entry.ensure(pic, "c_scale,w_33")  # eager / Studio: the caller is authenticated
    assert row.width == 33


# --- deployment leases --------------------------------------------------------------------


def hold(slot: int, seconds: float, holder: str = "elsewhere:1") -> RenderLease:
    return RenderLease.objects.create(slot=slot, token=f"t{slot}", holder=holder,
                                      expires_at=timezone.now() + timedelta(seconds=seconds))


def test_the_deployment_bound_refuses_at_once_and_an_expired_lease_is_taken_over(client, pic, settings):
    settings.DAM_MAX_DEPLOYMENT_RENDERS = 2
    hold(0, 300, "host-a:11")
    dead = hold(1, 300, "host-b:12")  # renders in flight in other processes
    assert_429(client.get(url("c_scale,w_50")))
    assert capacity.in_use("render") == 0  # the token went back with the refusal
    assert set(RenderLease.objects.values_list("slot", flat=True)) == {0, 1}

    RenderLease.objects.filter(pk=dead.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    response = client.get(url("c_scale,w_50"))  # host-b died: its lease has expired
    assert response.status_code == 200
    assert list(RenderLease.objects.values_list("holder", flat=True)) == ["host-a:11"]

    settings.DAM_MAX_DEPLOYMENT_RENDERS = 0  # no deployment bound
    hold(1, 300)
    assert client.get(url("c_scale,w_51")).status_code == 200


def test_a_lease_lasts_as_long_as_a_render_may(settings):
    settings.DAM_RENDER_TIME_BUDGET, settings.DAM_RENDER_QUEUE_TIMEOUT = 20, 10
    assert admission.lease_seconds() == 20 + 10 + admission.LEASE_MARGIN


@pytest.mark.django_db(transaction=True)
def test_leases_are_exact_under_a_race(settings):
    settings.DAM_MAX_DEPLOYMENT_RENDERS = 3
    racers = 8
    barrier = threading.Barrier(racers)
    got, errors = [], []

    def race():
        try:
            barrier.wait(10)
            got.append(admission.acquire_lease())
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=race) for _ in range(racers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors, errors
    leases = [lease for lease in got if lease is not None]
    assert len(got) == racers and len(leases) == 3
    assert sorted(lease.slot for lease in leases) == [0, 1, 2] == sorted(RenderLease.objects.values_list("slot",
                                                                                                        flat=True))
    for lease in leases:
        admission.release_lease(lease)
    assert RenderLease.objects.count() == 0


CHILD = """
import os, signal, django
django.setup()
from transforms import admission
lease = admission.acquire_lease()
print("LEASE", lease.slot, flush=True)
os.kill(os.getpid(), signal.SIGKILL)  # dies holding it, as a crashed web worker would
"""


@pytest.mark.django_db(transaction=True)
def test_the_lease_of_a_killed_process_frees_itself(client, upload, settings):
    """A real process takes the only lease and is killed: renders are refused while its
    lease lasts (time budget + queue timeout + margin), then admitted again."""
    settings.DAM_MAX_DEPLOYMENT_RENDERS = 1
    settings.DAM_RENDER_TIME_BUDGET, settings.DAM_RENDER_QUEUE_TIMEOUT = 1, 0
    assert upload(make_image(60, 40, "jpg"), public_id="adm/killed").status_code == 200
    env = {**os.environ, "DATABASE_URL": database_url(), "DJANGO_SETTINGS_MODULE": "config.settings",
           "DAM_MAX_DEPLOYMENT_RENDERS": "1", "DAM_RENDER_TIME_BUDGET": "1", "DAM_RENDER_QUEUE_TIMEOUT": "0"}
    out = subprocess.run([sys.executable, "-c", CHILD], cwd=ROOT, env=env, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == -9 and "LEASE 0" in out.stdout, out.stdout + out.stderr
    lease = RenderLease.objects.get()
    remaining = (lease.expires_at - timezone.now()).total_seconds()
    assert 0 < remaining <= 1 + 0 + admission.LEASE_MARGIN  # from the child's settings: not forever

    assert_429(client.get(url("c_scale,w_30", "adm/killed")))
    RenderLease.objects.update(expires_at=timezone.now() - timedelta(seconds=1))  # ... once that time has passed
    assert client.get(url("c_scale,w_30", "adm/killed")).status_code == 200
    assert RenderLease.objects.count() == 0


# --- the negative cache ---------------------------------------------------------------------


def test_a_timed_out_render_answers_422_at_once_until_a_new_version(client, upload, pic, settings):
    settings.DAM_RENDER_TIME_BUDGET = 1e-6
    first = client.get(url("e_blur:300"))
    assert first.status_code == 422, first.content
    message = json.loads(first.content)["error"]["message"]
    assert "time budget" in message and first["X-Cld-Error"] == message
    assert RenderFailure.objects.count() == 1

    settings.DAM_RENDER_TIME_BUDGET = 30  # would render now: the failure is remembered instead
    started = time.monotonic()
    again = client.get(url("e_blur:300"))
    assert again.status_code == 422 and json.loads(again.content)["error"]["message"] == message
    assert time.monotonic() - started < 5
    assert not DerivedImage.objects.exists()
    assert client.get(url("e_blur:301")).status_code == 200  # another URL renders

    assert upload(make_image(120, 90, "jpg", seed=3), public_id="adm/pic", overwrite="true").status_code == 200
    assert client.get(url("e_blur:300")).status_code == 200  # a new version: a new key


def test_a_remembered_failure_expires(client, pic, settings):
    settings.DAM_RENDER_TIME_BUDGET, settings.DAM_RENDER_FAILURE_TTL = 1e-6, 600
    assert client.get(url("e_sepia")).status_code == 422
    settings.DAM_RENDER_TIME_BUDGET = 30
    assert client.get(url("e_sepia")).status_code == 422
    RenderFailure.objects.update(expires_at=timezone.now() - timedelta(seconds=1))  # the TTL has passed
    assert client.get(url("e_sepia")).status_code == 200

    settings.DAM_RENDER_TIME_BUDGET, settings.DAM_RENDER_FAILURE_TTL = 1e-6, 0  # 0: nothing remembered
    assert client.get(url("e_grayscale")).status_code == 422
    assert not RenderFailure.objects.filter(expires_at__gt=timezone.now()).exists()
    settings.DAM_RENDER_TIME_BUDGET = 30
    assert client.get(url("e_grayscale")).status_code == 200


# --- who the client is --------------------------------------------------------------------


def test_client_address(settings):
    meta = {"REMOTE_ADDR": "10.0.0.9", "HTTP_X_FORWARDED_FOR": "1.2.3.4, 203.0.113.7"}
    settings.DAM_BEHIND_PROXY = False
    assert admission.client_address(meta) == "10.0.0.9"  # the header is whatever the client wrote
    settings.DAM_BEHIND_PROXY = True
    assert admission.client_address(meta) == "203.0.113.7"  # what our proxy added, not the claim before it
    assert admission.client_address({"REMOTE_ADDR": "10.0.0.9"}) == "10.0.0.9"
