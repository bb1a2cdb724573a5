"""AI background-removal benchmark (issue 5 item 7): latency at 1024 and 2048 pixels,
throughput with the worker pool, peak RSS, and the pipeline's overhead against a bare
onnxruntime call on the same input (goal: at most 10%).

    ./dam start            # once: fetches the models (or: .venv/bin/python manage.py fetch_models)
    .venv/bin/python bench/bg_removal.py [--runs 7] [--count 6] [--quick] [--broker URL] [--profile]

Inputs: scikit-image's sample photos (astronaut, chelsea, coffee) upscaled (lanczos3) to
1024 and 2048 pixels on the long side, JPEG q92.  Everything runs on a throwaway
DAM_VAR_DIR (SQLite, local storage) with the production settings; only 127.0.0.1 is
contacted; every wait is bounded.

1. In process, alternating samples (ours, bare, bare, ours, ...: other load falls on both):
   ours = ``transforms.ai.bgremoval.compute`` for a fresh cut-out row, the worker's whole job
   (open the original, normalise, scale, model, matte, PNG encode, store, record); bare = the
   same ISNet ONNX file in its own ``onnxruntime.InferenceSession`` (same thread settings),
   the model's documented preprocessing (Pillow decode, bilinear resize to 1024x1024,
   (x-128)/256, NCHW), ``session.run``, the matte resized back (bilinear) and composed with
   the RGB into an RGBA array.  Overhead = median over pairs of ours/bare - 1; and, since
   the model's own time swings up to 2x with other load on the machine, also the time each
   side spends outside ``session.run``: (ours - bare) over the fastest bare run, a
   conservative figure that noise hardly moves.
2. End to end through the real app: the Procfile's web command (granian) and a Celery worker
   (the Procfile's, ``--concurrency 2``); upload (not timed), GET the e_background_removal
   URL (423), poll every 0.1 s, time to the first 200.  And an upload with
   ``eager=e_background_removal/png`` (synchronous: the cut-out is computed in the
   request), timed until its response.
3. Throughput: ``--count`` 2048-px cut-outs queued at once through the worker pool at
   concurrency 2 (the Procfile's on this 2-core machine) and 1, and at 2 with
   DAM_AI_THREADS=1 (each pool warmed up first), in cut-outs per minute;
   the peak RSS (VmHWM) of the pool's processes, and of a bare run in its own process.
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
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (CLOUD, HOST, ROOT, children, create_api_key, free_port, machine_description,  # noqa: E402
                     memory_kb, raise_on_sigterm, server_env, snapshot_id, start_server, stop_server, upload_file,
                     wait_ready)

SIZES = (1024, 2048)
PHOTOS = ("astronaut", "chelsea", "coffee")
OVERHEAD_GOAL = 0.10
POLL = 0.1  # seconds between polls of a 423 URL
CUTOUT_TIMEOUT = 300.0  # one cut-out through the app, at most
MODEL_SETTINGS = ("DAM_MODEL_DIR", "DAM_ISNET_MODEL", "DAM_NANODET_MODEL", "DAM_AI_THREADS", "NUMBA_CACHE_DIR")


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=7, help="samples per size and side, in process and end to end "
                                                            "(1-30)")
    parser.add_argument("--count", type=int, default=6, help="cut-outs per throughput measurement (1-40)")
    parser.add_argument("--quick", action="store_true", help="a smoke run: --runs 2 --count 2")
    parser.add_argument("--broker", default="", help="Celery broker URL for the app's worker (e.g. "
                                                     "redis://127.0.0.1:6379/14); default: the filesystem broker "
                                                     "./dam start uses without CELERY_BROKER_URL")
    parser.add_argument("--profile", action="store_true", help="also cProfile one in-process cut-out at 2048")
    parser.add_argument("--keep", action="store_true", help="keep the temporary data directory")
    parser.add_argument("--bare-once", metavar="IMAGE", help=argparse.SUPPRESS)  # the bare peak-RSS child
    args = parser.parse_args(argv)
    if args.quick:
        args.runs, args.count = 2, 2
    args.runs = max(1, min(args.runs, 30))
    args.count = max(1, min(args.count, 40))
    return args


# --- the peer: a bare onnxruntime call ------------------------------------------------------

def bare_session(model_path: str, threads: int):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    return ort.InferenceSession(model_path, options, providers=["CPUExecutionProvider"])


def bare_cutout(session, path: str, timing: dict | None = None):
    """The model's documented use and nothing else: RGBA uint8 HxWx4 (`timing["model"]`: the
    seconds in session.run)."""
    import numpy as np
    from PIL import Image

    with Image.open(path) as im:
        rgb = im.convert("RGB")
    width, height = rgb.size
    x = np.asarray(rgb.resize((1024, 1024), Image.BILINEAR), np.float32)
    x = ((x - 128.0) / 256.0).transpose(2, 0, 1)[None]
    started = time.perf_counter()
    (out,) = session.run(["output"], {"input": np.ascontiguousarray(x)})
    if timing is not None:
        timing["model"] = time.perf_counter() - started
    matte = np.asarray(Image.fromarray(out[0, 0]).resize((width, height), Image.BILINEAR))
    alpha = (np.clip(matte, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
    return np.dstack([np.asarray(rgb), alpha])


def bare_once(path: str) -> int:
    """Child process: one bare cut-out; prints its peak RSS (kB)."""
    model = os.environ["BENCH_MODEL"]
    bare_cutout(bare_session(model, int(os.environ.get("BENCH_THREADS", "2"))), path)
    print(memory_kb(os.getpid()).get("VmHWM", 0))
    return 0


# --- the benchmark --------------------------------------------------------------------------

class Bench:
    def __init__(self, args):
        self.args = args
        self.var_dir = Path(tempfile.mkdtemp(prefix="dam-bench-bg-"))
        self.env = server_env(str(self.var_dir))
        for name in MODEL_SETTINGS:  # where the operator keeps the models (server_env drops DAM_*)
            if os.environ.get(name):
                self.env[name] = os.environ[name]
        if args.broker:
            self.env["CELERY_BROKER_URL"] = args.broker
        self.env["DAM_LOG_LEVEL"] = "WARNING"
        self.inputs: dict[tuple[str, int], Path] = {}
        self.results: dict = {"inproc": {}, "e2e": {}, "eager": {}, "throughput": {}, "rss": {}}
        self.server = self.worker = None
        self.key = self.secret = ""
        self.base = ""
        self.worker_log = self.var_dir / "celery.log"
        self.server_log = self.var_dir / "web.log"
        self.uploaded = 0

    def log(self, message: str) -> None:
        print(message, flush=True)

    # setup ---------------------------------------------------------------------------------

    def setup(self) -> None:
        for name in [k for k in os.environ if k not in self.env]:
            os.environ.pop(name)
        os.environ.update(self.env)
        import django

        django.setup()
        from transforms.ai import weights

        try:
            self.model_path = str(weights.require(weights.ISNET))
        except weights.ModelMissing as exc:
            raise SystemExit(f"{exc.message}\n(from the repository: .venv/bin/python manage.py fetch_models)")
        from django.conf import settings
        from django.core.management import call_command

        self.threads = int(settings.DAM_AI_THREADS)
        self.log(f"data directory {self.var_dir}; migrating ...")
        call_command("migrate", verbosity=0, interactive=False)
        self.key, self.secret = create_api_key(self.env)
        self.make_inputs()

    def make_inputs(self) -> None:
        import pyvips
        from skimage import data

        folder = self.var_dir / "inputs"
        folder.mkdir()
        for photo in PHOTOS:
            array = getattr(data, photo)()
            source = pyvips.Image.new_from_array(array, interpretation="srgb")
            for size in SIZES:
                scale = size / max(source.width, source.height)
                image = source.resize(scale, kernel="lanczos3")
                path = folder / f"{photo}-{size}.jpg"
                image.jpegsave(str(path), Q=92)
                self.inputs[(photo, size)] = path
        a = pyvips.Image.new_from_file(str(self.inputs[("astronaut", 2048)]))
        self.log(f"inputs: {len(self.inputs)} JPEGs, e.g. astronaut {a.width}x{a.height}")

    def sample(self, index: int, size: int) -> tuple[str, Path]:
        photo = PHOTOS[index % len(PHOTOS)]
        return photo, self.inputs[(photo, size)]

    # 1. in process ---------------------------------------------------------------------------

    def store_asset(self, path: Path, public_id: str):
        from assets import ingest

        copy = self.var_dir / f"incoming-{public_id.replace('/', '_')}.jpg"
        shutil.copyfile(path, copy)
        incoming = ingest.Incoming(str(copy), copy.stat().st_size, path.name, ingest.RemoveOnClose(copy))
        try:
            return ingest.store(incoming=incoming, public_id=public_id).asset
        finally:
            incoming.close()

    def ours_once(self, asset, timing: dict | None = None) -> float:
        """bgremoval.compute on a fresh row: the worker's whole job.  Returns seconds
        (`timing["model"]`: the seconds in transforms.ai.weights.run)."""
        from django.core.files.storage import storages

        from transforms.ai import bgremoval, weights
        from transforms.models import Cutout

        Cutout.objects.filter(asset=asset).delete()
        row = Cutout.objects.create(asset=asset, version_id=asset.version_id, options="")
        run, spent = weights.run, []

        def timed_run(*args, **kwargs):  # instrumentation only: the same call, timed
            begun = time.perf_counter()
            try:
                return run(*args, **kwargs)
            finally:
                spent.append(time.perf_counter() - begun)

        weights.run = timed_run
        try:
            started = time.perf_counter()
            outcome = bgremoval.compute(row.pk)
            elapsed = time.perf_counter() - started
        finally:
            weights.run = run
        if timing is not None:
            timing["model"] = sum(spent)
        row.refresh_from_db()
        if outcome != "done" or row.status != Cutout.DONE:
            raise RuntimeError(f"compute answered {outcome}: {row.error}")
        storages["derived"].delete(row.storage_name)
        return elapsed

    def in_process(self) -> None:
        session = bare_session(self.model_path, self.threads)
        assets = {key: self.store_asset(path, f"bench/inproc-{key[0]}-{key[1]}") for key, path in self.inputs.items()}
        self.log("in process: warming up both sides (sessions load) ...")
        self.ours_once(assets[("astronaut", 1024)])
        bare_cutout(session, str(self.inputs[("astronaut", 1024)]))
        for size in SIZES:
            got = {"ours": [], "bare": [], "ratios": [], "ours_outside": [], "bare_outside": []}
            for i in range(self.args.runs):
                photo, path = self.sample(i, size)
                pair, model = {}, {}
                order = ("ours", "bare") if i % 2 == 0 else ("bare", "ours")
                for side in order:
                    timing: dict = {}
                    if side == "ours":
                        pair[side] = self.ours_once(assets[(photo, size)], timing)
                    else:
                        started = time.perf_counter()
                        bare_cutout(session, str(path), timing)
                        pair[side] = time.perf_counter() - started
                    model[side] = timing["model"]
                for side in ("ours", "bare"):
                    got[side].append(pair[side])
                    got[f"{side}_outside"].append(pair[side] - model[side])
                got["ratios"].append(pair["ours"] / pair["bare"])
                self.log(f"  {size}px {photo}: ours {pair['ours']:.2f} s ({pair['ours'] - model['ours']:.3f} s "
                         f"outside the model), bare {pair['bare']:.2f} s ({pair['bare'] - model['bare']:.3f} s)")
            self.results["inproc"][size] = got
        if self.args.profile:
            self.profile(assets[("astronaut", 2048)])

    def profile(self, asset) -> None:
        import cProfile
        import io
        import pstats

        profiler = cProfile.Profile()
        profiler.enable()
        self.ours_once(asset)
        profiler.disable()
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(25)
        self.results["profile"] = out.getvalue()

    # 2. and 3. through the app -----------------------------------------------------------------

    def start_server(self) -> None:
        port = free_port()
        self.base = f"http://{HOST}:{port}"
        self.server = start_server(self.env, port, 2, self.server_log)
        wait_ready(self.server, self.base, self.server_log)

    def start_worker(self, concurrency: int, threads: int) -> None:
        """The Procfile's worker command, with its own queue name (and DAM_AI_THREADS)."""
        log = open(self.worker_log, "wb")
        try:
            self.worker = subprocess.Popen(
                [sys.executable, "-m", "celery", "-A", "config", "worker", "--loglevel", "INFO", "--concurrency",
                 str(concurrency), "-Q", self.env["DAM_CELERY_QUEUE"], "-n", f"bench-{os.getpid()}@%h"],
                cwd=ROOT, env={**self.env, "DAM_AI_THREADS": str(threads)}, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True)
        finally:
            log.close()
        deadline = time.monotonic() + 90
        while b" ready." not in self.worker_log.read_bytes():
            if self.worker.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"celery worker did not start:\n{self.worker_log.read_text()[-3000:]}")
            time.sleep(0.2)
        self.worker_concurrency = concurrency

    def stop_worker(self) -> None:
        if self.worker is not None:
            stop_server(self.worker)
            self.worker = None

    def upload(self, path: Path) -> str:
        self.uploaded += 1
        public_id = f"bench/e2e-{self.uploaded:03d}"
        _, status, result = upload_file(self.base, self.key, self.secret, path.read_bytes(), public_id, path.name)
        if status != 200:
            raise RuntimeError(f"upload of {path.name} failed: {status} {result}")
        return f"{self.base}/{CLOUD}/image/upload/e_background_removal/{public_id}.png"

    def wait_all(self, urls: list[str], started: float) -> list[float]:
        """Poll every URL until it answers 200; seconds from `started` to each first 200."""
        import requests

        done: dict[str, float] = {}
        deadline = time.monotonic() + CUTOUT_TIMEOUT * max(1, len(urls) / 2)
        with requests.Session() as http:
            while len(done) < len(urls):
                for url in urls:
                    if url in done:
                        continue
                    response = http.get(url, timeout=60)
                    if response.status_code == 200:
                        done[url] = time.perf_counter() - started
                    elif response.status_code != 423:
                        raise RuntimeError(f"{url}: {response.status_code} {response.headers.get('X-Cld-Error')}")
                if time.monotonic() > deadline:
                    raise RuntimeError(f"cut-outs not done in time:\n{self.worker_log.read_text()[-3000:]}")
                if len(done) < len(urls):
                    time.sleep(POLL)
        return [done[u] for u in urls]

    def eager_upload(self, path: Path) -> float:
        """A signed upload with ``eager=e_background_removal/png`` (synchronous: the cut-out is
        computed in the request); seconds until the response, which must report the rendering."""
        import requests

        from _common import sign

        self.uploaded += 1
        params = {"public_id": f"bench/eager-{self.uploaded:03d}", "eager": "e_background_removal/png",
                  "timestamp": str(int(time.time()))}
        data = {**params, "signature": sign(params, self.secret), "api_key": self.key}
        started = time.perf_counter()
        response = requests.post(f"{self.base}/v1_1/{CLOUD}/image/upload", data=data,
                                 files={"file": (path.name, path.read_bytes(), "image/jpeg")}, timeout=CUTOUT_TIMEOUT)
        elapsed = time.perf_counter() - started
        eager = response.json().get("eager") if response.status_code == 200 else None
        if not eager or not eager[0].get("bytes"):
            raise RuntimeError(f"eager upload of {path.name}: {response.status_code} {response.text[:300]}")
        return elapsed

    def eager_uploads(self) -> None:
        for size in SIZES:
            times = []
            for i in range(self.args.runs):
                photo, path = self.sample(i, size)
                times.append(self.eager_upload(path))
                self.log(f"  sync eager upload {size}px {photo}: answered after {times[-1]:.2f} s")
            self.results["eager"][size] = times
        self.results["rss"]["web"] = sorted((memory_kb(pid).get("VmHWM", 0) for pid in children(self.server.pid)),
                                            reverse=True)

    def first_request(self, url: str) -> None:
        import requests

        response = requests.get(url, timeout=60)
        if response.status_code != 423:
            raise RuntimeError(f"{url}: expected 423 first, got {response.status_code} "
                               f"{response.headers.get('X-Cld-Error')}")

    def end_to_end(self) -> None:
        for size in SIZES:
            times = []
            for i in range(self.args.runs):
                photo, path = self.sample(i, size)
                url = self.upload(path)
                started = time.perf_counter()
                self.first_request(url)
                (elapsed,) = self.wait_all([url], started)
                times.append(elapsed)
                self.log(f"  end to end {size}px {photo}: first 200 after {elapsed:.2f} s")
            self.results["e2e"][size] = times

    def worker_pool(self) -> list[int]:
        return children(self.worker.pid) if self.worker is not None else []

    def warm_pool(self, concurrency: int) -> None:
        """One 1024 px cut-out per pool process (not timed): each loads its model session."""
        warm = [self.upload(self.sample(i, 1024)[1]) for i in range(concurrency)]
        started = time.perf_counter()
        for url in warm:
            self.first_request(url)
        self.wait_all(warm, started)

    def throughput(self, concurrency: int, threads: int) -> None:
        key = (concurrency, threads)
        urls = [self.upload(self.sample(i, 2048)[1]) for i in range(self.args.count)]
        peaks: dict[int, int] = {}
        stop = threading.Event()

        def watch():
            while not stop.is_set():
                for pid in self.worker_pool():
                    peaks[pid] = max(peaks.get(pid, 0), memory_kb(pid).get("VmHWM", 0))
                stop.wait(0.2)

        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        started = time.perf_counter()
        try:
            for url in urls:
                self.first_request(url)
            times = self.wait_all(urls, started)
        finally:
            stop.set()
            watcher.join(5)
        for pid in self.worker_pool():
            peaks[pid] = max(peaks.get(pid, 0), memory_kb(pid).get("VmHWM", 0))
        wall = max(times)
        self.results["throughput"][key] = {"count": len(urls), "wall": wall, "per_minute": len(urls) / wall * 60}
        self.results["rss"][key] = sorted(peaks.values(), reverse=True)
        self.log(f"  throughput at concurrency {concurrency}, {threads} threads: {len(urls)} cut-outs in {wall:.1f} s; "
                 f"pool peak RSS {', '.join(f'{kb / 1024:.0f} MB' for kb in self.results['rss'][key])}")

    def bare_rss(self) -> None:
        env = {**os.environ, "BENCH_MODEL": self.model_path, "BENCH_THREADS": str(self.threads)}
        out = subprocess.run([sys.executable, __file__, "--bare-once", str(self.inputs[("astronaut", 2048)])],
                             env=env, capture_output=True, text=True, timeout=300, check=True)
        self.results["rss"]["bare"] = int(out.stdout.split()[-1])

    def through_the_app(self) -> None:
        self.start_server()
        self.start_worker(2, self.threads)
        self.log(f"web server on {self.base}, celery worker (concurrency 2, broker "
                 f"{self.env.get('CELERY_BROKER_URL', 'filesystem://')}); warming up the pool ...")
        self.warm_pool(2)
        self.end_to_end()
        self.eager_uploads()
        self.throughput(2, self.threads)  # the Procfile's pool with the default DAM_AI_THREADS
        for concurrency, threads in ((1, self.threads), (2, 1)):
            self.stop_worker()
            self.start_worker(concurrency, threads)
            self.warm_pool(concurrency)
            self.throughput(concurrency, threads)

    def cleanup(self) -> None:
        self.stop_worker()
        if self.server is not None:
            stop_server(self.server)
        if self.args.keep:
            self.log(f"kept {self.var_dir}")
        else:
            shutil.rmtree(self.var_dir, ignore_errors=True)

    # report ------------------------------------------------------------------------------------

    def machine(self) -> str:
        import onnxruntime

        return (f"{machine_description()}, onnxruntime {onnxruntime.__version__} "
                f"({self.threads} intra-op threads, both sides)")


