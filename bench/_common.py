"""Shared pieces of the benchmarks: our server (the Procfile's web command) on a throwaway data
directory, test photos, signed uploads, process memory and small statistics.

Only 127.0.0.1 is ever contacted; every wait is bounded in time.
"""

from __future__ import annotations

import os
import signal
import socket
import statistics
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

HOST = "127.0.0.1"  # loopback only
CLOUD = "demo"
STARTUP_TIMEOUT = 60.0
REQUEST_TIMEOUT = 120.0


# --- our server -----------------------------------------------------------------------

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


def manage(env: dict, *args: str, timeout: float = 300.0, root: Path = ROOT) -> str:
    result = subprocess.run([sys.executable, str(root / "manage.py"), *args], cwd=root, env=env,
                            capture_output=True, text=True, timeout=timeout)
    if result.returncode != 0:
        raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


def create_api_key(env: dict, root: Path = ROOT) -> tuple[str, str]:
    code = "from assets.models import ApiKey; k = ApiKey.objects.create(name='bench'); print('KEY', k.key, k.secret)"
    out = manage(env, "shell", "-c", code, timeout=120, root=root)
    line = next(line for line in out.splitlines() if line.startswith("KEY "))
    _, key, secret = line.split()
    return key, secret


def machine_description() -> str:
    """'2 cores (CPU model), 24 GiB, Python 3.11.7, libvips 8.18.7': the head of each table."""
    import platform

    import pyvips

    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor() or "?")
    memory = int(Path("/proc/meminfo").read_text().split()[1]) / 1024 / 1024
    return (f"{os.cpu_count()} cores ({cpu}), {memory:.0f} GiB, Python {platform.python_version()}, "
            f"libvips {pyvips.version(0)}.{pyvips.version(1)}.{pyvips.version(2)}")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def web_command(root: Path = ROOT) -> str:
    """The Procfile's ``web:`` line in `root` (the production web server command), with
    ``.venv/bin/`` meaning this interpreter's bin directory (a snapshot has no .venv)."""
    for line in (root / "Procfile").read_text().splitlines():
        if line.startswith("web:"):
            command = line.split(":", 1)[1].strip()
            return command.replace(".venv/bin/", f"{Path(sys.executable).parent}/", 1)
    raise RuntimeError(f"{root}/Procfile has no web: line")


def server_description(root: Path = ROOT) -> str:
    """What the Procfile's web command runs, e.g. "granian (WSGI), 4 threads per worker"."""
    command = web_command(root)
    program = Path(command.split()[0]).name
    if program == "granian":
        return "granian (WSGI), DAM_WEB_THREADS (default 8) threads per worker"
    return program


def start_server(env: dict, port: int, workers: int, log_path: Path, root: Path = ROOT) -> subprocess.Popen:
    """The Procfile's web command from `root` (the production server and its settings), on
    127.0.0.1:`port` with `workers` worker processes."""
    env = {**env, "DAM_HOST": HOST, "DAM_PORT": str(port), "DAM_WEB_WORKERS": str(workers)}
    log = open(log_path, "ab")
    try:
        return subprocess.Popen(["bash", "-c", "exec " + web_command(root)], cwd=root, env=env, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)  # stop_server ends the group
    finally:
        log.close()


def wait_http(proc: subprocess.Popen, url: str, log_path: Path, name: str, timeout: float = STARTUP_TIMEOUT) -> None:
    """Until `url` answers anything (any status), or raise with the server's log."""
    import requests

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{name} exited with {proc.returncode}:\n{log_path.read_text(errors='replace')}")
        try:
            requests.get(url, timeout=2)
            return
        except requests.RequestException:
            time.sleep(0.2)
    raise RuntimeError(f"{name} did not answer within {timeout:.0f}s:\n{log_path.read_text(errors='replace')}")


def wait_ready(proc: subprocess.Popen, base: str, log_path: Path) -> None:
    # GET on the upload endpoint answers 405: enough to know a worker is serving.
    wait_http(proc, f"{base}/v1_1/{CLOUD}/image/upload", log_path, "our server")


def tear_down(proc: subprocess.Popen | None, var_dir, keep: bool) -> None:
    """Stop our server (if it started) and remove its data directory unless `keep`."""
    if proc is not None:
        stop_server(proc)
    if keep:
        print(f"kept {var_dir}")
    else:
        shutil.rmtree(var_dir, ignore_errors=True)


