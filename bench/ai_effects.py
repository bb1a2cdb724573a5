"""The synchronous AI effects at ~2 MP through the engine, against named peers in the same run.

    .venv/bin/python bench/ai_effects.py [--runs 5]

Each sample renders a plan with the engine in process (`transforms.pipeline.run_plan` on the
decoded image, then a PNG/JPEG encode like a first render: nothing is cached between
samples) and, interleaved sample by sample, its peer on the same pixels:

- ``e_dropshadow`` (a 1600x1250 RGBA cut-out: the astronaut in an elliptical matte) against
  our ``e_shadow`` (a blurred offset copy of the alpha) and Pillow (alpha GaussianBlur
  radius 12 pasted offset under the image, the usual Python drop shadow);
- ``e_improve`` and ``e_enhance`` (the 1600x1250 astronaut with a warm, hazy cast) against
  Pillow's ``ImageOps.autocontrast(cutoff=0.5)`` + ``ImageEnhance.Color(1.1)`` +
  ``ImageEnhance.Sharpness(1.3)``.

Runs in well under a minute; only in process, nothing written outside a temporary buffer.
Prints a markdown table.
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

from _common import ROOT, machine_description  # noqa: E402,F401  (puts the repository on sys.path)

import django  # noqa: E402

django.setup()

import numpy as np  # noqa: E402
import pyvips  # noqa: E402
from PIL import Image, ImageEnhance, ImageFilter, ImageOps  # noqa: E402
from skimage import data  # noqa: E402

from transforms import limits, pipeline  # noqa: E402
from transforms.cloudinary.entry import from_text  # noqa: E402

SIZE = (1600, 1250)  # 2.0 MP
TIME_LIMIT = 40.0  # seconds for the whole run


def photo() -> np.ndarray:
    big = pyvips.Image.new_from_array(np.ascontiguousarray(data.astronaut())).resize(
        SIZE[0] / 512, vscale=SIZE[1] / 512)
    array = np.asarray(big.numpy(), dtype=np.float64)
    return np.clip(60 + array * 0.5 * np.array([1.15, 1.0, 0.7]), 0, 255).astype(np.uint8)


def cutout() -> np.ndarray:
    rgb = np.asarray(pyvips.Image.new_from_array(np.ascontiguousarray(data.astronaut())).resize(
        SIZE[0] / 512, vscale=SIZE[1] / 512).numpy())
    yy, xx = np.mgrid[:SIZE[1], :SIZE[0]]
    inside = ((xx - SIZE[0] / 2) / (SIZE[0] * 0.3)) ** 2 + ((yy - SIZE[1] * 0.45) / (SIZE[1] * 0.4)) ** 2 <= 1
    return np.dstack([rgb, np.where(inside, 255, 0).astype(np.uint8)])


def engine(text: str, array: np.ndarray, fmt: str):
    plan = from_text(text, fmt)
    image = pyvips.Image.new_from_array(array, interpretation="srgb")

    def render():
        out = pipeline.run_plan(None, image, plan, budget=limits.Budget(), shrink_on_load=False)
        return out.write_to_buffer(f".{fmt}")

    return render


def pillow_shadow(array: np.ndarray):
    im = Image.fromarray(array, "RGBA")

    def render():
        shadow = Image.new("RGBA", im.size, (0, 0, 0, 0))
        alpha = im.getchannel("A").filter(ImageFilter.GaussianBlur(12)).point(lambda v: v * 6 // 10)
        shadow.paste((0, 0, 0, 255), (20, 20), alpha.crop((0, 0, im.width - 20, im.height - 20)))
        out = Image.alpha_composite(shadow, im)
        buffer = io.BytesIO()
        out.save(buffer, "PNG", compress_level=6)
        return buffer.getvalue()

    return render


def pillow_improve(array: np.ndarray):
    im = Image.fromarray(array, "RGB")

    def render():
        out = ImageOps.autocontrast(im, cutoff=0.5)
        out = ImageEnhance.Color(out).enhance(1.1)
        out = ImageEnhance.Sharpness(out).enhance(1.3)
        buffer = io.BytesIO()
        out.save(buffer, "JPEG", quality=80)
        return buffer.getvalue()

    return render


def measure(pairs, runs: int, deadline: float):
    rows = []
    for label, ours, peer_label, peer in pairs:
        ours(), peer()  # warm: imports, libvips' operation cache of nothing reusable (new images each time)
        mine, theirs = [], []
        for _ in range(runs):
            if time.monotonic() > deadline:
                break
            t = time.perf_counter()
            ours()
            mine.append(time.perf_counter() - t)
            t = time.perf_counter()
            peer()
            theirs.append(time.perf_counter() - t)
        ratios = [a / b for a, b in zip(mine, theirs, strict=True)]
        rows.append((label, statistics.median(mine), peer_label, statistics.median(theirs), statistics.median(ratios),
                     len(mine)))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5, help="samples per row (2-20)")
    args = parser.parse_args()
    runs = max(2, min(args.runs, 20))
    pyvips.cache_set_max(0)  # every sample computes from scratch, like a first render
    deadline = time.monotonic() + TIME_LIMIT
    rgba, rgb = cutout(), photo()
    pairs = [
        ("`e_dropshadow` (PNG)", engine("e_dropshadow", rgba, "png"),
         "Pillow drop shadow", pillow_shadow(rgba)),
        ("`e_shadow` (PNG), our older effect", engine("e_shadow", rgba, "png"),
         "Pillow drop shadow", pillow_shadow(rgba)),
        ("`e_improve` (JPEG q80)", engine("e_improve,q_80", rgb, "jpg"),
         "Pillow autocontrast + Color + Sharpness", pillow_improve(rgb)),
        ("`e_improve:indoor` (JPEG q80)", engine("e_improve:indoor,q_80", rgb, "jpg"),
         "Pillow autocontrast + Color + Sharpness", pillow_improve(rgb)),
        ("`e_enhance` (JPEG q80)", engine("e_enhance,q_80", rgb, "jpg"),
         "Pillow autocontrast + Color + Sharpness", pillow_improve(rgb)),
    ]
    rows = measure(pairs, runs, deadline)
    print(f"{machine_description()}; {SIZE[0]}x{SIZE[1]}; load average {os.getloadavg()[0]:.1f} at the end\n")
    print(f"| ours, {SIZE[0]}x{SIZE[1]} | median | peer | median | ours / peer (median per sample) | samples |")
    print("|---|---|---|---|---|---|")
    for label, ours, peer_label, peer, ratio, n in rows:
        print(f"| {label} | {ours * 1000:.0f} ms | {peer_label} | {peer * 1000:.0f} ms | {ratio:.2f}x | {n} |")


if __name__ == "__main__":
    main()
