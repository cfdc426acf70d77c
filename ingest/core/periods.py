"""When a recurring check is due (pure): calendar periods in campus time (docs/inspections.md).

A plan that runs "monthly" must be done at least once in every calendar month (公安部令61号: fire
inspections at least quarterly, facilities monthly, detector tests yearly). The period that holds
an instant is computed in the campus's zone, so a check signed at 23:30 on 31 March in Shanghai
counts for March whatever zone the server runs in.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

Frequency = Literal["daily", "weekly", "monthly", "quarterly", "yearly"]
FREQUENCIES: tuple[Frequency, ...] = ("daily", "weekly", "monthly", "quarterly", "yearly")


def period(frequency: str, at: datetime, tz: str) -> tuple[datetime, datetime]:
    """[start, end) of the calendar period of ``frequency`` that holds the instant ``at``, in zone ``tz``."""
    zone = ZoneInfo(tz)
    day = at.astimezone(zone).date()
    if frequency == "daily":
        first, last = day, day + timedelta(days=1)
    elif frequency == "weekly":
        first = day - timedelta(days=day.weekday())
        last = first + timedelta(days=7)
    elif frequency == "monthly":
        first = day.replace(day=1)
        last = _add_months(first, 1)
    elif frequency == "quarterly":
        first = day.replace(month=(day.month - 1) // 3 * 3 + 1, day=1)
        last = _add_months(first, 3)
    elif frequency == "yearly":
        first = day.replace(month=1, day=1)
        last = first.replace(year=first.year + 1)
    else:
        raise ValueError(f"unknown frequency {frequency!r}")
    return datetime.combine(first, time.min, zone), datetime.combine(last, time.min, zone)


def _add_months(d: date, months: int) -> date:
    y, m = divmod(d.month - 1 + months, 12)
    return d.replace(year=d.year + y, month=m + 1)


@dataclass(frozen=True)
class Due:
    """Where a recurring check stands at an instant."""

    state: Literal["done", "due", "overdue"]
    period_start: datetime
    period_end: datetime  # the current period's end: the deadline of a check not yet done
    overdue_since: datetime | None = None  # the end of the first period that passed without a check


def status(frequency: str, done: list[datetime], since: datetime, now: datetime, tz: str) -> Due:
    """A plan's state at ``now``: done in the current period, due by its end, or overdue because the
    previous period (which the plan, started at ``since``, ran all of) passed with no check done.
    """
    start, end = period(frequency, now, tz)
    if any(start <= d < end for d in done):
        return Due("done", start, end)
    prev_start, prev_end = period(frequency, start - timedelta(seconds=1), tz)
    # the previous period counts when the plan ran all of it
    if since <= prev_start and not any(prev_start <= d < prev_end for d in done):
        return Due("overdue", start, end, overdue_since=prev_end)
    return Due("due", start, end)


def detector_test_overdue(last_tested: datetime | None, commissioned: datetime, now: datetime, days: int = 365) -> bool:
    """A detector is overdue for its test when none was done within ``days`` (counting from its
    commissioning when it was never tested).
    """
    return now - (last_tested or commissioned) > timedelta(days=days)
