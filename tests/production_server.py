"""The production web command (the Procfile's ``web:`` line) run for real, for the tests
that need the real server: `Server` starts it on a free loopback port with its own data
directory (and, when the session runs on PostgreSQL, its own throwaway database); the
`server` fixture migrates, creates an API key and starts it.  Plus small helpers to sign
upload fields and make a request on an http.client connection."""

from __future__ import annotations

import http.client
import os
import re
from contextlib import contextmanager
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from django.conf import settings

from assets import signing

ROOT = Path(__file__).resolve().parent.parent
CLOUD = "demo"
HOST = "127.0.0.1"


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


@contextmanager
def running_server(tmp_path, **env):
    """A migrated server with an API key (server.key, server.secret), started with `env`
    on top of its own; stopped and cleaned up at the end."""
    server = Server(tmp_path)
    server.env.update(env)
    try:
        server.manage("migrate", "--noinput", "-v0")
        out = server.manage("shell", "-c", "from assets.models import ApiKey; k = ApiKey.objects.create(name='t'); "
                                           "print('KEY', k.key, k.secret)")
        server.key, server.secret = re.search(r"KEY (\S+) (\S+)", out).groups()
        server.start()
        yield server
    finally:
        server.close()


@pytest.fixture
def server(tmp_path):
    with running_server(tmp_path) as running:
        yield running


def signed_fields(server, **params) -> dict:
    params = {**params, "timestamp": str(int(time.time()))}
    return {**params, "signature": signing.sign_params(params, server.secret, "sha1"), "api_key": server.key}


def request(conn, method: str, path: str, body=None, headers=None, chunked: bool = False):
    conn.request(method, path, body=body, headers=headers or {}, encode_chunked=chunked)
    response = conn.getresponse()
    return response, response.read()
