"""A small HTTP load client for the benchmarks: one keep-alive ``http.client``
connection per thread (reconnecting when the server closes it), bounded by a request
count and a wall-clock limit.  For the cached-hit rates, bench/delivery.py uses wrk
when it is installed: this client's Python costs more CPU per request than a hit does.
"""

from __future__ import annotations

import http.client
import re
import resource
import shutil
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from _common import HOST, REQUEST_TIMEOUT, percentile


@dataclass
class Outcome:
    seconds: float
    status: int
    body: bytes = b""
    error: str = ""


@dataclass
class Run:
    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    wall: float = 0.0
    client_cpu: float = 0.0  # seconds of CPU this process spent driving the load
    bytes: int = 0
    counted: int = 0  # answers counted by wrk (it keeps no per-request latencies)
    quantiles: dict[float, float] = field(default_factory=dict)  # wrk's latency distribution, seconds
    client: str = "python"  # "python" (this module's Client threads) or "wrk"

    @property
    def ok(self) -> int:
        return len(self.latencies) + self.counted

    @property
    def rate(self) -> float:
        return self.ok / self.wall if self.wall > 0 else float("nan")

    def p(self, q: float) -> float:
        if self.quantiles and not self.latencies:
            return self.quantiles.get(q, float("nan"))
        return percentile(self.latencies, q)


class Client:
    """One connection to 127.0.0.1:`port`; not thread-safe (one per thread)."""

    def __init__(self, port: int):
        self.port = port
        self.conn: http.client.HTTPConnection | None = None

    def get(self, path: str) -> Outcome:
        start = time.perf_counter()
        for attempt in range(2):  # one retry when a kept-alive connection was closed under us
            if self.conn is None:
                self.conn = http.client.HTTPConnection(HOST, self.port, timeout=REQUEST_TIMEOUT)
            try:
                self.conn.request("GET", path)
                response = self.conn.getresponse()
                body = response.read()
                if response.will_close:
                    self.close()
                elapsed = time.perf_counter() - start
                if response.status == 200:
                    return Outcome(elapsed, 200, body)
                message = response.getheader("X-Cld-Error") or body[:200].decode(errors="replace")
                return Outcome(elapsed, response.status, body, message)
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError) as exc:
                self.close()
                if attempt:
                    return Outcome(time.perf_counter() - start, 0, error=f"{exc.__class__.__name__}: {exc}")
                start = time.perf_counter()
            except OSError as exc:
                self.close()
                return Outcome(time.perf_counter() - start, 0, error=f"{exc.__class__.__name__}: {exc}")
        raise AssertionError("unreachable")

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def load(port: int, paths, concurrency: int, time_limit: float, expect: int = 200) -> Run:
    """GET every path in `paths` from `concurrency` threads, each path once, in order;
    stops early (the rest unsent) at `time_limit` seconds.  Answers other than `expect` are errors."""
    paths = list(paths)
    run = Run()
    lock = threading.Lock()
    next_index = iter(range(len(paths)))
    deadline = time.monotonic() + time_limit

    def worker():
        client = Client(port)
        try:
            while time.monotonic() < deadline:
                with lock:
                    index = next(next_index, None)
                if index is None:
                    return
                outcome = client.get(paths[index])
                with lock:
                    if outcome.status == expect:
                        run.latencies.append(outcome.seconds)
                        run.bytes += len(outcome.body)
                    else:
                        run.errors.append(f"{outcome.status} {paths[index]}: {outcome.error}")
        finally:
            client.close()

    cpu = _cpu()
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        for future in [pool.submit(worker) for _ in range(concurrency)]:
            future.result()
    run.wall = time.perf_counter() - started
    run.client_cpu = _cpu() - cpu
    return run


def wrk_path() -> str | None:
    return shutil.which("wrk")


_UNITS = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}


