"""Reports over a long history: the alarm-system health report for a whole year and the weekly review,
on 400 days (the retention period) of alarms and their journal.

Loads the demo campus into a fresh database and writes, for each of the last 400 days, ``--per-day``
alarms (priorities about 70 % low, 20 % medium, 8 % high, 2 % critical, on the campus's sensors,
each raised, acknowledged, cleared and closed in the journal, some shelved), plus one flood day
(600 alarms in ten minutes). Then starts the real ``safecampus dashboard`` and asks, as a logged-in
viewer, for the health report (HTML and CSV) over one day, 30 days and 365 days, and the weekly
review (HTML and CSV) of the last week; each request's time is the best of three (target ≤ 1 s for
a year). The year against the day is the ratio to read: how the report grows with its period.

Run: .venv/bin/python bench/history.py [--per-day 120]
"""

from __future__ import annotations

import argparse
import http.cookiejar
import time
import urllib.parse
import urllib.request
from datetime import UTC, datetime, timedelta

import psycopg
from common import fresh_database, start_dashboard  # noqa: I001

from ingest.accounts import add_user
from ingest.app.embedded import pick_port, wait_for_port
from ingest.core.sitefile import load_site
from ingest.db.registry import load_site as load_into_db

USER = ("bench-viewer", "bench-viewer-password")
# Alarms of each day at random times: a fifth of them door alarms, the rest by priority.
HISTORY = """
WITH s AS (SELECT array_agg(id ORDER BY id) AS ids, array_agg(building_id ORDER BY id) AS bs FROM sensors),
gen AS (
    SELECT d, g, random() AS r, s.ids[1 + floor(random() * array_length(s.ids, 1))::int] AS sensor,
           date_trunc('day', now()) - make_interval(days => d) + make_interval(secs => floor(random() * 86400)) AS at
    FROM generate_series(1, %(days)s) AS d, generate_series(1, %(per_day)s) AS g, s
)
INSERT INTO alarms (sensor_id, building_id, zone, condition, family, signal_class, priority, state, active,
                    message, raised_at, last_seen_at, cleared_at, acked_at, acked_by, closed_at, closed_by,
                    disposition)
SELECT sensor, (SELECT building_id FROM sensors WHERE id = sensor), NULL,
       CASE WHEN r < 0.02 THEN 'fire' WHEN r < 0.10 THEN 'door_forced' WHEN r < 0.30 THEN 'held_open'
            WHEN r < 0.50 THEN 'temp_high' ELSE 'offline' END,
       CASE WHEN r < 0.02 THEN 'fire' WHEN r < 0.30 THEN 'door' WHEN r < 0.50 THEN 'lab' ELSE 'heartbeat' END,
       CASE WHEN r < 0.10 THEN 'alarm' WHEN r < 0.50 THEN 'supervisory' ELSE 'trouble' END,
       CASE WHEN r < 0.02 THEN 'critical' WHEN r < 0.10 THEN 'high' WHEN r < 0.30 THEN 'medium' ELSE 'low' END,
       'closed', false, 'history', at, at, at + make_interval(secs => 5 + floor(random() * 3600)),
       at + make_interval(secs => 20 + floor(random() * 900)), 'officer1',
       at + make_interval(secs => 3700 + floor(random() * 7200)), 'officer1',
       CASE WHEN r < 0.01 THEN 'real' WHEN r < 0.6 THEN 'false_alarm' ELSE 'nuisance' END
FROM gen
"""
FLOOD = """
INSERT INTO alarms (sensor_id, building_id, condition, family, signal_class, priority, state, active, message,
                    raised_at, last_seen_at, cleared_at, acked_at, acked_by, closed_at, closed_by, disposition)
SELECT s.id, s.building_id, 'door_forced', 'door', 'alarm', 'high', 'closed', false, 'flood',
       date_trunc('day', now()) - interval '40 days' + make_interval(secs => g), now() - interval '40 days',
       now() - interval '39 days', now() - interval '39 days', 'officer1', now() - interval '39 days', 'officer1',
       'real'
FROM generate_series(1, 600) AS g, LATERAL (SELECT id, building_id FROM sensors ORDER BY id OFFSET g % 500 LIMIT 1) s
"""
JOURNAL = """
INSERT INTO alarm_journal (alarm_id, at, event_time, actor, action, from_state, to_state, note, details)
SELECT id, raised_at, raised_at, 'system', 'raised', NULL::text, 'active_unacked', message, NULL::jsonb FROM alarms
UNION ALL SELECT id, acked_at, NULL, acked_by, 'acknowledged', 'active_unacked', 'active_acked', NULL, NULL FROM alarms
UNION ALL SELECT id, cleared_at, cleared_at, 'system', 'cleared', 'active_acked', 'active_acked', NULL, NULL
          FROM alarms
UNION ALL SELECT id, acked_at + interval '1 minute', NULL, 'officer1', 'shelved', 'active_acked', 'active_acked',
                 'workmen', jsonb_build_object('until', acked_at + interval '2 hours') FROM alarms WHERE id % 25 = 0
UNION ALL SELECT id, closed_at, NULL, closed_by, 'closed', 'active_acked', 'closed', NULL,
                 jsonb_build_object('disposition', disposition) FROM alarms
"""


