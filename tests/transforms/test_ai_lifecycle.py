"""The one AI-result lifecycle (transforms.ai.lifecycle, transforms.ai.jobs) and its
producer protocol (transforms.ai.producers): a second producer, defined in the test
only (tests/ai_invert.py), goes through request -> 423 -> a real worker -> 200; failed
runs are retried after a back-off, lost jobs (no heartbeat) are queued again, a
duplicate message never runs a claimed job twice; a real worker SIGKILLed in the middle
of a background removal does not leave its URL answering 423 once a worker runs again."""

from __future__ import annotations

import os
import signal
import time
from datetime import timedelta

import numpy as np
import pytest
import pyvips
from django.conf import settings as django_settings
from django.utils import timezone

from assets.models import Asset
from tests import ai_invert
from tests.conftest import CLOUD, make_image
from tests.worker import start_worker, stop_worker
from transforms.ai import jobs, lifecycle
from transforms.models import AIResult, DerivedImage


def _pixels(response) -> np.ndarray:
    body = b"".join(response.streaming_content) if response.streaming else response.content
    return pyvips.Image.new_from_buffer(body, "").numpy()


def _wait_for(client, url: str, log_path, timeout: float) -> object:
    deadline = time.monotonic() + timeout
    response = client.get(url)
    while response.status_code == 423 and time.monotonic() < deadline:
        time.sleep(0.3)
        response = client.get(url)
    assert response.status_code == 200, (response.status_code, response.content[:300],
                                         log_path.read_text(errors="replace")[-4000:])
    return response


@pytest.fixture
def own_queue(settings, shared_media):
    """AI jobs on a queue of this test's own, so only the worker it starts takes them."""
    settings.DAM_AI_QUEUE = f"{django_settings.CELERY_TASK_DEFAULT_QUEUE}-ai-{os.getpid()}-{time.monotonic_ns()}"
    return settings.DAM_AI_QUEUE


def _invert_url(public_id: str, options: str = "") -> str:
    effect = f"e_test_invert:{options}" if options else "e_test_invert"
    return f"/{CLOUD}/image/upload/{effect}/{public_id}.png"


@pytest.mark.django_db(transaction=True)
def test_a_second_producer_goes_through_request_423_worker_200(client, upload, own_queue, tmp_path):
    original = make_image(80, 60, "png", seed=3)
    assert upload(original, name="p.png", public_id="ai/invert").status_code == 200
    url = _invert_url("ai/invert")
    first = client.get(url)
    assert first.status_code == 423 and int(first["Retry-After"]) > 0
    assert first.json()["error"]["message"] == "Test inversion of ai/invert is in progress; try again shortly"
    assert AIResult.objects.get().kind == "test_invert"

    worker = start_worker(tmp_path / "worker.log", queue=own_queue, include=("tests.ai_invert",))
    try:
        done = _wait_for(client, url, tmp_path / "worker.log", timeout=60)
    finally:
        stop_worker(worker)
    expected = 255 - pyvips.Image.new_from_buffer(original, "").numpy()[..., :3].astype(int)
    assert np.abs(_pixels(done)[..., :3].astype(int) - expected).max() <= 1
    row = AIResult.objects.get()
    assert (row.status, row.runs, row.attempts, row.metadata) == ("done", 1, 1, {"inverted": True})
    assert row.started_at and row.finished_at and row.heartbeat_at

    # Chained after it: rendered from the stored result, a cache entry of its own.
    small = client.get(f"/{CLOUD}/image/upload/e_test_invert/c_scale,w_40/ai/invert.png")
    assert small.status_code == 200 and _pixels(small).shape[:2] == (30, 40)
    assert DerivedImage.objects.count() == 2 and AIResult.objects.get().runs == 1


def test_the_producer_effect_is_first_only_and_its_options_are_checked(client, upload):
    assert upload(make_image(40, 30, "png"), public_id="ai/rules").status_code == 200
    late = client.get(f"/{CLOUD}/image/upload/e_grayscale/e_test_invert/ai/rules.png")
    assert late.status_code == 400
    assert late.json()["error"]["message"] == "e_test_invert must be the first component of the transformation"
    bad = client.get(_invert_url("ai/rules", "fast_1"))
    assert bad.status_code == 400 and "Invalid e_test_invert option" in bad.json()["error"]["message"]
    assert not AIResult.objects.exists()


def _row(public_id: str, **fields) -> AIResult:
    asset = Asset.objects.get(public_id=public_id)
    row = AIResult.objects.create(kind="test_invert", asset=asset, version_id=asset.version_id, options="", **fields)
    return row


