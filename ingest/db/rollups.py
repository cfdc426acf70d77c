"""Plain PostgreSQL: keep readings_5m, readings_1h and events_1h up to date.

On TimescaleDB these are continuous aggregates with real-time aggregation and this module
does nothing. Here, each batch records the oldest event time it stored (``meta``
``rollup_dirty_from``); the ingest tick re-aggregates from there (at most once every few
seconds), so late and replayed data are rolled up too. Buckets use date_bin with the same
origin as time_bucket, so both modes give the same buckets and the same numbers.
"""

from __future__ import annotations

from datetime import datetime

import psycopg
from psycopg import sql
from psycopg.rows import tuple_row

MARK_DIRTY = """
INSERT INTO meta (key, value) VALUES ('rollup_dirty_from', %(ts)s)
ON CONFLICT (key) DO UPDATE SET value = least(meta.value::timestamptz, EXCLUDED.value::timestamptz)::text"""
TAKE_DIRTY = "DELETE FROM meta WHERE key = 'rollup_dirty_from' RETURNING value::timestamptz"
ORIGIN = "TIMESTAMPTZ '2000-01-03 00:00:00+00'"
REFRESH_READINGS = sql.SQL("""
INSERT INTO {table} (bucket, sensor_id, metric, avg, min, max, n)
SELECT date_bin(%(width)s::interval, time, """ + ORIGIN + """), sensor_id, metric, avg(value), min(value), max(value), count(*)
FROM readings WHERE time >= date_bin(%(width)s::interval, %(since)s::timestamptz, """ + ORIGIN + """)
GROUP BY 1, 2, 3
ON CONFLICT (sensor_id, metric, bucket) DO UPDATE
SET avg = EXCLUDED.avg, min = EXCLUDED.min, max = EXCLUDED.max, n = EXCLUDED.n""")
REFRESH_EVENTS = """
INSERT INTO events_1h (bucket, building_id, kind, state, n)
SELECT date_bin('1 hour', time, """ + ORIGIN + """), building_id, kind, coalesce(state, ''), count(*)
FROM events WHERE time >= date_bin('1 hour', %(since)s::timestamptz, """ + ORIGIN + """)
GROUP BY 1, 2, 3, 4
ON CONFLICT (building_id, kind, state, bucket) DO UPDATE SET n = EXCLUDED.n"""


def mark_dirty(conn: psycopg.Connection, oldest: datetime) -> None:
    """Called in the batch transaction: rows from ``oldest`` on need rolling up."""
    conn.execute(MARK_DIRTY, {"ts": oldest.isoformat()})


def refresh(conn: psycopg.Connection, mode: str) -> bool:
    """Re-aggregate what changed; True when there was something to do."""
    if mode == "timescaledb":
        return False
    with conn.transaction():
        row = conn.cursor(row_factory=tuple_row).execute(TAKE_DIRTY).fetchone()
        if not row:
            return False
        since = row[0]
        for table, width in (("readings_5m", "5 minutes"), ("readings_1h", "1 hour")):
            conn.execute(REFRESH_READINGS.format(table=sql.Identifier(table)), {"width": width, "since": since})
        conn.execute(REFRESH_EVENTS, {"since": since})
    return True
