"""Trend queries over 30 days of data for 500 sensors: do the pages answer within 1 s?

Loads 30 days of readings (one event every 5 minutes for 500 lab sensors, two metrics each:
about 8.6 million readings in 4.3 million events) and door events into a fresh database, rolls them up the way
ingest does, then times every query the trends page runs, against a baseline of the same
question asked of the raw readings. Run: .venv/bin/python bench/trends.py
"""

from __future__ import annotations

import argparse
import time
from datetime import UTC, datetime, timedelta

import psycopg
from common import fresh_database  # noqa: I001
from psycopg.rows import dict_row

from dashboard import queries as q
from ingest.db import queries as dbq
from ingest.db import rollups
from ingest.db.migrate import recorded_mode

RETENTION = timedelta(days=400)
RAW_SENSOR_30D = """
SELECT date_bin('1 hour', time, TIMESTAMPTZ '2000-01-03') AS bucket, avg(value), min(value), max(value)
FROM readings WHERE sensor_id = %(sensor)s AND metric = %(metric)s AND time >= %(since)s GROUP BY 1 ORDER BY 1"""


def load(conn: psycopg.Connection, sensors: int, days: int) -> int:
    """Synthetic lab events (two readings each, in the event's row as ingest stores them) and
    door events, with COPY; every 5-minute bucket marked for the rollups. Returns the readings."""
    end = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    start = end - timedelta(days=days)
    n = 0
    with conn.cursor() as cur:
        for i in range(sensors):
            cur.execute("INSERT INTO sensors (id, kind, building_id) VALUES (%s, 'lab', %s)", (f"s{i}", f"b{i % 12}"))
        # In time order, as ingest stores them (the time indexes find a bucket's rows).
        with cur.copy("COPY events (time, sensor_id, building_id, kind, event_id, state, payload, received_at,"
                      " reading_metrics, reading_values) FROM STDIN") as copy:
            t, k = start, 0
            while t < end:
                for i in range(sensors):
                    k += 1
                    copy.write_row((t, f"s{i}", f"b{i % 12}", "lab", str(k), "readings", "{}", t,
                                    ["temperature_c", "humidity_pct"], [20 + (i % 7) + (t.hour / 24), 40.0 + (i % 11)]))
                    n += 2
                if t.minute % 10 == 0:
                    for d in range(50):
                        k += 1
                        copy.write_row((t, f"d{d}", f"b{d % 12}", "door", str(k), "access_granted", "{}", t,
                                        None, None))
                t += timedelta(minutes=5)
    buckets = [start + timedelta(minutes=5 * i) for i in range(int((end - start) / rollups.BUCKET))]
    conn.execute(dbq.MARK_DIRTY, {"buckets": buckets})
    conn.commit()
    return n


def timed(conn: psycopg.Connection, sql: str, args: dict) -> tuple[float, int]:
    """Best of three, in seconds, and the row count."""
    best, rows = 1e9, 0
    for _ in range(3):
        t = time.perf_counter()
        rows = len(conn.execute(sql, args).fetchall())
        best = min(best, time.perf_counter() - t)
    return best, rows


def main() -> None:
    """Load, roll up, time the queries, print."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--sensors", type=int, default=500)
    ap.add_argument("--days", type=int, default=30)
    args = ap.parse_args()
    with fresh_database() as db_url, psycopg.connect(db_url, row_factory=dict_row) as conn:
        t = time.perf_counter()
        n = load(conn, args.sensors, args.days)
        print(f"loaded {n:,} readings in {time.perf_counter() - t:.0f} s")
        t = time.perf_counter()
        with psycopg.connect(db_url, autocommit=True) as plain:
            mode = recorded_mode(plain) or "postgresql"
            plain.execute("VACUUM ANALYZE")  # what autovacuum does for a live database (BRIN summaries too)
        rollups.refresh(conn, mode, RETENTION)
        print(f"rolled up in {time.perf_counter() - t:.0f} s")
        since = datetime.now(UTC) - timedelta(days=args.days)
        a = {"since": since, "sensor": "s42", "metric": "temperature_c", "building": "b3", "tz": "Asia/Shanghai"}
        base, _ = timed(conn, RAW_SENSOR_30D, a)
        print(f"{'baseline: one sensor 30 d from raw rows':44} {base * 1000:8.1f} ms")
        for name, sql in (
            ("sensor 30 d (hourly rollup)", q.SERIES_SENSOR_1H),
            ("sensor 24 h (5-minute rollup)", q.SERIES_SENSOR_5M),
            ("building 30 d (hourly rollup)", q.SERIES_BUILDING_1H),
            ("event rates 30 d", q.EVENT_RATES),
            ("door heat map 30 d", q.DOOR_HEATMAP),
            ("alarms per day 30 d", q.ALARMS_PER_DAY),
        ):
            args_ = a | ({"since": datetime.now(UTC) - timedelta(hours=24)} if "24 h" in name else {})
            secs, rows = timed(conn, sql, args_)
            ratio = f"; {base / secs:.1f}x the raw-row baseline" if name.startswith("sensor 30 d") else ""
            print(f"{name:44} {secs * 1000:8.1f} ms  ({rows} rows{ratio}){'' if secs < 1 else '  OVER 1 s'}")


if __name__ == "__main__":
    main()
