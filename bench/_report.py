"""The delivery benchmark's results and its table (markdown, pasteable into the README)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from _load import Run

OVERHEAD_GOAL = 1.15  # (a) first render at most 15% over bare pyvips
HITS_GOAL = 2.0  # (b) cached hits at least 2x thumbor's
RSS_GOAL_MB = 300  # (d) peak RSS of a worker rendering a 50 MP source


@dataclass
class Results:
    date: str = ""
    machine: str = ""
    commit: str = ""
    database: str = "SQLite"
    server: str = "granian"  # how our server ran (from the served tree's Procfile web command)
    load: tuple[float, float] = (0.0, 0.0)  # 1-minute load average at the start and the end
    stand_in: str = ""  # why transformations could not be measured, if so
    first_render: dict[str, float] = field(default_factory=dict)  # side -> median seconds
    first_render_n: int = 0
    first_render_paired: float = float("nan")  # median of each sample's ours/bare
    hits: dict[str, Run] = field(default_factory=dict)
    hits_client: str = "python"  # (b)'s load client: "wrk" or "python" (bench/_load.py threads)
    floor: dict[str, Run] = field(default_factory=dict)  # the cheapest answer: our 404, thumbor's healthcheck
    uncached: dict[str, Run] = field(default_factory=dict)
    rss: dict[tuple[str, str], tuple[int, int]] = field(default_factory=dict)  # (side, case) -> kB before, peak


def _ms(seconds: float) -> str:
    return "n/a" if seconds is None or math.isnan(seconds) else f"{seconds * 1000:.1f} ms"


def _mb(kb: int) -> str:
    return f"{kb / 1024:.0f} MB"


def _met(ok: bool) -> str:
    return "yes" if ok else "**NO**"


def _run_cell(run: Run | None, unit: str) -> str:
    if run is None:
        return "n/a"
    cell = f"{run.rate:.1f} {unit} (p50 {_ms(run.p(0.5))}, p99 {_ms(run.p(0.99))})"
    if run.errors:
        cell += f", {len(run.errors)} errors"
    return cell


def rows(r: Results) -> list[tuple[str, ...]]:
    out = []
    first = r.first_render
    if first:
        ratio = first["ours"] / first["bare"]
        out.append((f"(a) first render, 400x300 fill of 12 MP, median of {r.first_render_n}",
                    f"{_ms(first['ours'])} ({ratio:.2f}x bare; per sample {r.first_render_paired:.2f}x)",
                    f"{_ms(first['thumbor'])} ({first['thumbor'] / first['bare']:.2f}x bare)",
                    _ms(first["bare"]), f"<= {OVERHEAD_GOAL:.2f}x bare", _met(ratio <= OVERHEAD_GOAL)))
    if r.hits:
        ours, theirs = r.hits.get("ours"), r.hits.get("thumbor")
        ratio = ours.rate / theirs.rate if ours and theirs and theirs.rate else float("nan")
        out.append((f"(b) cached hits, concurrency 8, 2 processes (client: {r.hits_client})", _run_cell(ours, "req/s"),
                    _run_cell(theirs, "req/s"), "-", f">= {HITS_GOAL:.0f}x thumbor ({ratio:.2f}x)",
                    _met(ratio >= HITS_GOAL and not (ours.errors or theirs.errors))))
    if r.floor:
        out.append(("(b) for scale: cheapest answer (ours: 404, thumbor: /healthcheck), concurrency 8",
                    _run_cell(r.floor.get("ours"), "req/s"), _run_cell(r.floor.get("thumbor"), "req/s"), "-",
                    "-", "-"))
    if r.uncached:
        ours, theirs = r.uncached.get("ours"), r.uncached.get("thumbor")
        ratio = ours.rate / theirs.rate if ours and theirs and theirs.rate else float("nan")
        out.append(("(c) uncached renders, concurrency 4, 2 processes", _run_cell(ours, "renders/s"),
                    _run_cell(theirs, "renders/s"), "-", f"vs thumbor ({ratio:.2f}x)",
                    "-" if not (ours.errors or theirs.errors) else "**errors**"))
    for case in dict.fromkeys(case for _, case in r.rss):
        cells = {}
        for side in ("ours", "thumbor", "bare"):
            before, peak = r.rss.get((side, case), (0, 0))
            cells[side] = f"{_mb(peak)} (idle {_mb(before)})" if peak else "n/a"
        peak = r.rss.get(("ours", case), (0, 0))[1]
        out.append((f"(d) peak RSS of one worker, 50 MP source, {case}", cells["ours"], cells["thumbor"],
                    cells["bare"], f"< {RSS_GOAL_MB} MB", _met(0 < peak / 1024 < RSS_GOAL_MB)))
    return out


def print_table(r: Results, args) -> None:
    header = ("metric", "ours", "thumbor", "bare pyvips", "goal", "met?")
    print()
    print(f"Delivery benchmark, {r.date}; {r.machine}; our commit {r.commit[:10]}; "
          f"load average {r.load[0]:.2f} at the start, {r.load[1]:.2f} at the end")
    print(f"Our server: {r.server}, DAM_DEBUG off, {r.database}, local storage; thumbor: file loader, "
          "file result storage, PIL engine, q80 baseline JPEG; bare pyvips: in-process thumbnail + "
          "jpegsave_buffer(Q=80).")
    if r.stand_in:
        print(f"**STAND-IN**: transformations answered {r.stand_in}; 'ours' measured the ORIGINAL's delivery, "
              "not a render. These figures do not answer the goals.")
    print()
    print("| " + " | ".join(header) + " |")
    print("|" + "|".join("---" for _ in header) + "|")
    for row in rows(r):
        print("| " + " | ".join(row) + " |")
    for kind, runs in (("hits", r.hits), ("floor", r.floor), ("uncached", r.uncached)):
        for side, run in runs.items():
            print(f"  {kind} {side} ({run.client}): {run.ok} ok in {run.wall:.2f} s, client CPU {run.client_cpu:.2f} s, "
                  f"{run.bytes / max(run.ok, 1) / 1024:.1f} KiB/response")
            for message in run.errors[:3]:
                print(f"    error: {message}")
