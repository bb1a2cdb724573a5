"""Media Library benchmark: the library page over 100,000 assets.

    .venv/bin/python bench/library.py [--assets 100000] [--runs 5]
    DATABASE_URL=postgres://user@127.0.0.1:5432/dam .venv/bin/python bench/library.py

Creates the asset rows directly (bulk_create: no files; 10% tagged, a context on some,
spread over 200 folders) in a throwaway SQLite database, and, when DATABASE_URL names a
PostgreSQL server, in a throwaway database created there (``dam_bench_<pid>``, dropped
at the end). Then times, through the Django test client (view, query and template):
page 1 for each sort, a deep page (the keyset cursor of row 90% down the list), a
folder, a tag filter and text searches. Prints a table of median milliseconds.
Only 127.0.0.1 or the given DATABASE_URL is contacted; nothing else is touched.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CASES = [
    ("page 1, newest", "/library/", {}),
    ("page 1, oldest", "/library/", {"sort": "oldest"}),
    ("page 1, name", "/library/", {"sort": "name"}),
    ("page 1, size", "/library/", {"sort": "size"}),
    ("deep page (90%), newest", "/library/", {"deep": "newest"}),
    ("deep page (90%), name", "/library/", {"deep": "name", "sort": "name"}),
    ("deep page (90%), size", "/library/", {"deep": "size", "sort": "size"}),
    ("deep previous page (90%), name", "/library/", {"deep_before": "name", "sort": "name"}),
    ("folder (500 assets)", "/library/f/17/", {}),
    ("tag filter (1%)", "/library/", {"tag": "t3"}),
    ("format filter", "/library/", {"format": "png"}),
    ("search public_id (rare)", "/library/", {"q": "img_0099999"}),
    ("search common word", "/library/", {"q": "img_01"}),
    ("search tag", "/library/", {"q": "t7"}),
    ("search, no match", "/library/", {"q": "zzzz-nothing"}),
    ("htmx results only, page 1", "/library/", {"htmx": "1"}),
]


def child(backend: str, count: int, runs: int) -> dict:
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import setup_test_environment

    from assets.models import Asset, AssetTag, Folder
    from studio import library

    setup_test_environment()
    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    rows, formats = [], ["jpg", "png", "webp", "gif"]
    for i in range(count):
        folder = f"f/{i % 200}"
        rows.append(Asset(public_id=f"{folder}/img_{i:07d}", folder=folder, version=1_700_000_000 + i,
                          format=formats[i % 4 if i % 10 else 1], width=640, height=480, bytes=(i * 7919) % 5_000_000,
                          etag=f"{i:032x}", content_hash=f"{i:064x}", storage_name=f"x/{i}.jpg",
                          original_filename=f"IMG_{i:05d}", context={"alt": f"photo {i}"} if i % 3 == 0 else {}))
    Asset.objects.bulk_create(rows, batch_size=5000)
    ids = list(Asset.objects.order_by("id").values_list("id", flat=True)[::10])
    AssetTag.objects.bulk_create([AssetTag(asset_id=pk, name=f"t{n % 10}") for n, pk in enumerate(ids)], batch_size=5000)
    Folder.objects.bulk_create([Folder(path="f")] + [Folder(path=f"f/{n}") for n in range(200)])
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    else:
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    load_seconds = time.perf_counter() - started

    User = get_user_model()
    user = User.objects.create_superuser("bench", "", "x")
    client = Client()
    client.force_login(user)

    def deep_cursor(sort: str) -> str:
        fields = library.SORTS[sort][1]
        row = Asset.objects.order_by(*fields)[int(count * 0.9)]
        return library.encode_cursor(sort, [getattr(row, f.lstrip("-")) for f in fields])

    results = {}
    for label, url, params in CASES:
        params = dict(params)
        headers = {}
        if "deep" in params:
            params["after"] = deep_cursor(params.pop("deep"))
        if "deep_before" in params:  # Previous: the keyset read backwards
            params["before"] = deep_cursor(params.pop("deep_before"))
        if params.pop("htmx", None):
            headers = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "results"}
        times = []
        for _ in range(runs + 1):
            t0 = time.perf_counter()
            response = client.get(url, params, **headers)
            times.append((time.perf_counter() - t0) * 1000)
            assert response.status_code == 200, (label, response.status_code)
        results[label] = {"median": statistics.median(times[1:]), "max": max(times[1:]),
                          "tiles": response.content.count(b'class="tile"')}
    return {"backend": backend, "load_seconds": load_seconds, "results": results}


def run_child(env: dict, backend: str, count: int, runs: int, script: str = __file__) -> dict:
    proc = subprocess.run([sys.executable, script, "--child", backend, "--assets", str(count), "--runs", str(runs)],
                          env=env, cwd=ROOT, capture_output=True, text=True, timeout=3600)
    if proc.returncode != 0:
        raise RuntimeError(f"{backend} run failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def postgres_database(url: str):
    """Create a throwaway database on the server of ``url``; returns (its URL, drop function)."""
    import psycopg

    parts = urlsplit(url)
    name = f"dam_bench_{os.getpid()}"
    admin_url = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')

    def drop():
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    return urlunsplit(parts._replace(path="/" + name)), drop


def run_backends(description: str, script: str, child_fn, prefix: str):
    """The benches' shared driver: parse --assets/--runs; as a child (``--child <backend>``)
    print ``child_fn``'s JSON report and return None; else run a child on a throwaway SQLite
    database and, when DATABASE_URL names PostgreSQL, one on a throwaway database there, and
    return ``(args, reports)``."""
    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--assets", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    args.assets = max(1000, min(args.assets, 1_000_000))
    args.runs = max(1, min(args.runs, 50))
    if args.child:
        print(json.dumps(child_fn(args.child, args.assets, args.runs)))
        return None

    base = {k: v for k, v in os.environ.items() if not k.startswith(("DAM_", "DATABASE_URL", "CELERY_"))}
    base.update({"DJANGO_SETTINGS_MODULE": "config.settings", "DAM_LOG_LEVEL": "WARNING", "DAM_DEBUG": "0"})
    reports = []
    with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
        env = {**base, "DAM_VAR_DIR": tmp, "DATABASE_URL": f"sqlite:///{tmp}/bench.sqlite3"}
        reports.append(run_child(env, "sqlite", args.assets, args.runs, script))
        if os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://")):
            url, drop = postgres_database(os.environ["DATABASE_URL"])
            try:
                reports.append(run_child({**env, "DATABASE_URL": url}, "postgresql", args.assets, args.runs, script))
            finally:
                drop()
    return args, reports


def main() -> None:
    ran = run_backends(__doc__, __file__, child, "dam-bench-library-")
    if ran is None:
        return
    args, reports = ran

    print(f"\nMedia Library, {args.assets:,} assets, median of {args.runs} requests (ms, whole view via the test client)")
    header = f"{'case':<30}" + "".join(f"{r['backend'] + ' ms (max)':>22}" for r in reports) + f"{'tiles':>7}"
    print(header)
    print("-" * len(header))
    for label, _, _ in CASES:
        cells = "".join(f"{r['results'][label]['median']:>14.1f} ({r['results'][label]['max']:>5.0f})"
                        for r in reports)
        print(f"{label:<30}{cells}{reports[0]['results'][label]['tiles']:>7}")
    for r in reports:
        print(f"{r['backend']}: rows created in {r['load_seconds']:.1f} s")


if __name__ == "__main__":
    main()
