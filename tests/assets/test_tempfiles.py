"""assets.tempfiles: temporaries of request and task handling live in the app's directory
and are swept (owner gone, or older than DAM_TEMP_MAX_AGE), checked on planted files, on a
killed process's files, by a starting Celery worker, and through the production web
command: a web worker killed in the middle of receiving an upload leaves nothing in the
system temp directory, and the worker started in its place removes what its predecessor
left."""

from __future__ import annotations

import http.client
import io
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from assets import tempfiles
from tests.production_server import CLOUD, HOST, ROOT, Server

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def tmpdir_setting(settings, tmp_path):
    settings.DAM_TEMP_DIR = tmp_path / "apptmp"
    settings.DAM_TEMP_MAX_AGE = 3600
    return settings.DAM_TEMP_DIR


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait(10)
    return proc.pid


def _plant(directory: Path, name: str, age: float = 0, folder: bool = False) -> Path:
    path = directory / name
    if folder:
        path.mkdir()
        (path / "inside.png").write_bytes(b"x" * 100)
    else:
        path.write_bytes(b"x" * 100)
    if age:
        stamp = time.time() - age
        os.utime(path, (stamp, stamp))
    return path


def test_sweep_removes_what_dead_owners_and_time_left_and_keeps_the_rest(tmpdir_setting):
    directory = Path(tempfiles.directory())
    assert directory == tmpdir_setting
    host = tempfiles._HOST
    dead = _dead_pid()
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        gone = [
            _plant(directory, f"dam-upload-{host}-{dead}-abc.upload.jpg"),  # owner gone, fresh
            _plant(directory, f"dam-cutout-{host}-{dead}-xyz", folder=True),  # a scratch folder, owner gone
            _plant(directory, "tmpq1w2e3.upload", age=7200),  # a library's name, old
            _plant(directory, f"dam-render-{host}-{sleeper.pid}-old", age=7200),  # owner alive but too old
        ]
        kept = [
            _plant(directory, f"dam-upload-{host}-{sleeper.pid}-abc.upload"),  # owner alive
            _plant(directory, f"dam-source-{host}-{os.getpid()}-mine.bin"),  # this very process
            _plant(directory, "tmpfresh.upload"),  # a library's name, fresh
            _plant(directory, f"dam-upload-0badc0de-{dead}-other-host.upload"),  # another host's: age only
        ]
        assert tempfiles.sweep() == len(gone)
        assert [p for p in gone if p.exists()] == []
        assert [p for p in kept if not p.exists()] == []
    finally:
        sleeper.kill()
        sleeper.wait(10)


def test_every_kind_of_temporary_is_made_in_the_app_directory(tmpdir_setting):
    prefix = str(tmpdir_setting) + os.sep
    with tempfiles.named("source", ".bin") as fh:
        assert fh.name.startswith(prefix) and os.path.basename(fh.name).startswith(tempfiles.prefix("source"))
    assert tempfiles.path("render").startswith(prefix)
    with tempfiles.scratch_dir("cutout") as folder:
        assert folder.startswith(prefix)
    spool = tempfiles.spooled(10)
    spool.write(b"x" * 100)  # past max_size: an unnamed file, in the app directory
    assert os.readlink(f"/proc/self/fd/{spool.fileno()}").startswith(prefix)
    spool.close()
    from django.conf import settings

    assert settings.FILE_UPLOAD_TEMP_DIR == str(Path(settings.VAR_DIR) / "tmp")  # Django's own, if ever used


def test_a_large_upload_field_goes_to_an_owned_file_in_the_app_directory(tmpdir_setting, settings):
    from django.core.files.uploadhandler import load_handler
    from django.test import RequestFactory

    settings.FILE_UPLOAD_TEMP_DIR = str(tmpdir_setting)
    request = RequestFactory().post("/x", {"file": io.BytesIO(b"y" * (5 * 1024 * 1024))})
    request.upload_handlers = [load_handler(path, request) for path in settings.FILE_UPLOAD_HANDLERS]
    uploaded = request.FILES["file"]
    path = uploaded.temporary_file_path()
    assert path.startswith(str(tmpdir_setting)) and os.path.basename(path).startswith(tempfiles.prefix("upload"))
    assert uploaded.size == 5 * 1024 * 1024
    uploaded.close()
    assert not os.path.exists(path)