def stop_server(proc: subprocess.Popen) -> None:
    """SIGTERM to the server's whole process group (it was started in its own session:
    thumbor's forked processes outlive their parent otherwise), then SIGKILL."""
    def signal_group(sig) -> None:
        try:
            os.killpg(proc.pid, sig)  # the group id is the leader's pid
        except (ProcessLookupError, PermissionError):
            pass

    if proc.poll() is None:
        signal_group(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            signal_group(signal.SIGKILL)
            proc.wait(timeout=10)
    # children left in the group after their parent went (e.g. forks that ignored SIGTERM)
    deadline = time.monotonic() + 10
    while _group_alive(proc.pid) and time.monotonic() < deadline:
        signal_group(signal.SIGTERM if time.monotonic() < deadline - 5 else signal.SIGKILL)
        time.sleep(0.2)


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
        return True
    except (ProcessLookupError, PermissionError):
        return False


def raise_on_sigterm() -> None:
    """SIGTERM behaves like Ctrl-C, so `finally` blocks stop the servers and clean up."""
    def handler(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, handler)


def snapshot_id(ref: str) -> str:
    return subprocess.run(["git", "rev-parse", ref], cwd=ROOT, capture_output=True, text=True,
                          check=True, timeout=30).stdout.strip()


def snapshot(ref: str, dest: Path) -> str:
    """Export the committed tree at `ref` into `dest` (no .git): the code a benchmark serves,
    untouched by uncommitted edits.  Returns the commit id."""
    commit = snapshot_id(ref)
    dest.mkdir(parents=True)
    archive = subprocess.Popen(["git", "archive", "--format=tar", commit], cwd=ROOT, stdout=subprocess.PIPE)
    subprocess.run(["tar", "-x", "-C", str(dest)], stdin=archive.stdout, check=True, timeout=120)
    archive.stdout.close()
    if archive.wait(timeout=30) != 0:
        raise RuntimeError(f"git archive {commit} failed")
    return commit


def create_database(admin_url: str) -> str:
    """A fresh PostgreSQL database on the server of `admin_url` (e.g.
    postgres://postgres@127.0.0.1:5432/postgres); returns its URL.  Drop it with drop_database."""
    from urllib.parse import urlsplit, urlunsplit

    import psycopg

    name = f"dam_bench_{os.getpid()}_{int(time.time())}"
    with psycopg.connect(admin_url, autocommit=True, connect_timeout=10) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    parts = urlsplit(admin_url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def drop_database(admin_url: str, url: str) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1]
    assert name.startswith("dam_bench_"), name  # only ever what create_database made
    with psycopg.connect(admin_url, autocommit=True, connect_timeout=10) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def log(message: str) -> None:
    """A progress line with the time, flushed at once (a benchmark runs for minutes)."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def our_server(ref: str, tmp: Path) -> tuple[str, Path, dict, str, str]:
    """Our server at `ref` exported into tmp/src, its data in tmp/var, migrated, with an API key:
    (commit, src, env, key, secret), ready for start_server(env, ..., root=src)."""
    src = tmp / "src"
    commit = snapshot(ref, src)
    env = server_env(str(tmp / "var"))
    log(f"our server: snapshot of {commit[:10]}; migrating ...")
    manage(env, "migrate", "--noinput", root=src)
    key, secret = create_api_key(env, root=src)
    return commit, src, env, key, secret


# --- test data ------------------------------------------------------------------------

def make_photo(path: Path, width: int = 4000, height: int = 3000, quality: int = 90) -> int:
    """A photo of `width` x `height`: scikit-image's astronaut upscaled, with fine grain so
    it compresses like one.  Returns the file size."""
    import pyvips
    from skimage import data

    source = data.astronaut()  # 512x512 RGB
    image = pyvips.Image.new_from_array(source, interpretation="srgb")
    image = image.resize(width / image.width, vscale=height / image.height, kernel="lanczos3")
    grain = pyvips.Image.gaussnoise(width, height, sigma=6, mean=0)
    image = (image + grain).cast("uchar").copy(interpretation="srgb")
    image.jpegsave(str(path), Q=quality)
    return path.stat().st_size


def sign(params: dict, secret: str) -> str:
    from assets import signing

    return signing.sign_params(params, secret, "sha1")


def upload_file(base: str, key: str, secret: str, body: bytes, public_id: str, filename: str = "photo.jpg",
                extra: dict | None = None):
    """One signed Upload API call (with the `extra` parameters, signed too): (seconds, status,
    JSON result or error text)."""
    import requests

    params = {"public_id": public_id, "timestamp": str(int(time.time())), **(extra or {})}
    data = {**params, "signature": sign(params, secret), "api_key": key}
    start = time.perf_counter()
    try:
        response = requests.post(f"{base}/v1_1/{CLOUD}/image/upload", data=data,
                                 files={"file": (filename, body, "image/jpeg")}, timeout=REQUEST_TIMEOUT)
    except requests.RequestException as exc:
        return time.perf_counter() - start, 0, f"{exc.__class__.__name__}: {exc}"
    elapsed = time.perf_counter() - start
    if response.status_code != 200:
        return elapsed, response.status_code, response.text[:200]
    return elapsed, 200, response.json()


# --- processes ------------------------------------------------------------------------

def children(pid: int) -> list[int]:
    """Direct children of `pid` (our server's workers, thumbor's forks)."""
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
        return [int(p) for p in text.split()]
    except OSError:
        found = []
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    status = (entry / "status").read_text()
                except OSError:
                    continue
                if f"\nPPid:\t{pid}\n" in status:
                    found.append(int(entry.name))
        return found


def memory_kb(pid: int) -> dict[str, int]:
    """VmRSS (now) and VmHWM (peak RSS over the process's life), in kB."""
    out = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            name, _, value = line.partition(":")
            if name in ("VmRSS", "VmHWM"):
                out[name] = int(value.split()[0])
    except OSError:
        pass
    return out


# --- statistics -----------------------------------------------------------------------

def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = (len(ordered) - 1) * q
    low, high = int(rank), min(int(rank) + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def median_time(fn, runs: int = 7) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)
