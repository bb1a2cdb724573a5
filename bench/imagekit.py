"""ImageKit URLs against their Cloudinary twins: first renders and cached hits, same run.

    .venv/bin/python bench/imagekit.py [--samples 15] [--hits 400] [--ref HEAD] [--keep]

Our server (the Procfile's web command, 1 worker, from a snapshot of the committed tree at
``--ref`` on a throwaway data directory, only 127.0.0.1) gets one 12 MP JPEG (4000x3000,
q90).  Then, interleaved sample by sample (who goes first alternates):

(a) first renders: ``/ik/demo/tr:w-<n>,h-300/bench/photo.jpg`` against its Cloudinary twin
    ``/demo/image/upload/c_fill,h_300,w_<m>/bench/photo.jpg``, each sample a width never
    asked before on either side (n and m differ), so each request renders and stores;
(b) cached hits of one ImageKit URL in the path form, the same in the query form
    (``?tr=w-400,h-300``) and the Cloudinary twin, which share one derived row: answered
    by the memo (transforms/memo.py) after its one query; a signed ImageKit URL
    (``ik-s``, checked on every request, so never remembered) for scale.

Bounded: ``--samples`` at most 40, ``--hits`` at most 2000, each phase at most 60 s.
Prints a markdown table.
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import hmac
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (CLOUD, free_port, log, machine_description, make_photo, our_server,  # noqa: E402
                     raise_on_sigterm, start_server, tear_down, upload_file, wait_ready)
from _load import Client  # noqa: E402

PHASE_LIMIT = 60.0  # seconds per measurement loop
PUBLIC_ID = "bench/photo"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", type=int, default=15, help="first renders per side (3-40)")
    parser.add_argument("--hits", type=int, default=400, help="cached hits per URL (50-2000)")
    parser.add_argument("--ref", default="HEAD", help="git ref of our server to benchmark")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = parser.parse_args()
    args.samples = max(3, min(args.samples, 40))
    args.hits = max(50, min(args.hits, 2000))
    return args


def signed_path(secret: str, relative: str) -> str:
    """``/ik/demo/<relative>?ik-s=..``, signed as the ImageKit SDKs sign (no expiry)."""
    signature = hmac.new(secret.encode(), (relative + "9999999999").encode(), hashlib.sha1).hexdigest()
    return f"/ik/{CLOUD}/{relative}?ik-s={signature}"


def timed(client: Client, path: str) -> float:
    outcome = client.get(path)
    if outcome.status != 200 or not outcome.body[:3] == b"\xff\xd8\xff":
        raise RuntimeError(f"GET {path}: {outcome.status} {outcome.error}")
    return outcome.seconds


def measure(args, port: int, secret: str) -> dict:
    client = Client(port)
    out: dict = {"first": {"imagekit": [], "cloudinary": []}}
    ik = lambda w: f"/ik/{CLOUD}/tr:w-{w},h-300/{PUBLIC_ID}.jpg"  # noqa: E731
    cld = lambda w: f"/{CLOUD}/image/upload/c_fill,h_300,w_{w}/{PUBLIC_ID}.jpg"  # noqa: E731
    timed(client, ik(399))  # warm-up: imports, the first request's costs
    timed(client, cld(398))
    log(f"(a) {args.samples} first renders per side, interleaved ...")
    deadline = time.monotonic() + PHASE_LIMIT
    for i in range(args.samples):
        if time.monotonic() > deadline:
            break
        sides = [("imagekit", ik(400 + 2 * i)), ("cloudinary", cld(401 + 2 * i))]
        for side, path in sides if i % 2 == 0 else sides[::-1]:
            out["first"][side].append(timed(client, path))

    hits = {"imagekit path": f"/ik/{CLOUD}/tr:w-400,h-300/{PUBLIC_ID}.jpg",
            "imagekit query": f"/ik/{CLOUD}/{PUBLIC_ID}.jpg?tr=w-400,h-300",
            "cloudinary": f"/{CLOUD}/image/upload/c_fill,h_300,w_400/{PUBLIC_ID}.jpg",
            "imagekit signed": signed_path(secret, f"tr:w-400,h-300/{PUBLIC_ID}.jpg")}
    out["hits"] = {name: [] for name in hits}
    for path in hits.values():  # each URL once: the memo remembers the answer
        timed(client, path)
    log(f"(b) {args.hits} cached hits per URL, interleaved ...")
    deadline = time.monotonic() + PHASE_LIMIT
    names = list(hits)
    for i in range(args.hits):
        if time.monotonic() > deadline:
            break
        for name in names[i % len(names):] + names[:i % len(names)]:
            out["hits"][name].append(timed(client, hits[name]))
    client.close()
    return out


def report(args, commit: str, loads, out: dict) -> None:
    def ms(values) -> str:
        return f"{statistics.median(values) * 1000:.2f} ms"

    first = out["first"]
    per_sample = statistics.median(a / b for a, b in zip(first["imagekit"], first["cloudinary"]))
    hits = out["hits"]
    print()
    print(f"Commit {commit[:7]}, {datetime.date.today()}, {machine_description()}; "
          f"load average {loads[0]:.1f} at the start, {loads[1]:.1f} at the end; SQLite.")
    print()
    print("| metric | ImageKit URL | Cloudinary twin | ratio (ImageKit / Cloudinary) |")
    print("|---|---|---|---|")
    print(f"| (a) first render, 12 MP JPEG -> 400x300 fill, median of {len(first['imagekit'])} | "
          f"{ms(first['imagekit'])} | {ms(first['cloudinary'])} | "
          f"{statistics.median(first['imagekit']) / statistics.median(first['cloudinary']):.3f} "
          f"(per sample {per_sample:.3f}) |")
    for name in ("imagekit path", "imagekit query"):
        print(f"| (b) cached hit, {name.split()[1]} form, median of {len(hits[name])} | {ms(hits[name])} | "
              f"{ms(hits['cloudinary'])} | {statistics.median(hits[name]) / statistics.median(hits['cloudinary']):.3f} |")
    print(f"| (b) for scale: a signed ImageKit URL (not remembered: through Django) | "
          f"{ms(hits['imagekit signed'])} | – | "
          f"{statistics.median(hits['imagekit signed']) / statistics.median(hits['cloudinary']):.3f} |")


def main() -> int:
    args = parse_args()
    raise_on_sigterm()
    tmp = Path(tempfile.mkdtemp(prefix="dam-bench-imagekit-"))
    proc = None
    try:
        start_load = os.getloadavg()[0]
        photo = tmp / "photo.jpg"
        make_photo(photo)
        commit, src, env, key, secret = our_server(args.ref, tmp)
        port = free_port()
        proc = start_server(env, port, 1, tmp / "web.log", root=src)
        base = f"http://127.0.0.1:{port}"
        wait_ready(proc, base, tmp / "web.log")
        _, status, result = upload_file(base, key, secret, photo.read_bytes(), PUBLIC_ID)
        if status != 200:
            raise RuntimeError(f"upload: {status} {result}")
        out = measure(args, port, secret)
        report(args, commit, (start_load, os.getloadavg()[0]), out)
        return 0
    finally:
        tear_down(proc, tmp, args.keep)


if __name__ == "__main__":
    sys.exit(main())
