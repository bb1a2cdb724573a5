"""Search benchmark: the Search API's engine (assets.search) over 100,000 assets.

    .venv/bin/python bench/search.py [--assets 100000] [--runs 5]
    DATABASE_URL=postgres://user@127.0.0.1:5432/dam .venv/bin/python bench/search.py

Creates the asset rows directly (as bench/library.py: bulk_create, no files; 10% tagged, a
context on a third, structured metadata on some, 200 folders) in a throwaway SQLite
database, and, when DATABASE_URL names a PostgreSQL server, in a throwaway database there
(``dam_bench_<pid>``, dropped at the end). Each query kind is timed as the Search API runs
it (``run.search``: parse, total_count, one page of 50 rows with their tags) and, for the
free-text kinds, against the peer: the same words as a plain ``icontains`` over public_id,
original filename and context text (the count and the first 50 rows; on PostgreSQL the
trigram indexes of migration 0011 serve it too, on SQLite nothing can).
Prints median milliseconds. Only 127.0.0.1 or the given DATABASE_URL is contacted.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# label, expression, sort_by, aggregate, peer words (None: no peer)
CASES = [
    ("free text, rare (1 hit)", "img_0099999", None, None, "img_0099999"),
    ("free text, common (10%)", "img_01", None, None, "img_01"),
    ("free text, context word", "\"photo 4242\"", None, None, "photo 4242"),
    ("free text, no match", "zzzz-nothing", None, None, "zzzz-nothing"),
    ("tags:t3 (1%)", "tags:t3", None, None, None),
    ("folder:f/17/*", "folder:f/17/*", None, None, None),
    ("public_id:f/1* (prefix)", "public_id:f/1*", None, None, None),
    ("bytes>4mb, by bytes desc", "bytes>4mb", [{"bytes": "desc"}], None, None),
    ("width>=800 AND format:png", "width>=800 AND format:png", None, None, None),
    ("created_at>1d (all)", "created_at>1d", None, None, None),
    ("uploaded_at:[range]", "uploaded_at:[2023-11-14 TO 2023-11-15]", None, None, None),
    ("context.alt=\"photo 300\"", "context.alt=\"photo 300\"", None, None, None),
    ("metadata.color=red", "metadata.color=red", None, None, None),
    ("(tags:t1 OR tags:t2) -format:jpg", "(tags:t1 OR tags:t2) -format:jpg", None, None, None),
    ("all, aggregate format+type", "", None, ["format", "type"], None),
    ("all, page 20 by public_id", "", [{"public_id": "asc"}], "deep", None),
]
PAGE = 50


def child(backend: str, count: int, runs: int) -> dict:
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.db.models import Q, TextField
    from django.db.models.functions import Cast

    from assets.models import Asset, AssetTag, Folder
    from assets.search import run

    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    rows, formats, colors = [], ["jpg", "png", "webp", "gif"], ["red", "green", "blue"]
    for i in range(count):
        folder = f"f/{i % 200}"
        rows.append(Asset(public_id=f"{folder}/img_{i:07d}", folder=folder, version=1_700_000_000 + i * 5,
                          format=formats[i % 4 if i % 10 else 1], width=640 + (i % 5) * 100, height=480,
                          bytes=(i * 7919) % 5_000_000, etag=f"{i:032x}", content_hash=f"{i:064x}",
                          storage_name=f"x/{i}.jpg", original_filename=f"IMG_{i:05d}",
                          context={"alt": f"photo {i}"} if i % 3 == 0 else {},
                          metadata={"color": colors[i % 3], "stock": i % 50} if i % 4 == 0 else {}))
    Asset.objects.bulk_create(rows, batch_size=5000)
    ids = list(Asset.objects.order_by("id").values_list("id", flat=True)[::10])
    AssetTag.objects.bulk_create([AssetTag(asset_id=pk, name=f"t{n % 10}") for n, pk in enumerate(ids)],
                                 batch_size=5000)
    Folder.objects.bulk_create([Folder(path="f")] + [Folder(path=f"f/{n}") for n in range(200)])
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    load_seconds = time.perf_counter() - started

    def timed(fn) -> tuple[float, float, object]:
        times, value = [], None
        for _ in range(runs + 1):
            t0 = time.perf_counter()
            value = fn()
            times.append((time.perf_counter() - t0) * 1000)
        return statistics.median(times[1:]), max(times[1:]), value

    def peer(words: str):
        rows_ = Asset.objects.alias(_ctx=Cast("context", TextField())).filter(
            Q(public_id__icontains=words) | Q(original_filename__icontains=words) | Q(_ctx__icontains=words))
        return rows_.count(), list(rows_.order_by("-created_at", "-id")[:PAGE])

    results = {}
    for label, expression, sort_by, aggregate, peer_words in CASES:
        cursor = None
        if aggregate == "deep":  # the 20th page: follow the cursors, then time that page
            aggregate = None
            for _ in range(19):
                cursor = run.search(expression, sort_by, PAGE, cursor, count=False).next_cursor
        found = timed(lambda: run.search(expression, sort_by, PAGE, cursor, aggregate or ()))
        entry = {"median": found[0], "max": found[1], "hits": found[2].total_count}
        if peer_words:
            baseline = timed(lambda: peer(peer_words))
            entry.update(peer=baseline[0], peer_max=baseline[1], peer_hits=baseline[2][0])
            assert baseline[2][0] <= found[2].total_count, (label, baseline[2][0], found[2].total_count)
        results[label] = entry
    return {"backend": backend, "load_seconds": load_seconds, "results": results}


def main() -> None:
    from bench.library import run_backends

    ran = run_backends(__doc__, __file__, child, "dam-bench-search-")
    if ran is None:
        return
    args, reports = ran

    print(f"\nSearch engine, {args.assets:,} assets, median of {args.runs} runs in ms (max); "
          f"peer: the same words as plain icontains (on PostgreSQL the trigram indexes serve it too)")
    header = f"{'case':<36}" + "".join(f"{r['backend'] + ' (max)':>20}{'peer (max)':>16}" for r in reports) \
        + f"{'hits':>8}"
    print(header)
    print("-" * len(header))
    for label, *_ in CASES:
        cells = ""
        for r in reports:
            e = r["results"][label]
            cells += f"{e['median']:>12.1f} ({e['max']:>5.0f})"
            cells += f"{e['peer']:>8.1f} ({e['peer_max']:>5.0f})" if "peer" in e else f"{'-':>16}"
        print(f"{label:<36}{cells}{reports[0]['results'][label]['hits']:>8}")
    for r in reports:
        print(f"{r['backend']}: rows created in {r['load_seconds']:.1f} s")


if __name__ == "__main__":
    main()