def test_a_failed_run_is_retried_after_a_backoff_doubling_with_each_run(client, upload):
    assert upload(make_image(40, 30, "png"), public_id="ai/failed").status_code == 200
    row = _row("ai/failed", status=AIResult.FAILED, error="boom", runs=1)
    url = _invert_url("ai/failed")
    failed = client.get(url)
    assert failed.status_code == 422 and failed.json()["error"]["message"] == (
        "Test inversion failed for ai/failed: boom")

    AIResult.objects.filter(pk=row.pk).update(updated_at=timezone.now() - lifecycle.STALE_AFTER - timedelta(seconds=1))
    assert client.get(url).status_code == 423  # the back-off is over: queued again
    row.refresh_from_db()
    assert (row.status, row.error) == ("pending", "")

    AIResult.objects.filter(pk=row.pk).update(status=AIResult.FAILED, runs=2,
                                              updated_at=timezone.now() - lifecycle.STALE_AFTER * 1.5)
    assert client.get(url).status_code == 422  # two runs failed: twice the back-off
    AIResult.objects.filter(pk=row.pk).update(updated_at=timezone.now() - lifecycle.STALE_AFTER * 2.1)
    assert client.get(url).status_code == 423


def test_a_lost_job_is_queued_again_and_given_up_after_max_attempts(client, upload, settings):
    settings.DAM_AI_STALE_AFTER = 5
    assert upload(make_image(40, 30, "png"), public_id="ai/lost").status_code == 200
    now = timezone.now()
    row = _row("ai/lost", status=AIResult.PROCESSING, lease="123.abc", attempts=1, started_at=now, heartbeat_at=now)
    url = _invert_url("ai/lost")
    assert client.get(url).status_code == 423
    row.refresh_from_db()
    assert (row.status, row.lease) == ("processing", "123.abc")  # it beats: left alone

    AIResult.objects.filter(pk=row.pk).update(heartbeat_at=now - timedelta(seconds=6))
    assert client.get(url).status_code == 423
    row.refresh_from_db()
    assert (row.status, row.lease) == ("pending", "")  # its worker is gone: queued again

    AIResult.objects.filter(pk=row.pk).update(status=AIResult.PROCESSING, attempts=lifecycle.MAX_ATTEMPTS,
                                              lease="9.x", heartbeat_at=now - timedelta(seconds=6))
    lost = client.get(url)
    assert lost.status_code == 422 and "the job was lost 3 times" in lost.json()["error"]["message"]


def test_a_claimed_or_done_row_is_not_computed_twice(upload):
    assert upload(make_image(40, 30, "png"), public_id="ai/claim").status_code == 200
    now = timezone.now()
    row = _row("ai/claim", status=AIResult.PROCESSING, lease="1.live", heartbeat_at=now)
    assert jobs.compute(row.pk) == "running elsewhere"  # e.g. a message the broker delivered again
    AIResult.objects.filter(pk=row.pk).update(heartbeat_at=now - timedelta(hours=1))
    assert jobs.compute(row.pk) == "done"
    assert jobs.compute(row.pk) == "done already"
    row.refresh_from_db()
    assert (row.status, row.runs, row.attempts, row.lease.split(".")[0]) == ("done", 1, 1, str(os.getpid()))


@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_job_does_not_leave_the_url_at_423(client, upload, own_queue, settings, tmp_path):
    """SIGKILL a real worker (its whole process group) while it computes a cut-out: once a
    worker runs again, the URL delivers.  Mechanism: the killed job stops beating, the
    next request finds it stale and queues a new job (the filesystem broker has dropped
    the message; Redis would redeliver it after its visibility timeout, and that
    duplicate then finds the row claimed or done)."""
    settings.DAM_AI_STALE_AFTER = 3
    env = {"DAM_AI_HEARTBEAT": "1", "DAM_AI_STALE_AFTER": "3"}
    rng = np.random.default_rng(5)
    big = pyvips.Image.new_from_array(rng.integers(0, 255, (1600, 2000, 3), dtype=np.uint8), interpretation="srgb")
    assert upload(big.write_to_buffer(".png"), name="big.png", public_id="ai/kill").status_code == 200
    url = f"/{CLOUD}/image/upload/e_background_removal/ai/kill.png"

    first_log = tmp_path / "first.log"
    first = start_worker(first_log, env, queue=own_queue)
    try:
        assert client.get(url).status_code == 423
        deadline = time.monotonic() + 90
        row = AIResult.objects.get()
        while row.status != AIResult.PROCESSING and time.monotonic() < deadline:
            time.sleep(0.05)
            row.refresh_from_db()
        assert row.status == AIResult.PROCESSING, first_log.read_text(errors="replace")[-3000:]
        assert os.getpgid(int(row.lease.split(".")[0])) == first.pid  # our worker's pool process has it
        os.killpg(first.pid, signal.SIGKILL)
        first.wait(10)
    finally:
        if first.poll() is None:
            stop_worker(first)

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert client.get(url).status_code == 423
        row.refresh_from_db()
        if row.status == AIResult.PENDING:
            break
        time.sleep(0.5)
    assert row.status == AIResult.PENDING and row.attempts == 1  # found lost, queued again

    second_log = tmp_path / "second.log"
    second = start_worker(second_log, env, queue=own_queue)
    try:
        done = _wait_for(client, url, second_log, timeout=180)
    finally:
        stop_worker(second)
    assert _pixels(done).shape == (1600, 2000, 4)  # the cut-out, under the 2048x2048 limit
    row.refresh_from_db()
    assert (row.status, row.runs, row.attempts) == ("done", 1, 2)


assert ai_invert.PRODUCER.kind == "test_invert"  # registered for this module's requests
