"""Campus time: the one place that turns stored instants into what a person reads.

Every time is stored as an instant (timestamptz, aware UTC datetimes). Whatever zone the
server process runs in (a container on UTC, an engineer's laptop in New York), a person on
campus reads campus time: each process sets the campus zone once at start-up from
``SAFECAMPUS_SITE_TIMEZONE`` (``use_campus_zone``), and every displayed time and day
boundary goes through the functions below.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

DEFAULT_ZONE = "Asia/Shanghai"
_zone = [ZoneInfo(DEFAULT_ZONE)]  # configuration, set once at start-up (not per request)


def use_campus_zone(name: str) -> None:
    """Set the campus zone (at start-up, from settings)."""
    _zone[0] = ZoneInfo(name)


def campus_zone() -> ZoneInfo:
    """The campus's time zone."""
    return _zone[0]


def now() -> datetime:
    """The current instant (aware, UTC)."""
    return datetime.now(UTC)


def local(ts: datetime) -> datetime:
    """An instant in campus time (a naive datetime is taken as UTC, as the database gives none)."""
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=UTC)
    return ts.astimezone(campus_zone())


def fmt(ts: datetime | None, pattern: str = "%Y-%m-%d %H:%M:%S", missing: str = "") -> str:
    """An instant as campus time text."""
    return local(ts).strftime(pattern) if ts is not None else missing


def today() -> date:
    """Today's date on campus."""
    return local(now()).date()


def day_start(day: date) -> datetime:
    """The instant a campus day begins."""
    return datetime.combine(day, time.min, campus_zone())


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """[start, end) of a campus day (23 or 25 hours long across a DST change, where there is one)."""
    return day_start(day), day_start(day + timedelta(days=1))


def as_campus(naive: datetime) -> datetime:
    """A wall-clock time typed by a person (no zone) read as campus time."""
    return naive if naive.tzinfo else naive.replace(tzinfo=campus_zone())
