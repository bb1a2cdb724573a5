"""Generations per API key per calendar month (UTC), ``DAM_IMAGE_GENERATION_MONTHLY_QUOTA``.

Counted in ``assets.Counter`` rows through ``assets.throttle`` (one atomic UPSERT per generation, so
every web process and worker shares one count): a request takes its unit before any work and gives
it back when it is refused or its generation fails, so only images made count.  Reported in the
answers' ``limits.addons_quota``.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import datetime, timezone

from django.conf import settings

from .. import throttle
from .errors import GenerationError

TYPE = "image_generation"


def month(now: datetime | None = None) -> tuple[int, int]:
    """(start, end) of the calendar month of `now` (UTC), in seconds since the epoch."""
    now = now or datetime.now(timezone.utc)
    start = datetime(now.year, now.month, 1, tzinfo=timezone.utc)
    end = datetime(now.year + (now.month == 12), now.month % 12 + 1, 1, tzinfo=timezone.utc)
    return calendar.timegm(start.timetuple()), calendar.timegm(end.timetuple())


def _name(api_key: str) -> str:
    return f"imagegen:{api_key}"


@dataclass(frozen=True)
class Usage:
    used_by_request: int
    used: int
    limit: int
    window: int  # start of the month counted in

    def as_json(self) -> list[dict]:
        return [{"type": TYPE, "used_by_request": self.used_by_request,
                 "remaining": max(0, self.limit - self.used), "limit": self.limit}]


def take(api_key: str) -> Usage:
    """Count one generation for `api_key` this month; 429 rate_limit_error past the quota."""
    limit = settings.DAM_IMAGE_GENERATION_MONTHLY_QUOTA
    start, end = month()
    used = throttle.hit_window(_name(api_key), start, end).count
    if used > limit:
        throttle.unhit(_name(api_key), start)
        raise GenerationError(
            f"Image generation quota exceeded: {limit} generations per month for API key {api_key}",
            status=429, category="rate_limit_error", code="quota_exceeded",
            details={"limits": {"addons_quota": Usage(0, limit, limit, start).as_json()}},
            headers={"Retry-After": str(max(1, end - int(datetime.now(timezone.utc).timestamp())))})
    return Usage(1, used, limit, start)


def give_back(api_key: str, window: int) -> None:
    """Return the unit taken in the month starting at `window` (the generation made nothing)."""
    throttle.unhit(_name(api_key), window)


def current(api_key: str, used_by_request: int = 0) -> Usage:
    """This month's usage of `api_key`, counting nothing."""
    start, _ = month()
    used = throttle.peek_window(_name(api_key), start)
    return Usage(used_by_request, used, settings.DAM_IMAGE_GENERATION_MONTHLY_QUOTA, start)
