"""Face detection and focus crops: detection time, its share of an upload, first renders.

    .venv/bin/python bench/faces.py [--runs 7] [--uploads 10] [--samples 15] [--ref HEAD] [--keep]

(1) Detection time per image, in process (`transforms.ai.faces.detect`, the CenterFace
    model loaded once, DAM_AI_THREADS as configured), median of ``--runs``, on
    scikit-image's photos: the astronaut, a 2x4 grid of her face, a 12 MP photo (the
    astronaut upscaled, bench/_common.make_photo), the cat and the coffee cup.
(2) Its share of an upload: the 12 MP JPEG and the astronaut PNG uploaded ``--uploads``
    times each over HTTP to our server (the Procfile's web command, 1 worker, no Celery
    worker: the detection task an upload queues waits in the broker, so no detection runs
    in or beside the request) and in process (Django's test client, same database), next
    to detecting the faces of that file as the worker does (open, autorot, detect).
(3) First renders (each sample a width never asked before) of ``c_thumb,g_face,h_<n>,w_<n>``
    and ``c_fill,g_auto,h_300,w_<n>`` of the 12 MP photo, against a bare in-process
    ``pyvips.Image.thumbnail(path, w, height=h, crop="attention")`` + ``jpegsave_buffer(Q=80)``
    of the same file, interleaved sample by sample.  ``g_face`` twice: on an asset whose
    faces are already detected (the normal case: checked through the Admin API's
    ``faces=true``), and on a fresh upload whose first g_face render detects in the request.

Our server runs from a snapshot of the committed tree at ``--ref`` on a throwaway data
directory, only on 127.0.0.1; every loop is bounded; the server is stopped and the
directory removed at the end.  Prints markdown tables.
"""

from __future__ import annotations

import argparse
import datetime
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (CLOUD, HOST, free_port, log, machine_description, make_photo, our_server,  # noqa: E402
                     raise_on_sigterm, sign, start_server, stop_server, tear_down, upload_file, wait_ready)
from _load import Client  # noqa: E402

PHOTO = (4000, 3000)
PHASE_LIMIT = 300.0  # seconds per measurement loop
SETTLE = 0.25  # seconds of quiet after each first-render sample (the server's log row, derived row)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=7, help="detection runs per image (3-30)")
    parser.add_argument("--uploads", type=int, default=10, help="uploads per file, HTTP and in process (2-50)")
    parser.add_argument("--samples", type=int, default=15, help="first-render samples per side (3-50)")
    parser.add_argument("--ref", default="HEAD", help="git ref of our server to benchmark")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = parser.parse_args()
    args.runs = max(3, min(args.runs, 30))
    args.uploads = max(2, min(args.uploads, 50))
    args.samples = max(3, min(args.samples, 50))
    return args


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def make_images(folder: Path) -> dict[str, Path]:
    """The files uploaded: the 12 MP JPEG with a face and scikit-image's astronaut as a PNG."""
    import pyvips
    from skimage import data

    files = {"photo12": folder / "photo12.jpg", "astronaut": folder / "astronaut.png"}
    make_photo(files["photo12"], *PHOTO)
    pyvips.Image.new_from_array(data.astronaut(), interpretation="srgb").pngsave(str(files["astronaut"]))
    return files


def timed(fn, runs: int, deadline: float) -> tuple[float, float, object]:
    """(median wall seconds, median CPU seconds of this process, fn's last result)."""
    walls, cpus, result = [], [], None
    for _ in range(runs):
        if walls and time.monotonic() > deadline:
            break
        wall, cpu = time.perf_counter(), time.process_time()
        result = fn()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return statistics.median(walls), statistics.median(cpus), result


# --- in process ----------------------------------------------------------------------

