"""A small HTTP load client for the benchmarks: one keep-alive ``http.client``
connection per thread (reconnecting when the server closes it, as gunicorn's sync
workers do; gthread workers keep it alive), bounded by a request count and a wall-clock
limit.
"""

from __future__ import annotations

import http.client
import resource
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

    @property
    def ok(self) -> int:
        return len(self.latencies)

    @property
    def rate(self) -> float:
        return self.ok / self.wall if self.wall > 0 else float("nan")

    def p(self, q: float) -> float:
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


def merge(runs: list[Run]) -> Run:
    """Runs made one after the other, as one: their walls add up."""
    total = Run()
    for run in runs:
        total.latencies += run.latencies
        total.errors += run.errors
        total.wall += run.wall
        total.client_cpu += run.client_cpu
        total.bytes += run.bytes
    return total


def alternate(jobs: dict[str, tuple[int, list[str]]], concurrency: int, time_limit: float, rounds: int,
              expect: dict[str, int] | None = None) -> dict[str, Run]:
    """`jobs`: side -> (port, paths).  Each side's paths are cut into `rounds` slices run in
    turns (a, b, b, a, a, b...), so a load that others put on the machine meanwhile falls on
    both sides alike.  `time_limit` is per slice; `expect`: side -> status (default 200)."""
    expect = expect or {}
    slices = {side: [paths[i::rounds] for i in range(rounds)] for side, (_, paths) in jobs.items()}
    done: dict[str, list[Run]] = {side: [] for side in jobs}
    sides = list(jobs)
    for i in range(rounds):
        for side in (sides if i % 2 == 0 else sides[::-1]):
            if slices[side][i]:
                done[side].append(load(jobs[side][0], slices[side][i], concurrency, time_limit,
                                        expect.get(side, 200)))
    return {side: merge(runs) for side, runs in done.items()}