def fill(db_url: str, days: int, per_day: int) -> tuple[int, int]:
    """The history: alarms and their journal (activations follow from the journal's trigger)."""
    with psycopg.connect(db_url) as conn:
        load_into_db(conn, load_site())
        add_user(conn, *USER, "viewer", "Bench Viewer")
        conn.execute(HISTORY, {"days": days, "per_day": per_day})
        conn.execute(FLOOD)
        conn.execute(JOURNAL)
        conn.commit()
        conn.autocommit = True
        conn.execute("VACUUM ANALYZE")
        alarms = conn.execute("SELECT count(*) FROM alarms").fetchone()[0]
        journal = conn.execute("SELECT count(*) FROM alarm_journal").fetchone()[0]
    return alarms, journal


def login(base: str) -> urllib.request.OpenerDirector:
    """A viewer's session, through the login form."""
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
    body = urllib.parse.urlencode({"username": USER[0], "password": USER[1], "next": "/reports/health"}).encode()
    opener.open(urllib.request.Request(f"{base}/login", data=body, headers={"Origin": base})).read()
    return opener


def timed(opener: urllib.request.OpenerDirector, url: str) -> tuple[float, int]:
    """The best of three requests (seconds), and the answer's size."""
    best, size = float("inf"), 0
    for _ in range(3):
        t0 = time.perf_counter()
        with opener.open(url, timeout=120) as resp:
            size = len(resp.read())
            assert resp.status == 200, url
        best = min(best, time.perf_counter() - t0)
    return best, size


def main() -> None:
    """Fill, serve, ask, print."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--per-day", type=int, default=120)
    ap.add_argument("--days", type=int, default=400)
    args = ap.parse_args()
    with fresh_database() as db_url:
        t0 = time.perf_counter()
        alarms, journal = fill(db_url, args.days, args.per_day)
        print(f"history              : {alarms:,} alarms and {journal:,} journal entries over {args.days} days "
              f"(written in {time.perf_counter() - t0:.0f} s)")
        port = pick_port(0)
        dash = start_dashboard(db_url, port)
        try:
            wait_for_port(port, 30)
            base = f"http://127.0.0.1:{port}"
            opener = login(base)
            now = datetime.now(UTC).replace(second=0, microsecond=0)
            results = {}
            for label, days in (("1 day", 1), ("30 days", 30), ("365 days", 365), ("399 days", 399)):
                q = urllib.parse.urlencode({"since": (now - timedelta(days=days)).isoformat(),
                                            "until": now.isoformat()})
                results[label] = timed(opener, f"{base}/reports/health?{q}")
                csv_time, _size = timed(opener, f"{base}/reports/health.csv?{q}")
                print(f"health {label:<9}     : HTML {results[label][0] * 1000:.0f} ms ({results[label][1]:,} bytes), "
                      f"CSV {csv_time * 1000:.0f} ms")
            weekly, size = timed(opener, f"{base}/reports/weekly")
            weekly_csv, _size = timed(opener, f"{base}/reports/weekly.csv")
            print(f"weekly review        : HTML {weekly * 1000:.0f} ms ({size:,} bytes), "
                  f"CSV {weekly_csv * 1000:.0f} ms")
            year, day = results["365 days"][0], results["1 day"][0]
            print(f"year / day           : {year / day:.1f}x (a year's report in {year * 1000:.0f} ms; "
                  "target <= 1000 ms)")
        finally:
            dash.terminate()
            dash.wait(10)


if __name__ == "__main__":
    main()
