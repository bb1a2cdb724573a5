"""Delivery benchmark: our server vs thumbor vs bare pyvips, side by side, in one go.

    .venv/bin/python bench/delivery.py [--samples 25] [--hits 8000] [--hits-seconds 30]
                                       [--renders 24] [--ref HEAD] [--only abcd] [--keep]

Our server runs as in production (the Procfile's web command: granian serving
``config.wsgi:application``, DAM_DEBUG off) from a snapshot of the committed tree at ``--ref``, on a fresh temporary
DAM_VAR_DIR.  thumbor (from PyPI, in its own virtualenv made once under
~/.cache/dam-bench/thumbor-venv) runs with the file loader and file result storage.
Both get the same number of processes in each measurement and only listen on 127.0.0.1.

Measures, on the same 12 MP JPEG (4000x3000, q90):
  (a) first render of a 400x300 fill (each sample a distinct width, 1 process each),
      vs a bare in-process ``pyvips.Image.thumbnail(crop="centre")`` + ``jpegsave_buffer(Q=80)``;
  (b) cached hits at concurrency 8 (2 processes each): requests/s, p50, p99;
  (c) uncached renders at concurrency 4 (2 processes each): renders/s;
and (d) the peak RSS (VmHWM) of one fresh worker/process rendering a 50 MP JPEG.
Prints a markdown table.  Servers are always stopped and temp files removed.
"""

from __future__ import annotations

import argparse
import datetime
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _thumbor  # noqa: E402
from _common import (CLOUD, HOST, ROOT, children, create_api_key, create_database, drop_database,  # noqa: E402
                     free_port, machine_description, make_photo, manage, memory_kb, raise_on_sigterm,
                     server_description, server_env, snapshot, snapshot_id, start_server, stop_server,
                     upload_file, wait_ready)
from _load import Client, alternate, wrk_path  # noqa: E402
from _report import Results, print_table  # noqa: E402

SMALL = (4000, 3000)  # 12 MP
LARGE = (8660, 5774)  # 50 MP
FILL = (400, 300)
PHASE_LIMIT = 300.0  # seconds, per measurement loop
ROUNDS = 4  # (b), (c): each side's requests in alternating slices, so others' load hits both alike
SETTLE = 0.25  # (a): seconds of quiet after each sample


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", type=int, default=25, help="first-render samples per side (3-50)")
    parser.add_argument("--hits", type=int, default=8000, help="cached-hit requests per side (100-20000)")
    parser.add_argument("--hits-seconds", type=float, default=30.0, help="time limit of the cached-hit run")
    parser.add_argument("--renders", type=int, default=24, help="uncached renders per side (4-200)")
    parser.add_argument("--ref", default="HEAD", help="git ref of our server to benchmark ('worktree': this "
                        "working tree as it is, uncommitted edits included)")
    parser.add_argument("--postgres", metavar="ADMIN_URL", help="run our server on a throwaway PostgreSQL "
                        "database created through ADMIN_URL (e.g. postgres://postgres@127.0.0.1:5432/postgres) "
                        "instead of SQLite; dropped at the end")
    parser.add_argument("--only", default="abcd", help="which measurements to run, e.g. 'a' or 'bc' "
                        "(default: all of abcd)")
    parser.add_argument("--client", choices=("auto", "wrk", "python"), default="auto",
                        help="load client of (b): wrk (Debian package 'wrk'; auto: when installed) or the "
                        "Python threads of bench/_load.py, whose own CPU use caps the rate on 2 cores")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = parser.parse_args()
    args.only = set(args.only.lower()) & set("abcd")
    if not args.only:
        parser.error("--only names none of a, b, c, d")
    args.samples = max(3, min(args.samples, 50))
    args.hits = max(100, min(args.hits, 20000))
    args.hits_seconds = max(2.0, min(args.hits_seconds, 60.0))
    args.renders = max(4, min(args.renders, 200))
    if args.client == "auto":
        args.client = "wrk" if wrk_path() else "python"
    elif args.client == "wrk" and not wrk_path():
        parser.error("--client wrk: wrk is not installed (apt-get install wrk)")
    return args