class Local:
    """This process on the server's settings and database: detection and in-process uploads."""

    def __init__(self, env: dict, files: dict[str, Path], key: str, secret: str):
        for name in [k for k in os.environ if k not in env]:
            os.environ.pop(name)
        os.environ.update(env)
        import django

        django.setup()
        import pyvips
        from django.test import Client as DjangoClient

        from transforms.ai import faces

        pyvips.cache_set_max(0)  # every run really opens and decodes the file
        self.pyvips, self.faces, self.files, self.key, self.secret = pyvips, faces, files, key, secret
        self.client = DjangoClient(HTTP_HOST=HOST)
        self.bodies = {name: files[name].read_bytes() for name in ("photo12", "astronaut")}

    def detection_table(self, runs: int) -> list[tuple]:
        import numpy as np
        from skimage import data

        face = data.astronaut()[20:220, 130:300]  # her face, 2 rows of 4 (as tests/transforms/test_face_detection)
        arrays = {"astronaut": data.astronaut(), "grid": np.concatenate([np.concatenate([face] * 4, axis=1)] * 2),
                  "photo12": None, "chelsea": data.chelsea(), "coffee": data.coffee()}
        self.faces.detect(arrays["astronaut"])  # the model's session: loaded once, not counted
        rows = []
        for name, array in arrays.items():
            if array is None:  # decoded once, not timed
                array = self.pyvips.Image.new_from_file(str(self.files[name])).numpy()
            wall, cpu, found = timed(lambda: self.faces.detect(array), runs, time.monotonic() + PHASE_LIMIT / 5)
            rows.append((name, f"{array.shape[1]}x{array.shape[0]}", len(found), wall, cpu))
        return rows

    def detect_file(self, name: str) -> tuple[float, float]:
        """(wall, CPU) seconds of what the worker does with a stored original (faces.ensure:
        open, autorot, detect), minus the database write."""
        wall, cpu = time.perf_counter(), time.process_time()
        found = self.faces.detect_image(self.pyvips.Image.new_from_file(str(self.files[name])).autorot())
        if len(found) != 1:
            raise RuntimeError(f"{name}: {len(found)} faces, expected 1")
        return time.perf_counter() - wall, time.process_time() - cpu

    def upload(self, name: str, public_id: str) -> float:
        from django.core.files.uploadedfile import SimpleUploadedFile

        params = {"public_id": public_id, "timestamp": str(int(time.time()))}
        data = {**params, "signature": sign(params, self.secret), "api_key": self.key,
                "file": SimpleUploadedFile(self.files[name].name, self.bodies[name])}
        start = time.perf_counter()
        response = self.client.post(f"/v1_1/{CLOUD}/image/upload", data)
        if response.status_code != 200:
            raise RuntimeError(f"in-process upload of {name}: {response.status_code} {response.content[:200]}")
        return time.perf_counter() - start


# --- over HTTP -----------------------------------------------------------------------

