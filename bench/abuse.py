"""Abuse run: cached-hit latency while the server is abused, next to the quiet figure.

    .venv/bin/python bench/abuse.py [--slow 400] [--render-threads 32] [--seconds 8] [--workers 2]
                                    [--ref COMMIT] [--keep]

Starts our server (the Procfile's web command, ``--workers`` processes of DAM_WEB_THREADS
threads) on 127.0.0.1 and a free port, against a fresh temporary DAM_VAR_DIR (migrated,
with its own API key), uploads a 12-megapixel photo and renders one small thumbnail of it
once.  A prober then GETs that thumbnail (a cached hit) on one kept-alive connection, 25
times a second, and ``/login/`` once a second, for ``--seconds`` in each phase:

- quiet: nothing else;
- (a) slow bodies: ``--slow`` connections each announce a 100 MB upload, send five bytes
  and then nothing (the phase is shorter than DAM_BODY_TIMEOUT, so all of them are still
  pending or refused when it ends); what they were answered by then is counted;
- (b) first renders: ``--render-threads`` client threads ask for distinct renders of the
  photo (``w_<n>,h_<n>,c_scale/e_blur:<n>``), each a first render; their answers are
  counted by status.

Prints, per phase, the probes' median / p95 / max latency and errors (a probe unanswered
for the phase's length plus two seconds counts as an error).  ``--ref`` serves a snapshot of
a commit instead of the working tree (e.g. one from before a change).  Only 127.0.0.1 is
contacted; every loop is bounded in count and time; the server is always stopped and the
directory removed at the end.
"""

from __future__ import annotations

import argparse
import http.client
import re
import socket
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (CLOUD, HOST, ROOT, create_api_key, free_port, machine_description,  # noqa: E402
                     make_photo, manage, percentile, raise_on_sigterm, server_env, snapshot, start_server,
                     tear_down, upload_file, wait_ready)

PROBE_EVERY = 0.04  # seconds between two cached-hit probes
THUMB = "c_fill,w_200,h_150"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--slow", type=int, default=400, help="slow-body connections in phase (a) (1-2000)")
    parser.add_argument("--render-threads", type=int, default=32, help="client threads of phase (b) (1-64)")
    parser.add_argument("--seconds", type=float, default=8.0, help="length of each phase (2-15)")
    parser.add_argument("--workers", type=int, default=2, help="web worker processes (1-8)")
    parser.add_argument("--ref", help="serve this commit (a snapshot of it) instead of the working tree")
    parser.add_argument("--keep", action="store_true", help="keep the temporary data directory")
    args = parser.parse_args()
    args.slow = max(1, min(args.slow, 2000))
    args.render_threads = max(1, min(args.render_threads, 64))
    args.seconds = max(2.0, min(args.seconds, 15.0))  # below DAM_BODY_TIMEOUT's default 20 s
    args.workers = max(1, min(args.workers, 8))
    return args


class Probe:
    """Cached hits (and /login/ once a second) from one thread until stopped."""

    def __init__(self, port: int, hit: str, timeout: float):
        self.port, self.hit, self.timeout = port, hit, timeout
        self.hits: list[float] = []
        self.logins: list[float] = []
        self.errors: list[str] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _get(self, conn, path: str, into: list[float]):
        started = time.perf_counter()
        try:
            conn.request("GET", path)
            response = conn.getresponse()
            response.read()
        except OSError as exc:
            self.errors.append(f"{path}: {exc.__class__.__name__}")
            return None
        if response.status != 200:
            self.errors.append(f"{path}: {response.status}")
        else:
            into.append(time.perf_counter() - started)
        return response

    def _run(self) -> None:
        kept = http.client.HTTPConnection(HOST, self.port, timeout=self.timeout)
        last_login = 0.0
        while not self.stop.is_set():
            if self._get(kept, self.hit, self.hits) is None:
                kept.close()
                kept = http.client.HTTPConnection(HOST, self.port, timeout=self.timeout)
            if time.monotonic() - last_login >= 1.0:
                last_login = time.monotonic()
                conn = http.client.HTTPConnection(HOST, self.port, timeout=self.timeout)
                self._get(conn, "/login/", self.logins)
                conn.close()
            self.stop.wait(PROBE_EVERY)
        kept.close()

    def during(self, seconds: float) -> "Probe":
        self.thread.start()
        self.stop.wait(seconds)
        self.stop.set()
        self.thread.join(60)
        return self


def slow_bodies(port: int, count: int, seconds: float, probe: Probe) -> Counter:
    head = (f"POST /v1_1/{CLOUD}/image/upload HTTP/1.1\r\nHost: {HOST}:{port}\r\n"
            "Content-Type: multipart/form-data; boundary=x\r\nContent-Length: 100000000\r\n\r\n--x\r\n").encode()
    sockets = []
    try:
        for _ in range(count):
            sock = socket.create_connection((HOST, port), timeout=10)
            sock.sendall(head)
            sockets.append(sock)
        probe.during(seconds)
        answers = Counter()
        for sock in sockets:  # what each got by the end of the phase
            sock.setblocking(False)
            try:
                data = sock.recv(4096)
            except BlockingIOError:
                answers["still waiting"] += 1
                continue
            except OSError:
                data = b""
            match = re.match(rb"HTTP/1\.1 (\d{3})", data)
            answers[match.group(1).decode() if match else "closed"] += 1
        return answers
    finally:
        for sock in sockets:
            sock.close()