def _seconds(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()
    return float(number) * _UNITS[unit]


def wrk_load(port: int, path: str, concurrency: int, seconds: float, expect: int = 200) -> Run:
    """`concurrency` keep-alive connections on 2 wrk threads GETting `path` for `seconds`.
    wrk (C, epoll) spends a small fraction of the CPU per request that Python threads
    do, so on a 2-core machine the server, not the client, sets the rate.  Answers are
    counted by class: with `expect` 200 any non-2xx/3xx is an error; with another
    `expect` (a 404 floor) every answer must be one (checked once beforehand)."""
    probe = Client(port).get(path)
    if probe.status != expect:
        return Run(errors=[f"{probe.status} {path}: {probe.error}"], client="wrk")
    command = [wrk_path() or "wrk", "-t2", f"-c{concurrency}", f"-d{max(1, round(seconds))}s", "--latency",
               "--timeout", f"{int(REQUEST_TIMEOUT)}s", f"http://{HOST}:{port}{path}"]
    cpu = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = subprocess.run(command, capture_output=True, text=True, timeout=seconds + REQUEST_TIMEOUT)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    text = out.stdout
    done = re.search(r"(\d+) requests in ([\d.]+\w+), ([\d.]+\w+) read", text)
    if out.returncode != 0 or done is None:
        return Run(errors=[f"wrk failed ({out.returncode}): {out.stderr.strip() or text.strip()}"], client="wrk")
    run = Run(client="wrk", wall=_seconds(done.group(2)))
    total = int(done.group(1))
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    bad = int(bad.group(1)) if bad else 0
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    failed = sum(int(x) for x in socket_errors.groups()) if socket_errors else 0
    if expect == 200:
        run.counted = total - bad
        run.errors += [f"non-2xx/3xx answer to {path}"] * bad
    else:
        run.counted = bad
        run.errors += [f"2xx/3xx answer to {path} (expected {expect})"] * (total - bad)
    run.errors += [f"socket error on {path}"] * failed
    size, unit = re.fullmatch(r"([\d.]+)(\w+)", done.group(3)).groups()
    run.bytes = int(float(size) * {"B": 1, "KB": 1024, "MB": 1024 ** 2, "GB": 1024 ** 3}.get(unit, 1))
    for q, value in re.findall(r"^\s+(50|75|90|99)%\s+([\d.]+(?:us|ms|s|m))$", text, re.M):
        run.quantiles[int(q) / 100] = _seconds(value)
    run.client_cpu = (after.ru_utime + after.ru_stime) - (cpu.ru_utime + cpu.ru_stime)
    return run


def merge(runs: list[Run]) -> Run:
    """Runs made one after the other, as one: their walls add up (wrk's percentiles: the
    mean of the runs', weighted by their answers)."""
    total = Run()
    for run in runs:
        total.latencies += run.latencies
        total.errors += run.errors
        total.wall += run.wall
        total.client_cpu += run.client_cpu
        total.bytes += run.bytes
        total.counted += run.counted
        total.client = run.client
    weights = sum(run.counted for run in runs if run.quantiles)
    if weights:
        for q in {q for run in runs for q in run.quantiles}:
            total.quantiles[q] = sum(run.quantiles.get(q, 0.0) * run.counted for run in runs) / weights
    return total


def alternate(jobs: dict[str, tuple[int, list[str]]], concurrency: int, time_limit: float, rounds: int,
              expect: dict[str, int] | None = None, wrk: bool = False) -> dict[str, Run]:
    """`jobs`: side -> (port, paths).  Each side's paths are cut into `rounds` slices run in
    turns (a, b, b, a, a, b...), so a load that others put on the machine meanwhile falls on
    both sides alike.  `time_limit` is per slice; `expect`: side -> status (default 200).
    With `wrk`, each slice is wrk on the side's one URL for `time_limit` seconds."""
    expect = expect or {}
    slices = {side: [paths[i::rounds] for i in range(rounds)] for side, (_, paths) in jobs.items()}
    done: dict[str, list[Run]] = {side: [] for side in jobs}
    sides = list(jobs)
    for i in range(rounds):
        for side in (sides if i % 2 == 0 else sides[::-1]):
            if not slices[side][i]:
                continue
            port, status = jobs[side][0], expect.get(side, 200)
            if wrk:
                if len(set(jobs[side][1])) != 1:
                    raise ValueError("wrk runs one URL per side")
                done[side].append(wrk_load(port, slices[side][i][0], concurrency, time_limit, status))
            else:
                done[side].append(load(port, slices[side][i], concurrency, time_limit, status))
    return {side: merge(runs) for side, runs in done.items()}