def _s(seconds: float) -> str:
    return f"{seconds:.2f} s"


def _mb(kb: int) -> str:
    return f"{kb / 1024:.0f} MB"


def rows(r: dict, runs: int) -> list[tuple[str, ...]]:
    out = []
    for size, got in r["inproc"].items():
        ours, bare = statistics.median(got["ours"]), statistics.median(got["bare"])
        overhead = statistics.median(got["ratios"]) - 1
        out.append((f"latency in process, {size} px long side, median of {len(got['ours'])}", _s(ours), _s(bare),
                    "-", "-"))
        out.append((f"pipeline overhead at {size} px (median of paired ours/bare - 1)", f"{overhead * 100:+.1f}%",
                    "-", f"<= {OVERHEAD_GOAL * 100:.0f}%", "yes" if overhead <= OVERHEAD_GOAL else "**NO**"))
        ours_out, bare_out = statistics.median(got["ours_outside"]), statistics.median(got["bare_outside"])
        fastest = min(got["bare"])
        steady = (ours_out - bare_out) / fastest
        out.append((f"time outside session.run at {size} px (median); overhead it makes over the fastest bare run "
                    f"({_s(fastest)}; conservative)", f"{ours_out * 1000:.0f} ms ({steady * 100:+.1f}%)",
                    f"{bare_out * 1000:.0f} ms", f"<= {OVERHEAD_GOAL * 100:.0f}%",
                    "yes" if steady <= OVERHEAD_GOAL else "**NO**"))
    for size, times in r["e2e"].items():
        out.append((f"end to end {size} px: upload, GET -> 423, poll, first 200 (median of {len(times)}; "
                    f"min-max {min(times):.2f}-{max(times):.2f} s)", _s(statistics.median(times)), "-", "-", "-"))
    for size, times in r["eager"].items():
        out.append((f"upload with eager=e_background_removal/png at {size} px, synchronous: the model runs in "
                    f"the request (median of {len(times)}; min-max {min(times):.2f}-{max(times):.2f} s)",
                    _s(statistics.median(times)), "-", "-", "-"))
    for (concurrency, threads), got in r["throughput"].items():
        out.append((f"throughput, {got['count']} cut-outs at 2048 px, worker concurrency {concurrency}, "
                    f"DAM_AI_THREADS={threads}", f"{got['per_minute']:.1f} cut-outs/min ({got['wall']:.1f} s)", "-",
                    "-", "-"))
    for (concurrency, threads) in r["throughput"]:
        peaks = r["rss"].get((concurrency, threads))
        if peaks:
            label = (f"peak RSS of the worker process computing at 2048 px (concurrency {concurrency}, "
                     f"{threads} threads{', each child; sum ' + _mb(sum(peaks)) if len(peaks) > 1 else ''})")
            bare = _mb(r["rss"]["bare"]) if concurrency == 1 and r["rss"].get("bare") else "-"
            out.append((label, " / ".join(_mb(kb) for kb in peaks), bare, "-", "-"))
    if r["rss"].get("web"):
        out.append(("peak RSS of the web workers after the synchronous eager uploads (each)",
                    " / ".join(_mb(kb) for kb in r["rss"]["web"]), "-", "-", "-"))
    return out


