"""Upload API benchmark against the production server configuration.

    .venv/bin/python bench/upload.py [--count 20] [--threads 2] [--time-budget 300] [--keep]

Starts our server (the Procfile's web command, 2 workers) on 127.0.0.1 and a free port,
against a fresh temporary DAM_VAR_DIR (migrated, with its own API key), so no real
data is touched.  Generates a 12-megapixel JPEG, uploads it ``--count`` times with
signed multipart requests from ``--threads`` client threads, and prints throughput
and latency; then times reading the same file's header (``assets.imageinfo.probe``)
against full decodes (pyvips ``.avg()``, Pillow ``.load()``).  The server is always
stopped and the directory removed at the end.  Every loop is bounded in count and time.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (HOST, create_api_key, free_port, make_photo, manage, median_time,  # noqa: E402
                     percentile, server_env, start_server, stop_server, tear_down, upload_file, wait_ready)

WIDTH, HEIGHT = 4000, 3000
READ_RUNS = 7


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=20, help="uploads to time (1-200)")
    parser.add_argument("--threads", type=int, default=2, help="concurrent client threads (1-8)")
    parser.add_argument("--workers", type=int, default=2, help="web worker processes (1-8)")
    parser.add_argument("--time-budget", type=float, default=300.0, help="seconds for the upload phase")
    parser.add_argument("--keep", action="store_true", help="keep the temporary data directory")
    args = parser.parse_args()
    args.count = max(1, min(args.count, 200))
    args.threads = max(1, min(args.threads, 8))
    args.workers = max(1, min(args.workers, 8))
    args.time_budget = max(10.0, min(args.time_budget, 1800.0))
    return args


def upload_once(base: str, key: str, secret: str, body: bytes, public_id: str) -> tuple[float, int, str]:
    elapsed, status, result = upload_file(base, key, secret, body, public_id)
    if status != 200:
        return elapsed, status, result
    if (result.get("width"), result.get("height")) != (WIDTH, HEIGHT):
        return elapsed, status, f"unexpected size {result.get('width')}x{result.get('height')}"
    return elapsed, 200, ""


def run_uploads(base: str, key: str, secret: str, body: bytes, count: int, threads: int, budget: float):
    deadline = time.monotonic() + budget
    latencies: list[float] = []
    errors: list[str] = []

    def job(index: int):
        if time.monotonic() > deadline:
            return None  # out of time: skipped, not counted
        return upload_once(base, key, secret, body, f"bench/photo_{index:03d}")

    # warm-up (not timed): one request per client thread
    with ThreadPoolExecutor(max_workers=threads) as pool:
        list(pool.map(lambda i: upload_once(base, key, secret, body, f"bench/warmup_{i}"), range(threads)))
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=threads) as pool:
        for outcome in pool.map(job, range(count)):
            if outcome is None:
                errors.append("skipped: time budget exhausted")
                continue
            elapsed, status, message = outcome
            if status == 200:
                latencies.append(elapsed)
            else:
                errors.append(f"{status} {message}")
    wall = time.perf_counter() - started
    return latencies, errors, wall


def time_reads(path: Path) -> list[tuple[str, float]]:
    import django

    django.setup()
    import pyvips
    from PIL import Image

    from assets import imageinfo

    pyvips.cache_set_max(0)  # every run really opens and decodes the file
    Image.MAX_IMAGE_PIXELS = None
    info = imageinfo.probe(str(path))
    assert (info.width, info.height) == (WIDTH, HEIGHT), info

    def pillow_load():
        with Image.open(path) as im:
            im.load()

    return [
        ("imageinfo.probe (header only)", median_time(lambda: imageinfo.probe(str(path)), READ_RUNS)),
        ("imageinfo.verify (shrink-on-load check)", median_time(lambda: imageinfo.verify(str(path), info), READ_RUNS)),
        ("pyvips full decode .avg()", median_time(lambda: pyvips.Image.new_from_file(
            str(path), access="sequential").avg())),
        ("Pillow open().load()", median_time(pillow_load, READ_RUNS)),
    ]


def print_report(args, size: int, latencies, errors, wall, reads) -> None:
    ok = len(latencies)
    mb = size / 1e6
    print()
    print(f"Upload API: {args.count} x {WIDTH}x{HEIGHT} ({WIDTH * HEIGHT / 1e6:.0f} MP) JPEG of {mb:.2f} MB, "
          f"{args.threads} client threads, {args.workers} web workers (the Procfile's web command), 127.0.0.1")
    rows = [
        ("uploads ok", f"{ok}/{args.count}"),
        ("wall time", f"{wall:.2f} s"),
        ("throughput", f"{ok / wall:.2f} uploads/s" if wall > 0 else "n/a"),
        ("throughput", f"{ok * mb / wall:.1f} MB/s" if wall > 0 else "n/a"),
        ("latency p50", f"{percentile(latencies, 0.50) * 1000:.0f} ms"),
        ("latency p95", f"{percentile(latencies, 0.95) * 1000:.0f} ms"),
        ("latency max", f"{max(latencies) * 1000:.0f} ms" if latencies else "n/a"),
    ]
    width = max(len(name) for name, _ in rows)
    print(f"  {'metric':<{width}}  value")
    print(f"  {'-' * width}  {'-' * 20}")
    for name, value in rows:
        print(f"  {name:<{width}}  {value}")
    for message in errors[:5]:
        print(f"  error: {message}")
    if reads:
        print()
        print(f"Reading the same file (median of {READ_RUNS} runs, one thread)")
        width = max(len(name) for name, _ in reads)
        base = reads[0][1]
        print(f"  {'operation':<{width}}  {'time':>10}  {'x probe':>8}")
        print(f"  {'-' * width}  {'-' * 10}  {'-' * 8}")
        for name, seconds in reads:
            print(f"  {name:<{width}}  {seconds * 1000:>7.2f} ms  {seconds / base:>8.0f}")


def main() -> int:
    args = parse_args()
    var_dir = tempfile.mkdtemp(prefix="dam-bench-")
    env = server_env(var_dir)
    proc = None
    try:
        print(f"data directory {var_dir}; migrating ...", flush=True)
        manage(env, "migrate", "--noinput")
        key, secret = create_api_key(env)
        photo = Path(var_dir) / "photo-12mp.jpg"
        size = make_photo(photo, WIDTH, HEIGHT)
        port = free_port()
        log_path = Path(var_dir) / "web.log"
        proc = start_server(env, port, args.workers, log_path)
        base = f"http://{HOST}:{port}"
        wait_ready(proc, base, log_path)
        print(f"web server pid {proc.pid} on {base}; uploading ...", flush=True)
        latencies, errors, wall = run_uploads(base, key, secret, photo.read_bytes(), args.count, args.threads,
                                              args.time_budget)
        stop_server(proc)
        # the bench process reads the file with the same settings the server used
        for name in [k for k in os.environ if k not in env]:
            os.environ.pop(name)
        os.environ.update(env)
        reads = time_reads(photo)
        print_report(args, size, latencies, errors, wall, reads)
        return 0 if latencies and not errors else 1
    finally:
        tear_down(proc, var_dir, args.keep)


if __name__ == "__main__":
    sys.exit(main())
