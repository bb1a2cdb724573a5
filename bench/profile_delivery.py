"""Where one delivery request spends its time: cProfile of a first render and of cached
hits, in-process (production settings, a throwaway DAM_VAR_DIR): through Django's test
client, then hits through config.wsgi (transforms.memo in front, as production serves them).

    .venv/bin/python bench/profile_delivery.py [--url-part c_fill,w_400,h_300] [--hits 200] [--top 20]

Profiles the code in this working tree (not a snapshot), on a 12 MP JPEG.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import CLOUD, make_photo, server_env, sign  # noqa: E402


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url-part", default="c_fill,w_400,h_300", help="transformation to deliver")
    parser.add_argument("--hits", type=int, default=200, help="cached hits to profile (1-2000)")
    parser.add_argument("--top", type=int, default=20, help="functions to list")
    args = parser.parse_args()
    args.hits = max(1, min(args.hits, 2000))
    return args


def timed_then_profiled(call, times: int):
    """(seconds per call without the profiler, a cProfile of as many more calls)."""
    start = time.perf_counter()
    for _ in range(times):
        call()
    plain = (time.perf_counter() - start) / times
    profile = cProfile.Profile()
    profile.enable()
    for _ in range(times):
        call()
    profile.disable()
    return plain, profile


def show(profile: cProfile.Profile, title: str, top: int, calls: int) -> None:
    out = io.StringIO()
    stats = pstats.Stats(profile, stream=out)
    total = stats.total_tt
    print(f"\n=== {title}: {total * 1000 / calls:.2f} ms per request under cProfile ({calls} requests) ===")
    stats.sort_stats("cumulative").print_stats(top)
    print("\n".join(out.getvalue().splitlines()[-top - 3:]))
    out.truncate(0)
    out.seek(0)
    stats.sort_stats("tottime").print_stats(top)
    print("--- by own time ---\n" + "\n".join(out.getvalue().splitlines()[-top - 3:]))


def main() -> int:
    args = parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="dam-profile-"))
    try:
        os.environ.update(server_env(str(tmp / "var")))
        import django

        django.setup()
        from django.core.management import call_command
        from django.test import Client

        from assets.models import ApiKey

        call_command("migrate", "--noinput", verbosity=0)
        key = ApiKey.objects.create(name="profile")
        photo = tmp / "photo.jpg"
        make_photo(photo)
        client = Client()
        params = {"public_id": "bench/photo", "timestamp": str(int(time.time()))}
        with photo.open("rb") as fh:
            response = client.post(f"/v1_1/{CLOUD}/image/upload", {
                **params, "signature": sign(params, key.secret), "api_key": key.key, "file": fh})
        assert response.status_code == 200, response.content[:300]
        url = f"/{CLOUD}/image/upload/{args.url_part}/bench/photo.jpg"

        def get(path=None):
            path = path or url
            response = client.get(path)
            body = b"".join(response) if response.streaming else response.content
            if response.status_code != 200:
                raise SystemExit(f"GET {path}: {response.status_code} {response.headers.get('X-Cld-Error')}")
            if hasattr(response, "close"):
                response.close()
            return body

        # Warm-up (imports, URLconf, first libvips calls): a render of another transformation, not profiled.
        get(f"/{CLOUD}/image/upload/{args.url_part}/e_grayscale/bench/photo.jpg")
        first = cProfile.Profile()
        renders = [url] + [f"/{CLOUD}/image/upload/{args.url_part}/q_{75 + i}/bench/photo.jpg" for i in range(1, 5)]
        start = time.perf_counter()
        for path in renders:  # each a new derived image: a real render
            first.runcall(get, path)
        print(f"first renders of {url} (+ q_76..q_79): {(time.perf_counter() - start) * 1000 / len(renders):.1f} ms "
              "wall each (profiled)")
        show(first, "first renders", args.top, len(renders))
        import pyvips

        pyvips.cache_set_max(0)
        stats = pstats.Stats(first)
        pixels = sum(tt for (file, _, name), (_, _, tt, _, _) in stats.stats.items()
                     if "vips_image_copy_memory" in name or "vips_cache_operation_build" in name)
        bare = []
        for i in range(len(renders)):
            start = time.perf_counter()
            pyvips.Image.thumbnail(str(photo), 400 + i, height=300, crop="centre").jpegsave_buffer(Q=80)
            bare.append(time.perf_counter() - start)
        print(f"libvips time inside those renders: {pixels * 1000 / len(renders):.1f} ms each; bare pyvips "
              f"thumbnail + jpegsave_buffer of the same file now: {sorted(bare)[len(bare) // 2] * 1000:.1f} ms")

        # Not profiled: first renders through the production WSGI stack (config.wsgi, no HTTP) and bare
        # thumbnails taken in turns in this one process, so load from elsewhere falls on both alike.
        from config.wsgi import application

        def wsgi(path: str):
            """GET `path` through the production WSGI stack; the result, its body read, not closed."""
            environ = {"REQUEST_METHOD": "GET", "PATH_INFO": path, "QUERY_STRING": "", "SCRIPT_NAME": "",
                       "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "80", "HTTP_HOST": "127.0.0.1",
                       "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(b""), "wsgi.errors": sys.stderr}
            seen = []
            result = application(environ, lambda status, headers, exc_info=None: seen.append(status))
            body = b"".join(result)
            if not seen[0].startswith("200") or not body:
                raise SystemExit(f"GET {path} through config.wsgi: {seen[0]}")
            return result

        pairs = []
        for i in range(15):
            start = time.perf_counter()
            # the answer is complete here; the log row is written at close()
            result = wsgi(f"/{CLOUD}/image/upload/c_fill,w_{300 + i},h_300/bench/photo.jpg")
            ours = time.perf_counter() - start
            result.close()
            start = time.perf_counter()
            pyvips.Image.thumbnail(str(photo), 300 + i, height=300, crop="centre").jpegsave_buffer(Q=80)
            pairs.append((ours, time.perf_counter() - start))
        ours_ms = sorted(o for o, _ in pairs)[len(pairs) // 2] * 1000
        bare_ms = sorted(b for _, b in pairs)[len(pairs) // 2] * 1000
        paired = sorted(o / b for o, b in pairs)[len(pairs) // 2]
        print(f"first render through config.wsgi, not profiled: {ours_ms:.1f} ms vs bare {bare_ms:.1f} ms in turns "
              f"({ours_ms / bare_ms:.2f}x; per pair {paired:.2f}x), median of {len(pairs)}")
        plain, hits = timed_then_profiled(get, args.hits)
        print(f"\ncached hit through Django (test client) without profiler: {plain * 1000:.2f} ms per request "
              "(in-process, one thread)")
        show(hits, "cached hits through Django", args.top, args.hits)

        # What production serves a repeated request with: config.wsgi's transforms.memo in front of Django.
        def wsgi_get():
            result = wsgi(url)
            if hasattr(result, "close"):
                result.close()

        wsgi_get()  # remembered by this one
        memo, hits = timed_then_profiled(wsgi_get, args.hits)
        print(f"\ncached hit through config.wsgi (transforms.memo) without profiler: {memo * 1000:.3f} ms per "
              "request (in-process, one thread)")
        show(hits, "cached hits through config.wsgi", args.top, args.hits)
        return 0
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
