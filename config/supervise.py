"""Runs the Procfile's processes and keeps them running: ``python -m config.supervise``
(what ``./dam start`` runs).

honcho, which ``./dam start`` ran before, stops everything as soon as one process exits.
granian exits by design when it sees a worker crash loop (a worker dying within seconds of
its respawn), so a burst of worker crashes stopped the web server, and honcho then stopped
the Celery worker too: an outage until someone restarted it by hand.  Here each process is
restarted on its own when it exits, whatever the reason, while the others keep running:

- each runs ``/bin/sh -c <command>`` (the Procfile's ``${VAR:-default}`` expansions work)
  in a process group of its own; its output (standard output and error) is printed line by
  line with its name in front, honcho-style, and ``PYTHONUNBUFFERED=1`` keeps Python's
  lines in order;
- when it exits, what is left of its group (orphaned workers of a killed granian or Celery
  main process, which would hold the port or consume the queue) is killed, and it is started
  again after a back-off: ``--min-delay`` seconds, doubled at each exit that follows a
  short run, at most ``--max-delay``; a run longer than ``--stable`` seconds resets it;
- SIGINT, SIGTERM or SIGHUP stop everything cleanly: SIGTERM to every group (granian and
  Celery finish their requests and tasks), SIGKILL to what is left after
  ``--stop-timeout`` seconds or at a second signal, then exit 0.

With ``--ready-url``, once that URL answers and the processes' start-up output has settled,
a short block says the app is ready, where to open it, and what ``--ready-note`` holds
(``./dam start`` passes ``manage.py bootstrap``'s message, with the first run's
credentials): printed last, so the Celery worker's banner cannot scroll it away.

In production, prefer the platform's supervisor (a systemd unit per Procfile line with
``Restart=always``, Kubernetes restart policies); this one makes the single-machine
``./dam start`` recover by itself.
"""

from __future__ import annotations

import argparse
import http.client
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
COLOURS = ["36", "33", "32", "35", "34", "31"]
SETTLED = 1.5  # seconds without a line from the processes: their start-up output is over ...
SETTLE_AT_MOST = 30.0  # ... or this long after the URL first answered, whichever comes first


def read_procfile(path: Path) -> list[tuple[str, str]]:
    """(name, command) per ``name: command`` line; blank lines and comments skipped."""
    entries = []
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#") or ":" not in line:
            continue
        name, command = (part.strip() for part in line.split(":", 1))
        if not name.replace("_", "").replace("-", "").isalnum() or not command:
            raise ValueError(f"{path}: bad Procfile line {line!r}")
        entries.append((name, command))
    if not entries:
        raise ValueError(f"{path}: no processes")
    return entries


class Output:
    """Lines of every process, prefixed and written whole (one lock for all writers)."""

    def __init__(self, names: list[str], stream=None):
        self.stream = stream or sys.stdout
        self.width = max(len(name) for name in [*names, "system"])
        colour = self.stream.isatty() and os.environ.get("NO_COLOR") is None
        self.colours = {name: COLOURS[i % len(COLOURS)] for i, name in enumerate(names)} if colour else {}
        self.lock = threading.Lock()
        self.last = time.monotonic()  # when a process last printed a line

    def line(self, name: str, *texts: str) -> None:
        """Write `texts` as lines of `name`, together (no other process's line in between)."""
        prefix = f"{time.strftime('%H:%M:%S')} {name:<{self.width}} |"
        if name in self.colours:
            prefix = f"\033[{self.colours[name]}m{prefix}\033[0m"
        with self.lock:
            try:
                self.stream.write("".join(f"{prefix} {text}\n" for text in texts))
                self.stream.flush()
            except (OSError, ValueError):  # our own output went away: keep supervising
                pass

    def copy(self, name: str, pipe) -> None:
        with pipe:
            for raw in iter(pipe.readline, b""):
                self.last = time.monotonic()
                self.line(name, raw.decode(errors="replace").rstrip("\r\n"))


@dataclass
class Child:
    name: str
    command: str
    proc: subprocess.Popen | None = None
    started: float = 0.0
    quick_exits: int = 0  # exits in a row, each after a run shorter than `stable`
    start_at: float = 0.0


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def _signal_group(pgid: int, sig: int) -> bool:
    try:
        os.killpg(pgid, sig)
        return True
    except (ProcessLookupError, PermissionError):
        return False