def test_a_killed_process_leaves_its_temporaries_to_the_next_sweep(tmpdir_setting):
    code = ("import django, os, sys, time; django.setup(); from django.conf import settings; "
            f"settings.DAM_TEMP_DIR = {str(tmpdir_setting)!r}; from assets import tempfiles; "
            "f = tempfiles.named('upload', '.upload'); f.write(b'z' * 1000); f.flush(); "
            "d = tempfiles.scratch_dir('bgremoval'); print(f.name, d.name, flush=True); time.sleep(60)")
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, stdout=subprocess.PIPE, text=True,
                            env={**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings"})
    try:
        paths = proc.stdout.readline().split()
        assert len(paths) == 2 and all(os.path.exists(p) for p in paths)
        assert tempfiles.sweep() == 0  # its owner is running
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        proc.stdout.close()
    assert all(os.path.exists(p) and p.startswith(str(tmpdir_setting)) for p in paths)  # left behind ...
    assert tempfiles.sweep() == 2  # ... and swept
    assert not any(os.path.exists(p) for p in paths)


def test_a_celery_worker_sweeps_when_it_starts(tmp_path):
    from django.conf import settings

    from tests.worker import start_worker, stop_worker

    planted = _plant(Path(tempfiles.directory()), f"dam-source-{tempfiles._HOST}-{_dead_pid()}-celery.bin")
    assert settings.DAM_TEMP_DIR == Path(settings.VAR_DIR) / "tmp"  # the directory the worker computes too
    proc = start_worker(tmp_path / "worker.log")
    try:
        deadline = time.monotonic() + 30
        while planted.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not planted.exists()
    finally:
        stop_worker(proc)


def _children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def _worker_pid(server: Server, deadline: float, not_pid: int | None = None) -> int:
    """The granian worker (forked by the granian process the server runs)."""
    while time.monotonic() < deadline:
        pids = [p for p in _children(server.proc.pid) if p != not_pid]
        if pids:
            return pids[0]
        time.sleep(0.1)
    raise AssertionError("no granian worker process")


def test_a_web_worker_killed_mid_upload_leaves_nothing_behind(tmp_path):
    server = Server(tmp_path)
    system_tmp = tmp_path / "system-tmp"
    system_tmp.mkdir()
    server.env["TMPDIR"] = str(system_tmp)  # what the system temp directory is for the server
    app_tmp = tmp_path / "var" / "tmp"
    try:
        server.manage("migrate", "--noinput", "-v0")
        server.start()
        worker = _worker_pid(server, time.monotonic() + 30)
        # what a worker killed while Django held an upload's temporary would leave
        planted = _plant(app_tmp, f"dam-upload-{tempfiles._HOST}-{worker}-x.upload")

        sock = socket.create_connection((HOST, server.port), timeout=30)
        sock.sendall((f"POST /v1_1/{CLOUD}/image/upload HTTP/1.1\r\nHost: {HOST}\r\n"
                      "Content-Type: multipart/form-data; boundary=b\r\nContent-Length: 67108864\r\n\r\n").encode())
        piece = b"\0" * (1024 * 1024)
        for _ in range(24):  # 24 of the announced 64 MB
            sock.sendall(piece)
        deadline = time.monotonic() + 30
        spool = None
        while spool is None and time.monotonic() < deadline:  # the body is spooled under the app's dir
            for fd in Path(f"/proc/{worker}/fd").iterdir():
                try:
                    target = os.readlink(fd)
                except OSError:
                    continue
                if target.startswith(str(app_tmp) + os.sep):
                    spool = target
            time.sleep(0.1)
        assert spool and spool.endswith("(deleted)"), spool  # unnamed: nothing to leave behind

        os.kill(worker, signal.SIGKILL)
        sock.close()
        _worker_pid(server, time.monotonic() + 30, not_pid=worker)  # granian starts another one
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                conn = http.client.HTTPConnection(HOST, server.port, timeout=5)
                conn.request("GET", f"/v1_1/{CLOUD}/image/upload")
                if conn.getresponse().status == 405:
                    break
            except OSError:
                time.sleep(0.2)
        assert not planted.exists()  # swept by the worker that replaced the killed one
        assert list(system_tmp.iterdir()) == []
        assert [p.name for p in app_tmp.iterdir() if re.match(r"dam-", p.name)] == []
    finally:
        server.close()
