"""thumbor for side-by-side benchmarks: its own virtualenv (from PyPI, made once and
kept outside the repository), a config with the file loader and file result storage,
and a server on 127.0.0.1.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from _common import HOST, wait_http

THUMBOR_VERSION = "7.8.0"  # the newest release that installs on Python 3.11 here
VENV = Path(os.environ.get("DAM_BENCH_CACHE", Path.home() / ".cache" / "dam-bench")) / "thumbor-venv"
INSTALL_TIMEOUT = 900.0


def _python_for_venv() -> str:
    """A Python 3.11+ interpreter that is not our project's venv (a clean base)."""
    base = getattr(sys, "_base_executable", None) or sys.executable
    return base


def ensure_venv(log=print) -> Path:
    """The thumbor executable, installing thumbor from PyPI into VENV the first time."""
    thumbor = VENV / "bin" / "thumbor"
    marker = VENV / f".thumbor-{THUMBOR_VERSION}"
    if thumbor.exists() and marker.exists():
        return thumbor
    log(f"creating {VENV} with thumbor {THUMBOR_VERSION} from PyPI (once) ...")
    VENV.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run([_python_for_venv(), "-m", "venv", "--clear", str(VENV)], check=True, timeout=300)
    result = subprocess.run([str(VENV / "bin" / "pip"), "install", "--quiet", f"thumbor=={THUMBOR_VERSION}"],
                            capture_output=True, text=True, timeout=INSTALL_TIMEOUT)
    if result.returncode != 0:
        raise RuntimeError(f"pip install thumbor failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    marker.touch()
    return thumbor


def pillow_version() -> str:
    out = subprocess.run([str(VENV / "bin" / "python"), "-c", "import PIL; print(PIL.__version__)"],
                         capture_output=True, text=True, timeout=60)
    return out.stdout.strip() or "?"


def write_config(path: Path, images: Path, results: Path, quality: int = 80) -> Path:
    """File loader on `images`, file result storage on `results` (unsafe URLs stored too),
    no source storage, output settings matched to ours (JPEG q80, baseline, EXIF dropped)."""
    path.write_text(f"""\
LOADER = 'thumbor.loaders.file_loader'
FILE_LOADER_ROOT_PATH = {str(images)!r}
STORAGE = 'thumbor.storages.no_storage'
RESULT_STORAGE = 'thumbor.result_storages.file_storage'
RESULT_STORAGE_FILE_STORAGE_ROOT_PATH = {str(results)!r}
RESULT_STORAGE_STORES_UNSAFE = True
RESULT_STORAGE_EXPIRATION_SECONDS = 0
ALLOW_UNSAFE_URL = True
SECURITY_KEY = 'bench-only'
ENGINE = 'thumbor.engines.pil'
QUALITY = {quality}
PROGRESSIVE_JPEG = False
PRESERVE_EXIF_INFO = False
AUTO_WEBP = False
RESPECT_ORIENTATION = True
MAX_PIXELS = 100000000
""")
    return path


def start(thumbor: Path, conf: Path, port: int, processes: int, log_path: Path) -> subprocess.Popen:
    command = [str(thumbor), "--ip", HOST, "--port", str(port), "--conf", str(conf),
               "--processes", str(processes), "--log-level", "warning"]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DAM_", "DJANGO_", "VIRTUAL_ENV", "PYTHON"))}
    log = open(log_path, "ab")
    try:
        return subprocess.Popen(command, cwd=str(conf.parent), env=env, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)  # its forks share the group: stop_server ends them too
    finally:
        log.close()


def wait_ready(proc: subprocess.Popen, base: str, log_path: Path) -> None:
    wait_http(proc, f"{base}/healthcheck", log_path, "thumbor")
