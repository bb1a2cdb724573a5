"""Counters per time window that every web process shares: rows of ``assets.Counter``.

A limit kept in each process's memory is multiplied by the number of processes (and
forgotten on every restart), so the Admin API rate limit and the log-in throttle count
in the database instead.  Each event is one statement, an UPSERT that adds one and
returns the new count atomically (``INSERT ... ON CONFLICT DO UPDATE ... RETURNING``,
SQLite 3.35+ and PostgreSQL alike): two processes counting at the same moment never
lose a hit.  Windows are fixed (``started`` = now rounded down to the period); the
first hit of a window also sweeps rows whose window has ended, so the table holds
about one row per active name.  A pause (``pause``/``paused_until``) is a row of its
own that lasts a full period from the moment it is set, so a limit reached at the end
of a window still holds for the whole period.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from django.db import IntegrityError, connection, transaction
from django.db.models import F

from .models import Counter


@dataclass(frozen=True)
class Window:
    count: int  # events in this window so far
    ends: int  # when the window ends, in seconds since the epoch


def _bounds(period: int, now: float | None) -> tuple[int, int, int]:
    """(now, start of its window, end of its window), in whole seconds."""
    moment = int(time.time() if now is None else now)
    started = moment - moment % period
    return moment, started, started + period


def hit(name: str, period: int, now: float | None = None) -> Window:
    """Count one event for `name` in the current `period`-second window."""
    moment, started, ends = _bounds(period, now)
    return hit_window(name, started, ends, moment)


def hit_window(name: str, started: int, ends: int, moment: int | None = None) -> Window:
    """Count one event for `name` in the window [started, ends) (windows of uneven length,
    such as calendar months, that `hit` cannot compute)."""
    moment = int(time.time()) if moment is None else moment
    quote = connection.ops.quote_name
    table = quote(Counter._meta.db_table)
    name_col, started_col, count_col, expires_col = (quote(c) for c in ("name", "started", "count", "expires"))
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} ({name_col}, {started_col}, {count_col}, {expires_col}) VALUES (%s, %s, 1, %s) "
            f"ON CONFLICT ({name_col}, {started_col}) DO UPDATE SET {count_col} = {table}.{count_col} + 1 "
            f"RETURNING {count_col}",
            [name, started, ends],
        )
        count = cursor.fetchone()[0]
    if count == 1:  # a new window: rows of ended ones go
        Counter.objects.filter(expires__lte=moment).delete()
    return Window(count, ends)


def unhit(name: str, started: int) -> None:
    """Take back one event counted in the window starting at `started` (work that was refused
    or failed after it was counted); never below zero."""
    Counter.objects.filter(name=name, started=started, count__gt=0).update(count=F("count") - 1)


def peek(name: str, period: int, now: float | None = None) -> Window:
    """The current window of `name`, without counting an event."""
    _, started, ends = _bounds(period, now)
    count = Counter.objects.filter(name=name, started=started).values_list("count", flat=True).first()
    return Window(count or 0, ends)


def peek_window(name: str, started: int) -> int:
    """Events counted for `name` in the window starting at `started`."""
    return Counter.objects.filter(name=name, started=started).values_list("count", flat=True).first() or 0


def clear(name: str) -> None:
    """Forget every window of `name`."""
    Counter.objects.filter(name=name).delete()


def pause(name: str, seconds: int, now: float | None = None) -> int:
    """Mark `name` paused for `seconds` from now (a full period, wherever the fixed window
    stands); returns when the pause ends."""
    until = int(time.time() if now is None else now) + seconds
    pause_name = f"pause:{name}"
    updated = Counter.objects.filter(name=pause_name, started=0).update(count=1, expires=until)
    if not updated:
        try:
            with transaction.atomic():
                Counter.objects.create(name=pause_name, started=0, count=1, expires=until)
        except IntegrityError:  # another process paused it at the same moment
            Counter.objects.filter(name=pause_name, started=0).update(count=1, expires=until)
    return until


def paused_until(name: str, now: float | None = None) -> int | None:
    """When the pause of `name` ends, or None when it is not paused."""
    moment = int(time.time() if now is None else now)
    return Counter.objects.filter(name=f"pause:{name}", started=0, expires__gt=moment).values_list(
        "expires", flat=True).first()
