"""Upload API benchmark against the production server configuration.

    .venv/bin/python bench/upload.py [--count 20] [--threads 2] [--time-budget 300] [--keep]

Starts gunicorn (``config.wsgi:application``, 2 workers) on 127.0.0.1 and a free port,
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
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

HOST = "127.0.0.1"  # loopback only
CLOUD = "demo"
WIDTH, HEIGHT = 4000, 3000
STARTUP_TIMEOUT = 60.0
REQUEST_TIMEOUT = 120.0
READ_RUNS = 7


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=20, help="uploads to time (1-200)")
    parser.add_argument("--threads", type=int, default=2, help="concurrent client threads (1-8)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (1-8)")
    parser.add_argument("--time-budget", type=float, default=300.0, help="seconds for the upload phase")
    parser.add_argument("--keep", action="store_true", help="keep the temporary data directory")
    args = parser.parse_args()
    args.count = max(1, min(args.count, 200))
    args.threads = max(1, min(args.threads, 8))
    args.workers = max(1, min(args.workers, 8))
    args.time_budget = max(10.0, min(args.time_budget, 1800.0))
    return args


def server_env(var_dir: str) -> dict:
    """The production settings, pointed at `var_dir` and nothing else."""
    env = {k: v for k, v in os.environ.items() if not (k.startswith(("DAM_", "DJANGO_", "CELERY_", "AWS_"))
                                                     or k in ("DATABASE_URL", "CLOUDINARY_URL"))}
    env.update({
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DAM_VAR_DIR": var_dir,
        "DAM_CLOUD_NAME": CLOUD,
        "DAM_STORAGE": "local",
        "DAM_DEBUG": "0",
        "DAM_LOG_LEVEL": "WARNING",
        "DAM_CELERY_QUEUE": f"dam-bench-{os.getpid()}",
        "PYTHONUNBUFFERED": "1",
    })
    return env


def manage(env: dict, *args: str, timeout: float = 300.0) -> str:
    result = subprocess.run([sys.executable, str(ROOT / "manage.py"), *args], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=timeout)
    if result.returncode != 0:
        raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


def create_api_key(env: dict) -> tuple[str, str]:
    code = "from assets.models import ApiKey; k = ApiKey.objects.create(name='bench'); print('KEY', k.key, k.secret)"
    out = manage(env, "shell", "-c", code, timeout=120)
    line = next(line for line in out.splitlines() if line.startswith("KEY "))
    _, key, secret = line.split()
    return key, secret


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def start_server(env: dict, port: int, workers: int, log_path: Path) -> subprocess.Popen:
    gunicorn = Path(sys.executable).with_name("gunicorn")
    command = [str(gunicorn), "config.wsgi:application", "--bind", f"{HOST}:{port}", "--workers", str(workers),
               "--timeout", str(int(REQUEST_TIMEOUT)), "--graceful-timeout", "10", "--log-level", "warning"]
    log = open(log_path, "wb")
    try:
        return subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    finally:
        log.close()


def wait_ready(proc: subprocess.Popen, base: str, log_path: Path) -> None:
    import requests

    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {proc.returncode}:\n{log_path.read_text(errors='replace')}")
        try:
            # GET on the upload endpoint answers 405: enough to know a worker is serving.
            requests.get(f"{base}/v1_1/{CLOUD}/image/upload", timeout=2)
            return
        except requests.RequestException:
            time.sleep(0.2)
    raise RuntimeError(f"gunicorn did not answer within {STARTUP_TIMEOUT:.0f}s")


def stop_server(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()  # the gunicorn master stops its workers on SIGTERM
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def make_photo(path: Path) -> int:
    """A 4000x3000 photo: scikit-image's astronaut upscaled, with fine grain so it compresses like one."""
    import pyvips
    from skimage import data

    source = data.astronaut()  # 512x512 RGB
    image = pyvips.Image.new_from_array(source, interpretation="srgb")
    image = image.resize(WIDTH / image.width, vscale=HEIGHT / image.height, kernel="lanczos3")
    grain = pyvips.Image.gaussnoise(WIDTH, HEIGHT, sigma=6, mean=0)
    image = (image + grain).cast("uchar").copy(interpretation="srgb")
    image.jpegsave(str(path), Q=90)
    return path.stat().st_size


def sign(params: dict, secret: str) -> str:
    from assets import signing

    return signing.sign_params(params, secret, "sha1")


def upload_once(base: str, key: str, secret: str, body: bytes, public_id: str) -> tuple[float, int, str]:
    import requests

    params = {"public_id": public_id, "timestamp": str(int(time.time()))}
    data = {**params, "signature": sign(params, secret), "api_key": key}
    start = time.perf_counter()
    try:
        response = requests.post(f"{base}/v1_1/{CLOUD}/image/upload", data=data,
                                 files={"file": ("photo.jpg", body, "image/jpeg")}, timeout=REQUEST_TIMEOUT)
    except requests.RequestException as exc:
        return time.perf_counter() - start, 0, f"{exc.__class__.__name__}: {exc}"
    elapsed = time.perf_counter() - start
    if response.status_code != 200:
        return elapsed, response.status_code, response.text[:200]
    result = response.json()
    if (result.get("width"), result.get("height")) != (WIDTH, HEIGHT):
        return elapsed, response.status_code, f"unexpected size {result.get('width')}x{result.get('height')}"
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


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = (len(ordered) - 1) * q
    low, high = int(rank), min(int(rank) + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def median_time(fn, runs: int = READ_RUNS) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


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
        ("imageinfo.probe (header only)", median_time(lambda: imageinfo.probe(str(path)))),
        ("imageinfo.verify (shrink-on-load check)", median_time(lambda: imageinfo.verify(str(path), info))),
        ("pyvips full decode .avg()", median_time(lambda: pyvips.Image.new_from_file(
            str(path), access="sequential").avg())),
        ("Pillow open().load()", median_time(pillow_load)),
    ]


def print_report(args, size: int, latencies, errors, wall, reads) -> None:
    ok = len(latencies)
    mb = size / 1e6
    print()
    print(f"Upload API: {args.count} x {WIDTH}x{HEIGHT} ({WIDTH * HEIGHT / 1e6:.0f} MP) JPEG of {mb:.2f} MB, "
          f"{args.threads} client threads, gunicorn {args.workers} workers, 127.0.0.1")
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
        size = make_photo(photo)
        port = free_port()
        log_path = Path(var_dir) / "gunicorn.log"
        proc = start_server(env, port, args.workers, log_path)
        base = f"http://{HOST}:{port}"
        wait_ready(proc, base, log_path)
        print(f"gunicorn pid {proc.pid} on {base}; uploading ...", flush=True)
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
        if proc is not None:
            stop_server(proc)
        if args.keep:
            print(f"kept {var_dir}")
        else:
            shutil.rmtree(var_dir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
