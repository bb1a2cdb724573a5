"""Generative fill benchmark (issue 13 item 8): the local back-end's time, peak memory and variations per
minute per worker, against the naive whole-image PatchMatch in the same run.

    .venv/bin/python bench/genfill.py [--runs 3] [--seeds 4] [--quick]

Input: scikit-image's coffee photo cropped to 4:3 and upscaled (lanczos3) to 1024 and 2048 px wide
(1024x768, 2048x1536), padded to 16:9 (pads left and right) and to 1:1 (pads top and bottom).

- **ours**: ``transforms.ai.outpaint.outpaint``, the local back-end of ``transforms.ai.generation.fill``
  (each new border filled from a band of the original next to it, the synthesised share capped, the
  canvas worked on at most 1024 px long);
- **peer**: what MODELS.md measured and says not to ship: one PatchMatch call (``pypatchmatch``, patch
  radius 3) over the whole canvas at full size, every pixel of the original a source.  opencv (Telea) is
  not in this virtualenv, so it is not measured.

Every sample runs in its own process (so its peak RSS, ``ru_maxrss``, is its own), run ``r`` with seed ``r``, the sides alternating (ours, peer, peer, ours, ...) so that other load on the
shared machine falls on both.  Variations per minute: one process per side computing ``--seeds`` fills
with sequential seeds of the 1024 px 16:9 canvas, as a worker generating variations does.  Nothing is
contacted; every child is bounded by ``CHILD_TIMEOUT``.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import ROOT, machine_description, snapshot_id  # noqa: E402

SIZES = (1024, 2048)
TARGETS = ("16:9", "1:1")
CHILD_TIMEOUT = 900.0  # one sample (or one variations run), at most


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3, help="samples per size, target and side (1-10)")
    parser.add_argument("--seeds", type=int, default=4, help="variations per variations-per-minute run (1-20)")
    parser.add_argument("--quick", action="store_true", help="a smoke run: --runs 1 --seeds 2")
    parser.add_argument("--child", nargs=5, metavar=("SIDE", "SIZE", "TARGET", "FIRST_SEED", "SEEDS"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.quick:
        args.runs, args.seeds = 1, 2
    args.runs = max(1, min(args.runs, 10))
    args.seeds = max(1, min(args.seeds, 20))
    return args


# --- the child: one measured side --------------------------------------------------------------------------


def canvas(size: int, target: str):
    """The 4:3 photo ``size`` px wide on its padded canvas, and the mask (255 = make)."""
    import numpy as np
    import pyvips
    from skimage import data

    photo = pyvips.Image.new_from_array(data.coffee()).crop(33, 0, 533, 400)
    photo = photo.resize(size / photo.width, kernel="lanczos3").numpy()
    h, w = photo.shape[:2]
    width, height = (round(h * 16 / 9), h) if target == "16:9" else (w, w)
    x, y = (width - w) // 2, (height - h) // 2
    image = np.zeros((height, width, 3), np.uint8)
    image[y : y + h, x : x + w] = photo
    mask = np.full((height, width), 255, np.uint8)
    mask[y : y + h, x : x + w] = 0
    return image, mask


def rss_kb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def child(side: str, size: int, target: str, first_seed: int, seeds: int) -> dict:
    import numpy as np
    import patchmatch

    from transforms.ai import outpaint

    image, mask = canvas(size, target)
    before = rss_kb()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    started = time.monotonic()
    for seed in range(first_seed, first_seed + seeds):
        if side == "ours":
            outpaint.outpaint(image, mask, seed)
        else:
            patchmatch.set_random_seed(seed)
            patchmatch.inpaint(image, (mask > 0).astype(np.uint8), patch_size=3)
    wall = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = after.ru_utime + after.ru_stime - usage.ru_utime - usage.ru_stime
    return {"wall": wall, "cpu": cpu, "rss_before_mb": before / 1024, "peak_mb": after.ru_maxrss / 1024,
            "canvas": f"{image.shape[1]}x{image.shape[0]}"}


# --- the parent ---------------------------------------------------------------------------------------------


def run_child(side: str, size: int, target: str, first_seed: int, seeds: int = 1) -> dict:
    command = [sys.executable, str(Path(__file__).resolve()), "--child", side, str(size), target, str(first_seed),
               str(seeds)]
    try:
        result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=CHILD_TIMEOUT)
    except subprocess.TimeoutExpired:
        return {"timeout": True}
    if result.returncode != 0:
        raise RuntimeError(f"{side} {size} {target} failed:\n{result.stderr[-2000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def median(samples: list[dict], key: str) -> float | None:
    values = [s[key] for s in samples if not s.get("timeout")]
    return statistics.median(values) if values else None


def fmt(value: float | None, unit: str, digits: int = 1) -> str:
    return f"> {CHILD_TIMEOUT:.0f} s" if value is None else f"{value:.{digits}f} {unit}"


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.child:
        side, size, target, first_seed, seeds = args.child
        print(json.dumps(child(side, int(size), target, int(first_seed), int(seeds))))
        return 0
    load_start = os.getloadavg()[0]
    samples: dict[tuple, list[dict]] = {}
    for run in range(args.runs):
        for size in SIZES:
            for target in TARGETS:
                order = ("ours", "peer") if (run + size // 1024) % 2 == 0 else ("peer", "ours")
                for side in order:
                    sample = run_child(side, size, target, first_seed=run + 1)
                    samples.setdefault((side, size, target), []).append(sample)
                    print(f"# {side} {size} {target}: {sample}", file=sys.stderr)
    variations = {side: run_child(side, 1024, "16:9", 1, args.seeds) for side in ("ours", "peer")}
    load_end = os.getloadavg()[0]

    columns = [(size, target) for size in SIZES for target in TARGETS]
    canvases = {c: next(s["canvas"] for s in samples[("ours", *c)]) for c in columns}
    head = " | ".join(f"{size} px → {target} ({canvases[(size, target)]})" for size, target in columns)
    print(f"Commit {snapshot_id('HEAD')[:7]}, {datetime.date.today()}, {machine_description()}, "
          f"load average {load_start:.2f} at the start, {load_end:.2f} at the end, {args.runs} runs a cell:\n")
    print(f"| metric | {head} |")
    print("|---|" + "---|" * len(columns))
    for label, key, unit in (("wall time, median", "wall", "s"), ("CPU time, median", "cpu", "s"),
                             ("peak RSS, median", "peak_mb", "MB")):
        for side, name in (("ours", "ours (band per border)"), ("peer", "peer (whole-image PatchMatch)")):
            cells = " | ".join(fmt(median(samples[(side, *c)], key), unit, 0 if unit == "MB" else 1) for c in columns)
            print(f"| {label}, {name} | {cells} |")
    print()
    print("| variations per minute per worker (1024 px → 16:9, sequential seeds) | ours | peer |")
    print("|---|---|---|")
    cells = []
    for side in ("ours", "peer"):
        v = variations[side]
        cells.append("timed out" if v.get("timeout") else
                     f"{60 * args.seeds / v['wall']:.1f} ({60 * args.seeds / v['cpu']:.1f} per CPU-minute)")
    print(f"| {args.seeds} seeds in one process | {cells[0]} | {cells[1]} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