class Bench:
    """Owns every process and path it creates; `close()` stops and removes them all."""

    def __init__(self, args):
        self.args = args
        self.tmp = Path(tempfile.mkdtemp(prefix="dam-bench-delivery-"))
        self.procs: list[subprocess.Popen] = []
        self.results = Results()
        self.use_transformations = True
        self.database_url: str | None = None

    def log(self, message: str) -> None:
        print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)

    # --- setup --------------------------------------------------------------------

    def setup(self) -> None:
        self.thumbor_bin = _thumbor.ensure_venv(self.log)
        self.images = self.tmp / "images"
        self.images.mkdir()
        self.log("generating the 12 MP and 50 MP JPEGs ...")
        make_photo(self.images / "photo12.jpg", *SMALL)
        make_photo(self.images / "photo50.jpg", *LARGE)
        if self.args.ref == "worktree":  # uncommitted code, e.g. to measure work in progress
            self.src = ROOT
            self.results.commit = snapshot_id("HEAD") + "+worktree"
        else:
            self.src = self.tmp / "src"
            self.results.commit = snapshot(self.args.ref, self.src)
        self.env = server_env(str(self.tmp / "var"))
        if self.args.postgres:
            self.database_url = create_database(self.args.postgres)
            self.env["DATABASE_URL"] = self.database_url
        self.results.database = "PostgreSQL" if self.database_url else "SQLite"
        self.results.server = server_description(self.src)
        self.log(f"our server: snapshot of {self.results.commit[:10]}; migrating ...")
        manage(self.env, "migrate", "--noinput", root=self.src)
        self.key, self.secret = create_api_key(self.env, root=self.src)
        self.conf = _thumbor.write_config(self.tmp / "thumbor.conf", self.images, self.tmp / "thumbor-results")

        ours, port = self.start_ours(2)
        base = f"http://{HOST}:{port}"
        for name, size in (("photo12", SMALL), ("photo50", LARGE)):
            elapsed, status, result = upload_file(base, self.key, self.secret,
                                                  (self.images / f"{name}.jpg").read_bytes(), f"bench/{name}")
            if status != 200 or (result["width"], result["height"]) != size:
                raise RuntimeError(f"upload of {name} failed: {status} {result}")
            self.log(f"uploaded {name} ({size[0]}x{size[1]}) in {elapsed:.2f} s")
        probe = Client(port).get(self.ours_fill("photo12", *FILL))
        if probe.status != 200:
            self.use_transformations = False
            self.results.stand_in = f"{probe.status} {probe.error}"
            self.log(f"c_fill answered {probe.status} ({probe.error}): measuring ORIGINAL DELIVERY as a stand-in")
        self.stop(ours)

    # --- servers ------------------------------------------------------------------

    def start_ours(self, workers: int) -> tuple[subprocess.Popen, int]:
        port = free_port()
        proc = start_server(self.env, port, workers, self.tmp / "ours.log", root=self.src)
        self.procs.append(proc)
        wait_ready(proc, f"http://{HOST}:{port}", self.tmp / "ours.log")
        return proc, port

    def start_thumbor(self, processes: int) -> tuple[subprocess.Popen, int]:
        port = free_port()
        proc = _thumbor.start(self.thumbor_bin, self.conf, port, processes, self.tmp / "thumbor.log")
        self.procs.append(proc)
        _thumbor.wait_ready(proc, f"http://{HOST}:{port}", self.tmp / "thumbor.log")
        return proc, port

    def stop(self, proc: subprocess.Popen) -> None:
        stop_server(proc)
        if proc in self.procs:
            self.procs.remove(proc)

    def close(self) -> None:
        for proc in list(self.procs):
            try:
                self.stop(proc)
            except Exception as exc:  # keep stopping the others
                print(f"could not stop pid {proc.pid}: {exc}", file=sys.stderr)
        if self.database_url:
            try:
                drop_database(self.args.postgres, self.database_url)
            except Exception as exc:
                print(f"could not drop {self.database_url}: {exc}", file=sys.stderr)
        if self.args.keep:
            print(f"kept {self.tmp}")
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)

    # --- URLs ---------------------------------------------------------------------

    def ours_fill(self, name: str, w: int, h: int) -> str:
        if not self.use_transformations:  # stand-in: the original (version numbers vary the URL only)
            return f"/{CLOUD}/image/upload/v{w}{h}/bench/{name}.jpg"
        return f"/{CLOUD}/image/upload/c_fill,w_{w},h_{h}/bench/{name}.jpg"

    def ours_scale(self, name: str, w: int) -> str:
        if not self.use_transformations:
            return f"/{CLOUD}/image/upload/v{w}/bench/{name}.jpg"
        return f"/{CLOUD}/image/upload/c_scale,w_{w}/bench/{name}.jpg"

    @staticmethod
    def thumbor_fill(name: str, w: int, h: int) -> str:
        return f"/unsafe/{w}x{h}/{name}.jpg"  # crops to fill, centred (no smart detection)

    @staticmethod
    def thumbor_scale(name: str, w: int) -> str:
        return f"/unsafe/{w}x0/{name}.jpg"

    # --- (a) first render latency -------------------------------------------------

    def first_render(self) -> None:
        import pyvips

        pyvips.cache_set_max(0)
        path = str(self.images / "photo12.jpg")

        def bare(w: int, h: int) -> bytes:
            return pyvips.Image.thumbnail(path, w, height=h, crop="centre").jpegsave_buffer(Q=80)

        ours, ours_port = self.start_ours(1)
        thumbor, thumbor_port = self.start_thumbor(1)
        ours_client, thumbor_client = Client(ours_port), Client(thumbor_port)
        sides = {
            "ours": lambda w, h: self.timed(ours_client, self.ours_fill("photo12", w, h), (w, h)),
            "thumbor": lambda w, h: self.timed(thumbor_client, self.thumbor_fill("photo12", w, h), (w, h)),
            "bare": lambda w, h: self.timed_bare(bare, w, h),
        }
        self.log("(a) first renders, 1 process each; warming up ...")
        for fn in sides.values():
            fn(450, 300)  # imports, first-request costs: not counted
        samples = {name: [] for name in sides}
        deadline = time.monotonic() + PHASE_LIMIT
        order = list(sides)
        for i in range(self.args.samples):
            if time.monotonic() > deadline:
                self.log("(a) time limit reached")
                break
            w = FILL[0] + 1 + i  # a width never asked before: every request renders
            for name in order[i % 3:] + order[:i % 3]:  # rotate who goes first
                samples[name].append(sides[name](w, FILL[1]))
                time.sleep(SETTLE)  # what a server does after its answer (thumbor's result storage,
                # our log row) finishes before the next side is timed
        ours_client.close()
        thumbor_client.close()
        self.stop(ours)
        self.stop(thumbor)
        self.results.first_render = {name: statistics.median(values) for name, values in samples.items()}
        self.results.first_render_n = len(samples["ours"])
        # each sample's ours/bare, taken back to back: less moved by load that changes during the run
        self.results.first_render_paired = statistics.median(o / b for o, b in zip(samples["ours"], samples["bare"]))

    def timed(self, client: Client, url: str, size: tuple[int, int]) -> float:
        outcome = client.get(url)
        if outcome.status != 200:
            raise RuntimeError(f"GET {url}: {outcome.status} {outcome.error}")
        if self.use_transformations or "unsafe" in url:
            self.check_size(url, outcome.body, size)
        return outcome.seconds

    @staticmethod
    def timed_bare(fn, w: int, h: int) -> float:
        start = time.perf_counter()
        fn(w, h)
        return time.perf_counter() - start

    @staticmethod
    def check_size(url: str, body: bytes, size: tuple[int, int]) -> None:
        import pyvips

        image = pyvips.Image.new_from_buffer(body, "")
        if (image.width, image.height) != size:
            raise RuntimeError(f"GET {url}: {image.width}x{image.height}, expected {size[0]}x{size[1]}")

    # --- (b) cached hits, (c) uncached throughput -----------------------------------

    def throughput(self) -> None:
        ours, ours_port = self.start_ours(2)
        thumbor, thumbor_port = self.start_thumbor(2)
        hit_urls = {"ours": self.ours_fill("photo12", *FILL), "thumbor": self.thumbor_fill("photo12", *FILL)}
        ports = {"ours": ours_port, "thumbor": thumbor_port}
        for name, url in hit_urls.items():
            client = Client(ports[name])
            for _ in range(3):  # render once, then hits on both processes' first requests
                outcome = client.get(url)
                if outcome.status != 200:
                    raise RuntimeError(f"{name} GET {url}: {outcome.status} {outcome.error}")
            client.close()
        stored = [p for p in (self.tmp / "thumbor-results").rglob("*") if p.is_file()]
        if not stored:
            raise RuntimeError("thumbor's result storage stayed empty: its hits would be renders")
        n, seconds = self.args.hits, self.args.hits_seconds / ROUNDS
        if "b" in self.args.only:
            wrk = self.args.client == "wrk"
            self.results.hits_client = self.args.client
            what = f"{seconds:.1f} s per side and round (wrk)" if wrk else f"{n} per side"
            self.log(f"(b) cached hits at concurrency 8, {what} in {ROUNDS} alternating rounds ...")
            self.results.hits = alternate({side: (ports[side], [url] * n) for side, url in hit_urls.items()},
                                          8, seconds, ROUNDS, wrk=wrk)
            # For scale: the cheapest answer each server gives (ours: a 404 for an unknown public_id).
            self.log("(b) floors: our 404, thumbor's /healthcheck ...")
            self.results.floor = alternate({"ours": (ours_port, [f"/{CLOUD}/image/upload/bench/missing.jpg"] * n),
                                            "thumbor": (thumbor_port, ["/healthcheck"] * n)},
                                           8, seconds, ROUNDS, expect={"ours": 404}, wrk=wrk)
        if "c" in self.args.only:
            self.log(f"(c) {self.args.renders} uncached renders per side at concurrency 4, "
                     f"{ROUNDS} alternating rounds ...")
            widths = range(500, 500 + self.args.renders)
            self.results.uncached = alternate({
                "ours": (ours_port, [self.ours_fill("photo12", w, FILL[1]) for w in widths]),
                "thumbor": (thumbor_port, [self.thumbor_fill("photo12", w, FILL[1]) for w in widths]),
            }, 4, PHASE_LIMIT / ROUNDS, ROUNDS)
        self.stop(ours)
        self.stop(thumbor)

    # --- (d) peak RSS on a 50 MP source ---------------------------------------------

    def peak_rss(self) -> None:
        cases = [
            ("c_fill 400x300", self.ours_fill("photo50", *FILL), self.thumbor_fill("photo50", *FILL),
             "pyvips.Image.thumbnail(path, 400, height=300, crop='centre')"),
            ("c_scale w_2000", self.ours_scale("photo50", 2000), self.thumbor_scale("photo50", 2000),
             "pyvips.Image.thumbnail(path, 2000, height=100000)"),
        ]
        for label, ours_url, thumbor_url, bare_expr in cases:
            self.log(f"(d) peak RSS, 50 MP source, {label} ...")
            ours, port = self.start_ours(1)
            workers = children(ours.pid)
            if len(workers) != 1:
                raise RuntimeError(f"expected one worker process of our server, found {workers}")
            self.results.rss[("ours", label)] = self.measure_rss(workers[0], port, ours_url)
            self.stop(ours)
            thumbor, port = self.start_thumbor(1)  # one process: no fork, the server itself renders
            Client(port).get("/healthcheck")
            self.results.rss[("thumbor", label)] = self.measure_rss(thumbor.pid, port, thumbor_url)
            self.stop(thumbor)
            self.results.rss[("bare", label)] = self.bare_rss(bare_expr)

    @staticmethod
    def measure_rss(pid: int, port: int, url: str) -> tuple[int, int]:
        """(RSS before, peak RSS after) in kB of process `pid` rendering `url` once."""
        before = memory_kb(pid)
        outcome = Client(port).get(url)
        if outcome.status != 200:
            raise RuntimeError(f"GET {url}: {outcome.status} {outcome.error}")
        return before.get("VmRSS", 0), memory_kb(pid).get("VmHWM", 0)

    def bare_rss(self, expression: str) -> tuple[int, int]:
        # VmHWM, not ru_maxrss: a forked child's ru_maxrss starts from its parent's peak.
        code = ("import pyvips; pyvips.cache_set_max(0)\n"
                "def kb(name): return int(open('/proc/self/status').read().split(name + ':')[1].split()[0])\n"
                "before = kb('VmRSS')\n"
                f"path = {str(self.images / 'photo50.jpg')!r}\n"
                f"{expression}.jpegsave_buffer(Q=80)\n"
                "print(before, kb('VmHWM'))")
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
        before, peak = out.stdout.split()
        return int(before), int(peak)

    def machine(self) -> str:
        return f"{machine_description()}, thumbor {_thumbor.THUMBOR_VERSION} (Pillow {_thumbor.pillow_version()})"


def main() -> int:
    args = parse_args()
    raise_on_sigterm()
    bench = Bench(args)
    try:
        start_load = os.getloadavg()[0]
        bench.setup()
        if "a" in args.only:
            bench.first_render()
        if args.only & {"b", "c"}:
            bench.throughput()
        if "d" in args.only:
            bench.peak_rss()
        bench.results.date = datetime.date.today().isoformat()
        bench.results.machine = bench.machine()
        bench.results.load = (start_load, os.getloadavg()[0])
        print_table(bench.results, args)
        return 0
    finally:
        bench.close()


if __name__ == "__main__":
    sys.exit(main())