def http_part(args, env: dict, src: Path, tmp: Path, local: Local) -> dict:
    import pyvips
    import requests

    key, secret, bodies, files = local.key, local.secret, local.bodies, local.files
    port = free_port()
    proc = start_server(env, port, 1, tmp / "web.log", root=src)
    out: dict = {}
    try:
        base = f"http://{HOST}:{port}"
        wait_ready(proc, base, tmp / "web.log")

        def http_upload(name: str, public_id: str, extra: dict | None = None) -> float:
            elapsed, status, result = upload_file(base, key, secret, bodies[name], public_id, files[name].name, extra)
            if status != 200:
                raise RuntimeError(f"upload of {name}: {status} {result}")
            if extra and not result.get("faces"):
                raise RuntimeError(f"upload of {name} with faces=true found no faces: {result}")
            return elapsed

        # faces=true (detection in the upload's request), when the served commit has it
        _, status, probe = upload_file(base, key, secret, bodies["astronaut"], "bench/probe", "astronaut.png",
                                       {"faces": "true"})
        out["faces_true"] = status == 200 and isinstance(probe, dict) and "faces" in probe

        for name in bodies:  # warm-up: imports, first-request costs
            http_upload(name, f"bench/warm_{name}")
            local.upload(name, f"bench/warm_local_{name}")
            local.detect_file(name)
        log(f"(2) {args.uploads} uploads of each file over HTTP and in process, and its detection, interleaved ...")
        out["upload"] = {(kind, name): [] for kind in ("http", "local", "detect", "detect_cpu", "faces=true")
                         for name in bodies}
        deadline = time.monotonic() + PHASE_LIMIT
        for i in range(args.uploads):
            if time.monotonic() > deadline:
                break
            for name in bodies:
                steps = [("http", lambda: http_upload(name, f"bench/{name}_{i}")),
                         ("local", lambda: local.upload(name, f"bench/local_{name}_{i}")),
                         ("detect", lambda: local.detect_file(name))]
                if out["faces_true"]:
                    steps.append(("faces=true", lambda: http_upload(name, f"bench/ft_{name}_{i}", {"faces": "true"})))
                for kind, fn in steps[i % len(steps):] + steps[:i % len(steps)]:  # rotate who goes first
                    value = fn()
                    if kind == "detect":
                        value, cpu = value
                        out["upload"][("detect_cpu", name)].append(cpu)
                    out["upload"][(kind, name)].append(value)

        # (3) the faces of bench/face are detected by a first g_face request (on demand,
        # as when it comes before the worker); the Admin API then shows them.
        client = Client(port)

        def get(url: str, size: tuple[int, int]) -> float:
            outcome = client.get(f"/{CLOUD}/image/upload/{url}")
            if outcome.status != 200:
                raise RuntimeError(f"GET {url}: {outcome.status} {outcome.error}")
            image = pyvips.Image.new_from_buffer(outcome.body, "")
            if (image.width, image.height) != size:
                raise RuntimeError(f"GET {url}: {image.width}x{image.height}, expected {size}")
            return outcome.seconds

        http_upload("photo12", "bench/face")
        get("c_thumb,g_face,h_150,w_150/bench/face.jpg", (150, 150))
        details = requests.get(f"{base}/v1_1/{CLOUD}/resources/image/upload/bench/face", params={"faces": "true"},
                               auth=(key, secret), timeout=30).json()
        out["faces"] = details.get("faces")
        if not out["faces"]:
            raise RuntimeError(f"the Admin API shows no faces for bench/face: {details}")
        log(f"(3) bench/face: faces known {out['faces']}; first renders, {args.samples} samples a side ...")
        path = str(files["photo12"])

        def bare(w: int, h: int) -> float:
            start = time.perf_counter()
            pyvips.Image.thumbnail(path, w, height=h, crop="attention").jpegsave_buffer(Q=80)
            return time.perf_counter() - start

        def sides(i: int, w: int) -> dict:
            return {
                "g_face, faces known": lambda: get(f"c_thumb,g_face,h_{w},w_{w}/bench/face.jpg", (w, w)),
                "g_face, detects first": lambda: get(f"c_thumb,g_face,h_{w},w_{w}/bench/photo12_{i}.jpg", (w, w)),
                "bare attention, thumb": lambda: bare(w, w),
                "g_auto fill": lambda: get(f"c_fill,g_auto,h_300,w_{w + 200}/bench/face.jpg", (w + 200, 300)),
                "bare attention, fill": lambda: bare(w + 200, 300),
            }

        for name, fn in sides(0, 190).items():  # warm-up, not counted (bench/face's faces are known)
            if name != "g_face, detects first":
                fn()
        for i in range(len(out["upload"][("http", "photo12")]), args.samples):  # a fresh asset for each sample
            http_upload("photo12", f"bench/photo12_{i}")
        samples: dict[str, list[float]] = {name: [] for name in sides(0, 0)}
        deadline = time.monotonic() + PHASE_LIMIT
        for i in range(args.samples):
            if time.monotonic() > deadline:
                break
            todo = list(sides(i, 201 + i).items())
            shift = i % len(todo)
            for name, fn in todo[shift:] + todo[:shift]:  # rotate who goes first
                samples[name].append(fn())
                time.sleep(SETTLE)
        client.close()
        out["renders"] = samples
    finally:
        stop_server(proc)
    return out


# --- report --------------------------------------------------------------------------

