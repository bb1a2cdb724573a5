"""e_upscale benchmark: the model's x4 against Lanczos + unsharp (pyvips), time, peak RSS and similarity.

    .venv/bin/python manage.py fetch_models          # once: the ESRGAN-slim x4 model
    .venv/bin/python bench/upscale.py [--sizes 256,512] [--runs 3]     # under 2 minutes

Ours = ``transforms.ai.upscale.upscale`` (what the producer's ``generate`` runs: the tiled model and the
output array), the peer = ``pyvips`` ``resize(4, kernel="lanczos3")`` then ``sharpen`` (unsharp mask), the
usual classical upscale.  Time: per size, one process runs both sides alternately (a warm-up first,
then `--runs` pairs; medians), so other load on the shared machine falls on both.  Memory: each side
in its own fresh process (its VmHWM after a warm-up and one run; idle = VmRSS after the imports).
Inputs: scikit-image's astronaut resized (lanczos3) to each size.
Similarity: real detail recovered, on three photos (astronaut 512, coffee 400x600, chelsea 300x451)
shrunk 4x then upscaled 4x by each side: PSNR against the photo, and gradient energy relative to the
photo's (1.0 = as crisp as the real image).  Bounded: every child process has a timeout; no network.
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHILD_TIMEOUT = 100.0


def _setup():
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()


def _status(name: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(name + ":"):
            return int(line.split()[1])
    return 0


def _photo(name: str):
    import numpy as np
    from skimage import data

    return np.ascontiguousarray(getattr(data, name)()[:, :, :3])


def _resized(array, scale: float):
    import numpy as np
    import pyvips

    return np.ascontiguousarray(pyvips.Image.new_from_array(array).resize(scale, kernel="lanczos3").numpy())


def _peer(array):
    import pyvips

    image = pyvips.Image.new_from_array(array, interpretation="srgb")
    return image.resize(4, kernel="lanczos3").sharpen(sigma=1.0).copy_memory().numpy()


def _ours(array):
    import pyvips

    from transforms.ai import upscale

    return upscale.upscale(pyvips.Image.new_from_array(array, interpretation="srgb")).numpy()


def child(mode: str, size: int, runs: int) -> None:
    """In this fresh process: ``time``: both sides on a size x size input, alternating (other load on the
    machine falls on both), medians; ``ours``/``peer``: one warm-up and one run, the peak RSS.  Prints JSON."""
    _setup()
    photo = _photo("astronaut")
    array = _resized(photo, size / photo.shape[1])
    idle = _status("VmRSS")
    if mode == "time":
        _ours(array[:64, :64])  # warm-up: the model's session
        times = {"ours": [], "peer": []}
        for _ in range(runs):
            for side, work in (("ours", _ours), ("peer", _peer)):
                start = time.perf_counter()
                work(array)
                times[side].append(time.perf_counter() - start)
        print(json.dumps({side: statistics.median(values) for side, values in times.items()}))
        return
    work = _ours if mode == "ours" else _peer
    work(array[:64, :64])
    work(array)
    print(json.dumps({"idle_kb": idle, "hwm_kb": _status("VmHWM")}))


def _psnr(a, b) -> float:
    import numpy as np

    return 10 * math.log10(255**2 / np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))


def _energy(rgb) -> float:
    import numpy as np

    grey = rgb[:, :, :3].astype(np.float64).mean(axis=2)
    return float((np.diff(grey, axis=0) ** 2).mean() + (np.diff(grey, axis=1) ** 2).mean())


def similarity() -> list[tuple[str, float, float, float, float]]:
    _setup()
    rows = []
    for name in ("astronaut", "coffee", "chelsea"):
        photo = _photo(name)
        h, w = (photo.shape[0] // 4) * 4, (photo.shape[1] // 4) * 4
        photo = photo[:h, :w]
        small = _resized(photo, 0.25)
        ours, peer = _ours(small), _peer(small)
        hh, ww = min(h, ours.shape[0], peer.shape[0]), min(w, ours.shape[1], peer.shape[1])
        truth = photo[:hh, :ww]
        rows.append((name, _psnr(ours[:hh, :ww], truth), _psnr(peer[:hh, :ww], truth),
                     _energy(ours[:hh, :ww]) / _energy(truth), _energy(peer[:hh, :ww]) / _energy(truth)))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="256,512",
                        help="input sides, comma-separated (1024: the 1 MP figure, +40 s)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--child", nargs=2, metavar=("SIDE", "SIZE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], int(args.child[1]), args.runs)
        return
    started = time.monotonic()
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                            timeout=30).stdout.strip()
    print(f"commit {commit}, {datetime.date.today()}, load average {os.getloadavg()[0]:.1f}\n")
    print("| input | ours: time (x peer) | ours: peak RSS (idle) | Lanczos + unsharp: time | peer: peak RSS (idle) |")
    print("|---|---|---|---|---|")
    for size in [int(s) for s in args.sizes.split(",")]:
        found = {}
        for mode in ("time", "ours", "peer"):  # each in a fresh process: the memory ones have their own VmHWM
            done = subprocess.run([sys.executable, __file__, "--child", mode, str(size), "--runs", str(args.runs)],
                                  cwd=ROOT, capture_output=True, text=True, timeout=CHILD_TIMEOUT)
            if done.returncode != 0:
                raise SystemExit(f"{mode} at {size}: {done.stderr[-2000:]}")
            found[mode] = json.loads(done.stdout.strip().splitlines()[-1])
        t, o, p = found["time"], found["ours"], found["peer"]
        print(f"| {size}x{size} -> {size * 4}x{size * 4} | {t['ours']:.2f} s ({t['ours'] / t['peer']:.1f}x) "
              f"| {o['hwm_kb'] / 1024:.0f} MB ({o['idle_kb'] / 1024:.0f}) | {t['peer']:.3f} s "
              f"| {p['hwm_kb'] / 1024:.0f} MB ({p['idle_kb'] / 1024:.0f}) |")
    print("\n| photo (shrunk 4x, upscaled 4x) | ours: PSNR | peer: PSNR | ours: gradient energy / photo's "
          "| peer: gradient energy / photo's |")
    print("|---|---|---|---|---|")
    for name, po, pp, eo, ep in similarity():
        print(f"| {name} | {po:.2f} dB | {pp:.2f} dB | {eo:.2f} | {ep:.2f} |")
    print(f"\n{time.monotonic() - started:.0f} s in all")


if __name__ == "__main__":
    main()
