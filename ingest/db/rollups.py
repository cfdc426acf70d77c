"""Keep the rollups (readings_5m, readings_1h, events_1h, alarm_activity_10m) true to the raw rows.

Each committed batch appends the 5-minute buckets it wrote to ``rollup_dirty`` (late data
from a sensor that buffered while offline writes to old ones). Every few seconds one
ingestor claims those rows and brings exactly those buckets up to date, one round at a
time, never one refresh per batch:

- plain PostgreSQL: the buckets and their hours are re-aggregated from the raw rows into
  the rollup tables (readings_5m, readings_1h, events_5m, events_1h; alarm_activity_10m is
  a view);
- TimescaleDB: the readings rollups are tables kept the same way (a continuous aggregate
  cannot expand the readings an event's row holds); the others are continuous aggregates
  with real-time aggregation, so buckets past a rollup's watermark already show the raw rows;
  a claimed bucket below the watermark (materialised before its late rows came) is
  refreshed, contiguous buckets in one window.

Rows are deleted only after their buckets are done: a round that dies leaves them claimed
for the next. Buckets use date_bin with time_bucket's origin, so both modes give the same
buckets and the same numbers. No refresh ever reaches back past the retention period: on
TimescaleDB a refresh over dropped chunks would delete rollup rows plain PostgreSQL keeps.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import psycopg
from psycopg.rows import tuple_row

from ingest.core.errors import MigrationError
from ingest.db import locks
from ingest.db import queries as q

logger = logging.getLogger(__name__)

ORIGIN = datetime(2000, 1, 3, tzinfo=UTC)  # time_bucket's origin for buckets under a month
BUCKET = timedelta(minutes=5)  # the finest rollup; what batches mark
# The rollup tables ingest keeps, per mode: their statements (in ingest/db/queries.sql) in this
# order, 5 minutes before hours: the 5-minute ones once per run of contiguous claimed buckets
# (constant bounds, executed unprepared so that each is planned for its bounds), the hourly
# ones once for all the buckets' hours.
REFRESHES = {
    "postgresql": (("REFRESH_READINGS_5M", "REFRESH_EVENTS_5M"), ("REFRESH_READINGS_1H", "REFRESH_EVENTS_1H")),
    "timescaledb": (("REFRESH_READINGS_5M",), ("REFRESH_READINGS_1H",)),
}
_END_OF_TIME = datetime(9999, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class ContinuousAggregate:
    """A TimescaleDB continuous aggregate and its refresh policy (the safety net behind ours)."""

    view: str
    width: timedelta
    window: timedelta  # the policy's start_offset, before it is held inside the retention period
    end_offset: timedelta
    every: timedelta
    retained: bool  # built on a table under the retention policy (events)


AGGREGATES = (
    ContinuousAggregate("events_1h", timedelta(hours=1), timedelta(days=7), timedelta(hours=1),
                        timedelta(minutes=30), True),
    ContinuousAggregate("alarm_activity_10m", timedelta(minutes=10), timedelta(days=30), timedelta(minutes=10),
                        timedelta(minutes=10), False),
)


def bucket_of(ts: datetime, width: timedelta = BUCKET) -> datetime:
    """The start of the bucket of ``width`` holding ``ts`` (date_bin / time_bucket)."""
    return ORIGIN + ((ts - ORIGIN) // width) * width


def dirty_buckets(times: Sequence[datetime]) -> list[datetime]:
    """The buckets holding ``times``, sorted. A batch usually lies within one or two buckets: its
    earliest and latest time say which. Otherwise each whole second is bucketed once (buckets are
    whole minutes, so a second's bucket is that of its every instant; ``timestamp()`` of an
    instant after 1970 floors to its second exactly).
    """
    if not times:
        return []
    first, last = bucket_of(min(times)), bucket_of(max(times))
    if last - first <= BUCKET:
        return [first] if first == last else [first, last]
    seconds = {int(t.timestamp()) for t in times}
    return sorted({bucket_of(datetime.fromtimestamp(s, UTC)) for s in seconds})


def mark_dirty(conn: psycopg.Connection, times: Sequence[datetime]) -> None:
    """Called in the batch transaction with the times of the events stored."""
    buckets = dirty_buckets(times)
    if buckets:
        conn.execute(q.MARK_DIRTY, {"buckets": buckets})


def policy_window(agg: ContinuousAggregate, retention: timedelta) -> timedelta:
    """How far back the policy refreshes: never into chunks the retention policy may drop."""
    if not agg.retained:
        return agg.window
    return max(min(agg.window, retention - agg.width), agg.end_offset + 2 * agg.width)


def refresh(conn: psycopg.Connection, mode: str, retention: timedelta, now: datetime | None = None) -> int:
    """Bring the marked buckets up to date; return how many buckets were claimed (0: none or busy).

    On TimescaleDB only a continuous aggregate's owner may refresh it: the application role is
    made the owner of the rollups (derived data, and nothing else; ``ingest.db.roles``).
    """
    if mode == "timescaledb":
        return _refresh_timescaledb(conn, retention, now or datetime.now(UTC))
    with conn.transaction():
        cur = conn.cursor(row_factory=tuple_row)
        got = cur.execute(q.TRY_REFRESH_LOCK, {"key": locks.ROLLUP_REFRESH}).fetchone()
        if not got or not got[0]:
            return 0  # another ingestor is refreshing; its next round takes our rows
        buckets = [r[0] for r in cur.execute(q.CLAIM_DIRTY).fetchall()]
        if buckets:
            _refresh_kept(conn, "postgresql", buckets)
            conn.execute(q.DONE_DIRTY, {"buckets": buckets})
    return len(buckets)


def _refresh_kept(conn: psycopg.Connection, mode: str, buckets: list[datetime]) -> None:
    """Re-aggregate the rollup tables ingest keeps over ``buckets`` (and their hours)."""
    fine, hourly = REFRESHES[mode]
    for start, end in windows(buckets, BUCKET, _END_OF_TIME, ORIGIN):
        for name in fine:
            conn.execute(getattr(q, name), {"start": start, "end": end}, prepare=False)
    for name in hourly:
        conn.execute(getattr(q, name), {"buckets": buckets})


def windows(buckets: Iterable[datetime], width: timedelta, below: datetime,
            after: datetime) -> list[tuple[datetime, datetime]]:
    """The refresh windows of a rollup of ``width``: its buckets that hold a claimed one.

    Only buckets wholly in ``[after, below)``; contiguous ones are merged into one window.
    """
    starts = sorted({bucket_of(b, width) for b in buckets})
    out: list[list[datetime]] = []
    for s in starts:
        if s < after or s + width > below:
            continue
        if out and out[-1][1] == s:
            out[-1][1] = s + width
        else:
            out.append([s, s + width])
    return [(a, b) for a, b in out]


def _refresh_timescaledb(conn: psycopg.Connection, retention: timedelta, now: datetime) -> int:
    # refresh_continuous_aggregate commits by itself: it cannot run in a transaction block,
    # so the lock is a session lock and every statement commits on its own.
    was = conn.autocommit
    conn.rollback()
    conn.autocommit = True
    try:
        cur = conn.cursor(row_factory=tuple_row)
        got = cur.execute(q.TRY_REFRESH_SESSION_LOCK, {"key": locks.ROLLUP_REFRESH}).fetchone()
        if not got or not got[0]:
            return 0
        try:
            buckets = [r[0] for r in cur.execute(q.CLAIM_DIRTY).fetchall()]
            if buckets:
                with conn.transaction():
                    _refresh_kept(conn, "timescaledb", buckets)
            todo = []
            for agg in AGGREGATES if buckets else ():
                row = cur.execute(q.CAGG_WATERMARK, {"view": agg.view}).fetchone()
                if not row:
                    raise MigrationError(f"{agg.view} is not a continuous aggregate of this database")
                oldest = now - retention + agg.width if agg.retained else ORIGIN
                todo += [(agg.view, a, b) for a, b in windows(buckets, agg.width, row[0], oldest)]
            try:
                for view, start, end in todo:
                    cur.execute(q.REFRESH_CAGG, {"view": view, "start": start, "end": end})
            except psycopg.errors.LockNotAvailable:
                # A policy job is refreshing an overlapping window: the buckets stay claimed and
                # the next round refreshes them (a window already done costs next to nothing).
                logger.debug("rollup refresh: a policy job is refreshing; retried next round")
                return len(buckets)
            if buckets:
                cur.execute(q.DONE_DIRTY, {"buckets": buckets})
        finally:
            cur.execute(q.ADVISORY_UNLOCK, {"key": locks.ROLLUP_REFRESH})
    finally:
        conn.autocommit = was
    return len(buckets)
