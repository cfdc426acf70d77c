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

TRY_REFRESH_LOCK = "SELECT pg_try_advisory_xact_lock(%(key)s)"
MARK_DIRTY = "INSERT INTO rollup_dirty (from_ts) VALUES (%(ts)s)"
# Only rows committed before this statement are taken (and deleted); a batch committing
# meanwhile leaves its row for the next round, and nobody waits for anybody.
TAKE_DIRTY = "WITH taken AS (DELETE FROM rollup_dirty RETURNING from_ts) SELECT min(from_ts) FROM taken"
ORIGIN = "TIMESTAMPTZ '2000-01-03 00:00:00+00'"
_SINCE_5M = "date_bin('5 minutes', %(since)s::timestamptz, " + ORIGIN + ")"
_SINCE_1H = "date_bin('1 hour', %(since)s::timestamptz, " + ORIGIN + ")"
# Raw rows are read back to the start of the 5-minute bucket only; the hour is summed from
# its 5-minute rows (n-weighted average), so a refresh costs the same at any minute.
REFRESH_READINGS_5M = """
INSERT INTO readings_5m (bucket, sensor_id, metric, avg, min, max, n)
SELECT date_bin('5 minutes', time, """ + ORIGIN + """), sensor_id, metric, avg(value), min(value), max(value), count(*)
FROM readings WHERE time >= """ + _SINCE_5M + """
GROUP BY 1, 2, 3
ON CONFLICT (sensor_id, metric, bucket) DO UPDATE
SET avg = EXCLUDED.avg, min = EXCLUDED.min, max = EXCLUDED.max, n = EXCLUDED.n"""
REFRESH_READINGS_1H = """
INSERT INTO readings_1h (bucket, sensor_id, metric, avg, min, max, n)
SELECT date_bin('1 hour', bucket, """ + ORIGIN + """), sensor_id, metric,
       sum(avg * n) / sum(n)::double precision, min(min), max(max), sum(n)
FROM readings_5m WHERE bucket >= """ + _SINCE_1H + """
GROUP BY 1, 2, 3
ON CONFLICT (sensor_id, metric, bucket) DO UPDATE
SET avg = EXCLUDED.avg, min = EXCLUDED.min, max = EXCLUDED.max, n = EXCLUDED.n"""
REFRESH_EVENTS_5M = """
INSERT INTO events_5m (bucket, building_id, kind, state, n)
SELECT date_bin('5 minutes', time, """ + ORIGIN + """), building_id, kind, coalesce(state, ''), count(*)
FROM events WHERE time >= """ + _SINCE_5M + """
GROUP BY 1, 2, 3, 4
ON CONFLICT (building_id, kind, state, bucket) DO UPDATE SET n = EXCLUDED.n"""
REFRESH_EVENTS_1H = """
INSERT INTO events_1h (bucket, building_id, kind, state, n)
SELECT date_bin('1 hour', bucket, """ + ORIGIN + """), building_id, kind, state, sum(n)
FROM events_5m WHERE bucket >= """ + _SINCE_1H + """
GROUP BY 1, 2, 3, 4
ON CONFLICT (building_id, kind, state, bucket) DO UPDATE SET n = EXCLUDED.n"""


def mark_dirty(conn: psycopg.Connection, oldest: datetime) -> None:
    """Called in the batch transaction: rows from ``oldest`` on need rolling up."""
    conn.execute(MARK_DIRTY, {"ts": oldest})


def refresh(conn: psycopg.Connection, mode: str) -> bool:
    """Re-aggregate what changed; True when there was something to do."""
    with conn.transaction():
        cur = conn.cursor(row_factory=tuple_row)
        got = cur.execute(TRY_REFRESH_LOCK, {"key": locks.ROLLUP_REFRESH}).fetchone()
        if not got or not got[0]:
            return False  # another ingestor is refreshing; its successor round takes our rows
        taken = cur.execute(TAKE_DIRTY).fetchone()
        since = taken[0] if taken else None
        if since is None or mode == "timescaledb":  # continuous aggregates need no help
            return False
        for statement in (REFRESH_READINGS_5M, REFRESH_READINGS_1H, REFRESH_EVENTS_5M, REFRESH_EVENTS_1H):
            conn.execute(statement, {"since": since})
    return True