class Supervisor:
    def __init__(self, entries, *, min_delay=1.0, max_delay=30.0, stable=60.0, stop_timeout=40.0,
                 cwd: Path = ROOT, stream=None, ready_url: str | None = None, ready_note: str = ""):
        self.children = [Child(name, command) for name, command in entries]
        self.min_delay, self.max_delay, self.stable, self.stop_timeout = min_delay, max_delay, stable, stop_timeout
        self.cwd = cwd
        self.out = Output([child.name for child in self.children], stream)
        self.stopping = 0  # signals received
        self.wake = threading.Event()
        self.ready_url, self.ready_note = ready_url, ready_note

    def log(self, text: str) -> None:
        self.out.line("system", text)

    def start(self, child: Child) -> None:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        child.proc = subprocess.Popen(["/bin/sh", "-c", child.command], cwd=self.cwd, env=env,
                                      stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                      stderr=subprocess.STDOUT, start_new_session=True)
        child.started = time.monotonic()
        threading.Thread(target=self.out.copy, args=(child.name, child.proc.stdout), daemon=True).start()
        self.log(f"{child.name} started (pid {child.proc.pid})")

    def exited(self, child: Child, now: float) -> None:
        code = child.proc.returncode
        _signal_group(child.proc.pid, signal.SIGKILL)  # what it left running
        ran = now - child.started
        child.quick_exits = 1 if ran >= self.stable else child.quick_exits + 1
        delay = min(self.max_delay, self.min_delay * 2 ** (child.quick_exits - 1))
        child.start_at = now + delay
        child.proc = None
        how = f"killed by {_signal_name(-code)}" if code < 0 else f"exited with code {code}"
        if code > 128:  # how the shell reports that its command was killed by signal code - 128
            how += f" ({_signal_name(code - 128)})"
        self.log(f"{child.name} {how} after {ran:.1f}s; restarting in {delay:g}s")

    def answers(self) -> bool:
        """Whether the ready URL gives any HTTP answer (a redirect to the login page will do)."""
        url = urlsplit(self.ready_url)
        try:
            conn = http.client.HTTPConnection(url.hostname, url.port or 80, timeout=2)
            try:
                conn.request("GET", url.path or "/")
                conn.getresponse()
            finally:
                conn.close()
            return True
        except (OSError, http.client.HTTPException):
            return False

    def announce(self) -> None:
        """Wait for the ready URL, then for the start-up output to settle, then say so."""
        while not self.stopping and not self.answers():
            self.wake.wait(0.5)
        deadline = time.monotonic() + SETTLE_AT_MOST
        while not self.stopping and time.monotonic() - self.out.last < SETTLED and time.monotonic() < deadline:
            time.sleep(0.2)
        if self.stopping:
            return
        rule = "-" * 64
        self.out.line("system", rule, f"Ready: open {self.ready_url} in a browser.",
                      *self.ready_note.strip("\n").splitlines(), "Ctrl-C stops everything.", rule)

    def on_signal(self, signum, frame) -> None:
        self.stopping += 1
        self.wake.set()

    def run(self) -> int:
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, self.on_signal)
        for child in self.children:
            self.start(child)
        if self.ready_url:
            threading.Thread(target=self.announce, daemon=True).start()
        while not self.stopping:
            now = time.monotonic()
            for child in self.children:
                if child.proc is not None and child.proc.poll() is not None:
                    self.exited(child, now)
                elif child.proc is None and now >= child.start_at:
                    self.start(child)
            self.wake.wait(0.2)
        return self.stop()

    def stop(self) -> int:
        running = [child.proc for child in self.children if child.proc is not None]
        self.log(f"stopping {len(running)} processes")
        for proc in running:  # the whole group: the leader is the shell running the Procfile line
            _signal_group(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + self.stop_timeout
        asked = self.stopping
        while time.monotonic() < deadline and self.stopping == asked:
            # the leader's exit is not enough: wait for its whole group
            if not any(proc.poll() is None or _signal_group(proc.pid, 0) for proc in running):
                break
            self.wake.clear()
            self.wake.wait(0.1)
        for proc in running:
            if _signal_group(proc.pid, signal.SIGKILL):
                self.log(f"pid {proc.pid}'s group killed")
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                pass
        self.log("stopped")
        return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m config.supervise", description=__doc__.split("\n\n")[0])
    parser.add_argument("-f", "--procfile", type=Path, default=ROOT / "Procfile")
    parser.add_argument("--min-delay", type=float, default=1.0, help="seconds before a first restart")
    parser.add_argument("--max-delay", type=float, default=30.0, help="longest wait before a restart")
    parser.add_argument("--stable", type=float, default=60.0, help="a run this long resets the back-off")
    parser.add_argument("--stop-timeout", type=float, default=40.0, help="seconds between SIGTERM and SIGKILL")
    parser.add_argument("--ready-url", help="say 'ready' once this URL answers and the start-up output settled")
    parser.add_argument("--ready-note", type=Path,
                        help="a file whose text the ready block shows; removed once read (it may hold credentials)")
    args = parser.parse_args(argv)
    note = ""
    if args.ready_note:
        note = args.ready_note.read_text()
        args.ready_note.unlink()
    supervisor = Supervisor(read_procfile(args.procfile), min_delay=args.min_delay, max_delay=args.max_delay,
                            stable=args.stable, stop_timeout=args.stop_timeout, cwd=args.procfile.resolve().parent,
                            ready_url=args.ready_url, ready_note=note)
    return supervisor.run()


if __name__ == "__main__":
    sys.exit(main())
