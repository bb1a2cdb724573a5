"""A real Celery worker process for the tests, on the test database and queue."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent


def database_url() -> str:
    s = connection.settings_dict
    if s["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{s['NAME']}"
    auth = quote(s.get("USER") or "", safe="")
    if s.get("PASSWORD"):
        auth += ":" + quote(s["PASSWORD"], safe="")
    host = s.get("HOST") or "127.0.0.1"
    port = f":{s['PORT']}" if s.get("PORT") else ""
    return f"postgres://{auth}{'@' if auth else ''}{host}{port}/{s['NAME']}"


def start_worker(log_path: Path, extra_env: dict | None = None, timeout: float = 90.0, *, queue: str | None = None,
                 consume: tuple[str, ...] | None = None, include: tuple[str, ...] = ()) -> subprocess.Popen:
    """A worker whose main queue is `queue` (the session's by default), consuming the
    queues `consume` (only its main queue by default: face detection, on its own queue, is
    left to the tests that start a worker on ``settings.DAM_FACES_QUEUE``).

    The worker leads a process group of its own (its pool processes with it), so a test
    can kill all of it at once."""
    queue = queue or settings.CELERY_TASK_DEFAULT_QUEUE
    consume = consume or (queue,)
    env = {**os.environ, "DATABASE_URL": database_url(), "DAM_CELERY_QUEUE": queue,
           "DAM_FACES_QUEUE": settings.DAM_FACES_QUEUE, "DAM_ALLOW_PRIVATE_REMOTE_URLS": "1", **(extra_env or {})}
    log = open(log_path, "wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "worker", "-Q", ",".join(consume), "--concurrency", "1",
         "--loglevel", "INFO", "--without-gossip", "--without-mingle", "--without-heartbeat",
         "-n", f"{'+'.join(consume)}@%h", *(f"--include={m}" for m in include)],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"celery worker exited early:\n{log_path.read_text(errors='replace')[-4000:]}")
        if b" ready." in log_path.read_bytes():
            return proc
        time.sleep(0.2)
    proc.kill()
    raise RuntimeError(f"celery worker not ready in {timeout}s:\n{log_path.read_text(errors='replace')[-4000:]}")


def stop_worker(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)