def render_burst(port: int, threads: int, seconds: float, probe: Probe) -> tuple[Counter, list[float]]:
    answers: Counter = Counter()
    latencies: list[float] = []
    counter = iter(range(1, 100_000))  # bounded in count as well as in time
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def client():
        conn = http.client.HTTPConnection(HOST, port, timeout=120)
        while time.monotonic() < deadline:
            with lock:
                n = next(counter, None)
            if n is None:
                break
            # distinct sizes make each a first render; the blur stays within its 1-2000 range
            path = f"/{CLOUD}/image/upload/w_{300 + n},h_{200 + n},c_scale/e_blur:{50 + n % 1900}/bench/photo.jpg"
            started = time.perf_counter()
            try:
                conn.request("GET", path)
                response = conn.getresponse()
                response.read()
                status = str(response.status)
                if response.will_close:
                    conn.close()
            except OSError as exc:
                status = exc.__class__.__name__
                conn.close()
            with lock:
                answers[status] += 1
                if status == "200":
                    latencies.append(time.perf_counter() - started)
        conn.close()

    workers = [threading.Thread(target=client, daemon=True) for _ in range(threads)]
    for worker in workers:
        worker.start()
    probe.during(seconds)
    for worker in workers:
        worker.join(150)
    return answers, latencies


def ms(values: list[float], q: float) -> str:
    return f"{percentile(values, q) * 1000:.1f}" if values else "–"


def main() -> int:
    args = parse_args()
    raise_on_sigterm()
    var_dir = Path(tempfile.mkdtemp(prefix="dam-abuse-"))
    env = server_env(str(var_dir))
    port = free_port()
    log_path = var_dir / "server.log"
    proc = None
    try:
        root = ROOT
        if args.ref:
            root = var_dir / "code"
            print(f"serving {snapshot(args.ref, root)}")
        manage(env, "migrate", "--no-input", "-v0", root=root)
        key, secret = create_api_key(env, root=root)
        photo = var_dir / "photo.jpg"
        make_photo(photo)
        proc = start_server({**env, "DAM_ACCESS_LOG": "0"}, port, args.workers, log_path, root=root)
        base = f"http://{HOST}:{port}"
        wait_ready(proc, base, log_path)
        _, status, result = upload_file(base, key, secret, photo.read_bytes(), "bench/photo")
        if status != 200:
            raise RuntimeError(f"upload failed: {status} {result}")
        hit = f"/{CLOUD}/image/upload/{THUMB}/bench/photo.jpg"
        for _ in range(args.workers * 4):  # the first render, then (new connections) every worker's memo
            conn = http.client.HTTPConnection(HOST, port, timeout=120)
            conn.request("GET", hit)
            conn.getresponse().read()
            conn.close()
        warm = Probe(port, hit, args.seconds + 2).during(1.0)
        if warm.errors:
            raise RuntimeError(f"cached hit failed: {warm.errors[:3]}")

        rows = [("quiet", Probe(port, hit, args.seconds + 2).during(args.seconds), "")]
        probe = Probe(port, hit, args.seconds + 2)
        answers = slow_bodies(port, args.slow, args.seconds, probe)
        rows.append((f"(a) {args.slow} slow bodies", probe,
                     ", ".join(f"{k}: {v}" for k, v in sorted(answers.items()))))
        time.sleep(2)  # the slow connections closed; the server lets go of them
        probe = Probe(port, hit, args.seconds + 2)
        answers, latencies = render_burst(port, args.render_threads, args.seconds, probe)
        rows.append((f"(b) first renders, {args.render_threads} threads", probe,
                     ", ".join(f"{k}: {v}" for k, v in sorted(answers.items()))
                     + (f"; 200s p50 {ms(latencies, 0.5)} ms" if latencies else "")))

        print(f"\n{machine_description()}; {args.workers} web workers; each phase {args.seconds:g} s; "
              f"code: {args.ref or 'working tree'}\n")
        print("| phase | cached hit p50 / p95 / max (ms) | hits | /login/ p50 / max (ms) | errors | abusers got |")
        print("|---|---|---|---|---|---|")
        for name, probe, note in rows:
            print(f"| {name} | {ms(probe.hits, 0.5)} / {ms(probe.hits, 0.95)} / {ms(probe.hits, 1.0)} | "
                  f"{len(probe.hits)} | {ms(probe.logins, 0.5)} / {ms(probe.logins, 1.0)} | "
                  f"{len(probe.errors)} | {note or '–'} |")
        return 0
    finally:
        tear_down(proc, var_dir, args.keep)


if __name__ == "__main__":
    sys.exit(main())