def print_report(bench: Bench, load: tuple[float, float], commit: str) -> None:
    r = bench.results
    print()
    print(f"Background-removal benchmark, {datetime.date.today().isoformat()}; {bench.machine()}; "
          f"commit {commit}; load average {load[0]:.2f} at the start, {load[1]:.2f} at the end")
    print("ours: transforms.ai.bgremoval.compute (open original, normalise, scale, ISNet, matte, PNG, store, "
          "record); bare: the same ONNX file with onnxruntime directly (Pillow decode, resize, normalise, run, "
          "resize back, RGBA array). Through the app: the web command (granian) x2 + Celery prefork pool, SQLite, local storage, "
          f"broker {bench.env.get('CELERY_BROKER_URL', 'filesystem://')}, polls every {POLL} s.")
    print()
    header = ("metric", "ours", "bare onnxruntime", "goal", "met?")
    print("| " + " | ".join(header) + " |")
    print("|" + "|".join("---" for _ in header) + "|")
    for row in rows(r, bench.args.runs):
        print("| " + " | ".join(row) + " |")
    if r.get("profile"):
        print()
        print("cProfile of one in-process cut-out at 2048 px (cumulative):")
        print(r["profile"])


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.bare_once:
        return bare_once(args.bare_once)
    raise_on_sigterm()
    bench = Bench(args)
    try:
        start_load = os.getloadavg()[0]
        commit = snapshot_id("HEAD")[:10]
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "transforms", "assets", "bench"], cwd=ROOT,
                               capture_output=True, text=True, timeout=30).stdout.strip()
        bench.setup()
        bench.in_process()
        bench.through_the_app()
        bench.bare_rss()
        print_report(bench, (start_load, os.getloadavg()[0]), commit + ("+worktree" if dirty else ""))
        return 0
    finally:
        bench.cleanup()


if __name__ == "__main__":
    sys.exit(main())
