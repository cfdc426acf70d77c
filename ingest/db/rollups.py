"""Plain PostgreSQL: keep readings_5m, readings_1h, events_5m and events_1h up to date.

On TimescaleDB these are continuous aggregates with real-time aggregation and this module
only clears the markers. Here, each batch appends the oldest event time it stored to
``rollup_dirty``; every few seconds one ingestor (advisory lock) takes those rows and
re-aggregates from the earliest, so late and replayed data are rolled up too. Writers never
wait for the refresh. Buckets use date_bin with the same origin as time_bucket, so both
modes give the same buckets and the same numbers.
"""

from __future__ import annotations

from datetime import datetime

import psycopg
from psycopg.rows import tuple_row

from ingest.db import locks
from ingest.db import queries as q

# The statements (ROLLUP_* in ingest/db/queries.sql) re-read raw rows back to the start of the
# 5-minute bucket only, and sum the hour from its 5-minute rows (an n-weighted average), so a
# refresh costs the same at any minute. date_bin's origin is time_bucket's, 2000-01-03 UTC.
REFRESHES = ("REFRESH_READINGS_5M", "REFRESH_READINGS_1H", "REFRESH_EVENTS_5M", "REFRESH_EVENTS_1H")


def mark_dirty(conn: psycopg.Connection, oldest: datetime) -> None:
    """Called in the batch transaction: rows from ``oldest`` on need rolling up."""
    conn.execute(q.MARK_DIRTY, {"ts": oldest})


def refresh(conn: psycopg.Connection, mode: str) -> bool:
    """Re-aggregate what changed; True when there was something to do."""
    with conn.transaction():
        cur = conn.cursor(row_factory=tuple_row)
        got = cur.execute(q.TRY_REFRESH_LOCK, {"key": locks.ROLLUP_REFRESH}).fetchone()
        if not got or not got[0]:
            return False  # another ingestor is refreshing; its successor round takes our rows
        taken = cur.execute(q.TAKE_DIRTY).fetchone()
        since = taken[0] if taken else None
        if since is None or mode == "timescaledb":  # continuous aggregates need no help
            return False
        for name in REFRESHES:
            conn.execute(getattr(q, name), {"since": since})
    return True