def report(args, commit: str, load: tuple[float, float], files, table: list[tuple], http: dict) -> None:
    print()
    print(f"Faces benchmark, {datetime.date.today().isoformat()}; {machine_description()}; our commit "
          f"{commit[:10]}; DAM_AI_THREADS={os.environ.get('DAM_AI_THREADS', '2 (default)')}; load average "
          f"{load[0]:.2f} at the start, {load[1]:.2f} at the end")
    print()
    print(f"(1) Detection in process (`transforms.ai.faces.detect` on a decoded RGB array, model loaded once), "
          f"median of {args.runs}")
    print()
    print("| image | size | faces found | median ms | CPU ms |")
    print("|---|---|---|---|---|")
    for name, size, count, wall, cpu in table:
        print(f"| {name} | {size} | {count} | {wall * 1000:.1f} | {cpu * 1000:.1f} |")
    up = http["upload"]
    n = len(up[("http", "photo12")])
    print()
    print(f"(2) Share of an upload: median of {n} uploads per file (no detection in or beside the request: no "
          "Celery worker runs) vs detecting that file's faces as the worker does (open the file, autorot, "
          "detect), all interleaved")
    print()
    print("| file | upload over HTTP | upload in process | detection from the file (its CPU) | "
          "detection = % of an upload, HTTP / in process (per sample) |")
    print("|---|---|---|---|---|")
    for name in ("photo12", "astronaut"):
        med = {kind: statistics.median(up[(kind, name)]) for kind in ("http", "local", "detect", "detect_cpu")}
        per = {kind: statistics.median(d / u for d, u in zip(up[("detect", name)], up[(kind, name)]))
               for kind in ("http", "local")}
        size = f"{files[name].stat().st_size / 1e6:.2f} MB"
        label = f"12 MP JPEG 4000x3000 ({size})" if name == "photo12" else f"astronaut 512x512 PNG ({size})"
        print(f"| {label} | {ms(med['http'])} | {ms(med['local'])} | {ms(med['detect'])} ({ms(med['detect_cpu'])}) "
              f"| {med['detect'] / med['http']:.0%} / {med['detect'] / med['local']:.0%} "
              f"({per['http']:.0%} / {per['local']:.0%}) |")
    if http["faces_true"]:
        print()
        print("| file | upload over HTTP | with faces=true (detects in the request) | faces=true / without |")
        print("|---|---|---|---|")
        for name in ("photo12", "astronaut"):
            without, with_ = (statistics.median(up[(kind, name)]) for kind in ("http", "faces=true"))
            print(f"| {name} | {ms(without)} | {ms(with_)} | {with_ / without:.2f}x |")
    else:
        print("\n(the served commit has no faces=true on upload: its response carried no faces)")
    r = http["renders"]
    n = len(r["bare attention, thumb"])
    med = {name: statistics.median(values) for name, values in r.items()}

    def paired(name: str, bare: str) -> float:
        return statistics.median(a / b for a, b in zip(r[name], r[bare]))

    print()
    print(f"(3) First renders of the 12 MP photo, each sample a new width (thumb w=h=201..{200 + n}, fill "
          f"w=401..{400 + n} h=300), 1 web worker, median of {n}, sides interleaved sample by sample; "
          "bare = in-process pyvips thumbnail(crop=attention) + jpegsave_buffer(Q=80)")
    print()
    print("| URL | case | ours | bare attention crop | ours / bare (per sample) |")
    print("|---|---|---|---|---|")
    rows = [("c_thumb,g_face,h_n,w_n", "faces already detected (normal case)", "g_face, faces known",
             "bare attention, thumb"),
            ("c_thumb,g_face,h_n,w_n", "first render of a fresh upload: detects in the request",
             "g_face, detects first", "bare attention, thumb"),
            ("c_fill,g_auto,h_300,w_n", "faces already detected", "g_auto fill", "bare attention, fill")]
    for url, case, name, bare in rows:
        print(f"| `{url}` | {case} | {ms(med[name])} | {ms(med[bare])} | {med[name] / med[bare]:.2f}x "
              f"({paired(name, bare):.2f}x) |")
    print()
    print(f"faces of bench/face (Admin API, faces=true): {http['faces']}")


def main() -> int:
    args = parse_args()
    raise_on_sigterm()
    tmp = Path(tempfile.mkdtemp(prefix="dam-bench-faces-"))
    try:
        start_load = os.getloadavg()[0]
        log("making the images ...")
        files = make_images(tmp)
        commit, src, env, key, secret = our_server(args.ref, tmp)
        local = Local(env, files, key, secret)
        log(f"(1) detection, {args.runs} runs per image ...")
        table = local.detection_table(args.runs)
        http = http_part(args, env, src, tmp, local)
        report(args, commit, (start_load, os.getloadavg()[0]), files, table, http)
        return 0
    finally:
        tear_down(None, tmp, args.keep)


if __name__ == "__main__":
    sys.exit(main())
