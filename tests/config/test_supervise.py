"""config.supervise (what ``./dam start`` runs): every Procfile process is restarted when it
exits, with a back-off, while the others keep running; SIGTERM stops them all.  Through
the real Procfile: granian driven into its crash-loop exit by killing its workers, then
the Celery worker killed, and the app answers again each time by itself.

Only 127.0.0.1 is contacted; every wait is bounded in time."""

from __future__ import annotations

import http.client
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.production_server import CLOUD, HOST, ROOT, Server

pytestmark = pytest.mark.django_db(transaction=True)  # only to learn which database engine the session runs


def _group(pgid: int) -> list[int]:
    """The processes of process group `pgid`."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            fields = stat.rsplit(")", 1)[1].split()
            if fields[0] != "Z" and int(fields[2]) == pgid:
                found.append(int(entry.name))
    return found


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def _parent(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except OSError:
        return 0


def _main_and_children(pgid: int, program: str) -> tuple[int | None, list[int]]:
    """The `program` process of the group whose parent is not one too (the shell running the
    Procfile line is not), and its children."""
    pids = [pid for pid in _group(pgid) if program in _cmdline(pid) and not _cmdline(pid).startswith("/bin/sh")]
    main = next((pid for pid in pids if _parent(pid) not in pids), None)
    return main, [pid for pid in pids if _parent(pid) == main]


def _wait(condition, timeout: float, what: str, log: Path | None = None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"{what} not within {timeout}s" + (f":\n{log.read_text()[-6000:]}" if log else ""))


def _answers(port: int) -> bool:
    try:
        conn = http.client.HTTPConnection(HOST, port, timeout=5)
        conn.request("GET", f"/v1_1/{CLOUD}/image/upload")
        return conn.getresponse().status == 405
    except OSError:
        return False


def _started(log: Path, name: str) -> list[int]:
    return [int(pid) for pid in re.findall(rf"system +\| {name} started \(pid (\d+)\)", log.read_text())]


def _ready(log: Path, name: str) -> int:
    """How many times a Celery worker of Procfile line `name` said it is ready."""
    return len(re.findall(rf"^\S+ {name} +\|.* ready\.$", log.read_text(), re.M))


def test_backoff_doubles_up_to_its_cap_and_resets_after_a_long_run(tmp_path):
    procfile = tmp_path / "Procfile"
    procfile.write_text("quick: echo hello from quick; exit 3\nsteady: sleep 1.2; exit 1\n")
    log = tmp_path / "out.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "config.supervise", "-f", str(procfile), "--min-delay", "0.2",
                                 "--max-delay", "0.8", "--stable", "1", "--stop-timeout", "5"],
                                cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        _wait(lambda: log.read_text().count("quick exited with code 3") >= 5, 20, "five exits of quick", log)
        _wait(lambda: log.read_text().count("steady exited with code 1") >= 2, 20, "two exits of steady", log)
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(20) == 0
    text = log.read_text()
    delays = re.findall(r"quick exited with code 3 after [\d.]+s; restarting in ([\d.]+)s", text)
    assert delays[:5] == ["0.2", "0.4", "0.8", "0.8", "0.8"], text
    assert set(re.findall(r"steady exited with code 1 after [\d.]+s; restarting in ([\d.]+)s", text)) == {"0.2"}
    assert re.search(r"^\d\d:\d\d:\d\d quick +\| hello from quick$", text, re.M), text  # prefixed output
    assert "system | stopped" in re.sub(r" +\|", " |", text)


def test_the_app_comes_back_after_granian_gives_up_and_after_celery_is_killed(tmp_path):
    server = Server(tmp_path)
    server.env.update({"DAM_WORKER_CONCURRENCY": "1", "DAM_ACCESS_LOG": "0"})
    log = tmp_path / "supervise.log"
    server.manage("migrate", "--noinput", "-v0")
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "config.supervise", "--min-delay", "1", "--stable", "60",
                                 "--stop-timeout", "30"], cwd=ROOT, env=server.env, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)
    groups: set[int] = set()
    try:
        _wait(lambda: _answers(server.port), 90, "the web server", log)
        _wait(lambda: _ready(log, "worker"), 90, "the Celery worker", log)
        _wait(lambda: _ready(log, "faces"), 90, "the face detection worker", log)
        web, worker = _started(log, "web")[0], _started(log, "worker")[0]
        groups |= {web, worker, _started(log, "faces")[0]}
        celery, _ = _main_and_children(worker, "celery")
        assert celery

        # granian exits on a worker crash loop (a worker dying within 5.5 s of its respawn)
        granian, workers = _wait(lambda: (lambda m: m if m[1] else None)(_main_and_children(web, "granian")),
                                 30, "granian's worker", log)
        killed = set()
        deadline = time.monotonic() + 90
        while "Worker crash loop detected" not in log.read_text() and time.monotonic() < deadline:
            _, workers = _main_and_children(web, "granian")
            for pid in set(workers) - killed:
                os.kill(pid, signal.SIGKILL)
                killed.add(pid)
            time.sleep(0.1)
        assert "Worker crash loop detected" in log.read_text(), log.read_text()[-4000:]
        assert len(killed) <= 10
        _wait(lambda: len(_started(log, "web")) == 2, 30, "web started again", log)
        groups.add(_started(log, "web")[1])
        _wait(lambda: _answers(server.port), 90, "the web server answering again", log)
        assert _main_and_children(worker, "celery")[0] == celery  # the worker kept running meanwhile

        # the Celery worker, killed, comes back; the web server keeps answering
        ready = _ready(log, "worker")
        os.kill(celery, signal.SIGKILL)
        _wait(lambda: len(_started(log, "worker")) == 2, 30, "worker started again", log)
        assert _answers(server.port)
        new_worker = _started(log, "worker")[1]
        groups.add(new_worker)
        _wait(lambda: _ready(log, "worker") > ready, 90, "the new Celery worker ready", log)
        assert _group(worker) == []  # what the killed worker left (its pool process) was killed
        assert "worker exited with code 137 (SIGKILL)" in log.read_text()

        proc.send_signal(signal.SIGTERM)
        assert proc.wait(60) == 0
        assert all(_group(pgid) == [] for pgid in groups), {pgid: _group(pgid) for pgid in groups}
        assert not _answers(server.port)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        for pgid in groups:
            try:
                os.killpg(pgid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        server.close()


def test_ready_block_comes_once_the_url_answers_and_the_output_settles(tmp_path):
    """./dam start's last word: after the web process answers and the others' start-up lines
    (a stand-in for Celery's banner, printed after the web server is up), the URL and the
    note (bootstrap's message, credentials on a first run) are printed; the note's file is
    removed once read."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port = sock.getsockname()[1]
    procfile = tmp_path / "Procfile"
    procfile.write_text(f"web: exec {sys.executable} -m http.server --bind {HOST} {port}\n"
                        "banner: sleep 2; for i in 1 2 3 4 5; do echo banner line $i; done; exec sleep 60\n")
    note = tmp_path / "note.txt"
    note.write_text("API secret:      s3cret\n")
    log = tmp_path / "out.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "config.supervise", "-f", str(procfile), "--stop-timeout", "5",
                                 "--ready-url", f"http://{HOST}:{port}/", "--ready-note", str(note)],
                                cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        _wait(lambda: "Ctrl-C stops everything." in log.read_text(), 30, "the ready block", log)
        assert not note.exists()
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(20) == 0
    text = log.read_text()
    block = text[text.index("Ready: open"):]
    assert f"Ready: open http://{HOST}:{port}/ in a browser." in block and "API secret:      s3cret" in block
    assert text.index("banner line 5") < text.index("Ready: open")  # printed after the banner, not scrolled away
    assert text.count("Ready: open") == 1
