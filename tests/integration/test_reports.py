"""The weekly review from a fixed journal: each figure against a hand count."""

import csv
import io
import json
import subprocess
import sys
from datetime import timedelta

import psycopg

from dashboard.report import health, weekly
from dashboard.report import kpis as K
from dashboard.report import queries as rq
from ingest.alarms import actions, lifecycle
from ingest.alarms.messages import Text
from ingest.alarms.types import Clear, Raise, SensorInfo
from tests.conftest import ROOT

WEEK = "2026-W40"


def _seed(db_url):
    _, start, _ = weekly.week_bounds(WEEK)
    with psycopg.connect(db_url) as conn:
        conn.execute("INSERT INTO departments (id, name) VALUES ('d1', 'Chemistry <b>Dept</b>')")
        conn.execute("INSERT INTO buildings (id, name, department_id) VALUES ('b1', 'Lab <script>x</script>', 'd1')")
        s1 = SensorInfo("s1", "smoke", "b1", "z1")
        s2 = SensorInfo("s2", "door", "b1", "z2")
        t = start + timedelta(days=1, hours=10)
        with conn.transaction():
            fire = lifecycle.apply_raise(
                conn, s1, Raise("fire", "fire", "critical", "alarm", Text("fire"), t, latched=False), False, []
            )
            lifecycle.apply_clear(conn, "s1", Clear("fire", t + timedelta(minutes=5)), False)
            forced = lifecycle.apply_raise(
                conn, s2, Raise("door_forced", "door", "high", "alarm", Text("door_forced"), t + timedelta(hours=1)),
                False, [],
            )
            lifecycle.apply_clear(conn, "s2", Clear("door_forced", t + timedelta(hours=1, minutes=1)), False)
            drill = lifecycle.apply_raise(
                conn, s1, Raise("fire", "fire", "critical", "alarm", Text("fire"), t + timedelta(days=2)), True, []
            )
        # acknowledge times are wall-clock in the application; set them here for a known answer
        for alarm, ack_after, closed in ((fire, 45, "real"), (forced, 400, "false_alarm")):
            actions.close(conn, alarm.alarm["id"], "o1", closed, "checked")
            conn.execute(
                "UPDATE alarms SET acked_at = raised_at + make_interval(secs => %s), "
                "closed_at = raised_at + interval '10 minutes' WHERE id = %s",
                (ack_after, alarm.alarm["id"]),
            )
        conn.execute(
            "UPDATE alarms SET acked_at = raised_at + interval '20 seconds' WHERE id = %s", (drill.alarm["id"],)
        )
        conn.commit()


def test_weekly_review_figures_exports_and_an_empty_week(db_url, tmp_path):
    _seed(db_url)
    with psycopg.connect(db_url) as conn:
        r = weekly.build(conn, WEEK)
        empty = weekly.build(conn, "2026-W10")
    assert r["total"] == 2  # the drill is left out
    assert dict(r["by_priority"]) == {"critical": 1, "high": 1, "medium": 0, "low": 0}
    assert dict(r["dispositions"])["real"] == 1 and dict(r["dispositions"])["false_alarm"] == 1
    assert r["response"]["critical"]["ack"] == {"n": 1, "median": 45.0, "p90": 45.0, "worst": 45.0}
    assert r["response"]["high"]["ack"]["median"] == 400.0 and r["response"]["high"]["late"] == 1  # limit 180 s
    assert r["response"]["critical"]["late"] == 0
    assert r["health"].total == 2 and r["health"].priority_pct == {"low": 0.0, "medium": 0.0, "high": 100.0}
    assert [d["condition"] for d in r["drills"]] == ["fire"] and r["drills"][0]["ack_s"] == 20.0
    assert dict(r["by_department"]) == {"Chemistry <b>Dept</b>": 2}
    assert empty["total"] == 0 and empty["health"].per_hour_avg == 0.0
    streaks = {(lv, n or "Campus"): d for lv, n, d, _, _zh in r["streaks"]}
    assert streaks[("campus", "Campus")] == 5  # the real fire was closed on day 2 of the week (a Tuesday)
    assert streaks[("department", "Chemistry <b>Dept</b>")] == 5
    page = weekly.to_html(empty)
    assert "Weekly review 2026-W10" in page and "0 alarms" in page
    html = weekly.to_html(r)
    assert "<script>x</script>" not in html and "&lt;script&gt;" in html
    rows = list(csv.DictReader(io.StringIO(weekly.to_csv(r))))
    assert [row["condition"] for row in rows] == ["fire alarm", "door forced"]
    assert [row["priority"] for row in rows] == ["critical", "high"]
    # In Chinese: headers and every enumeration (condition, priority, state, disposition, drill).
    zh = list(csv.DictReader(io.StringIO(weekly.to_csv(r, "zh-CN"))))
    assert [(row["报警条件"], row["优先级"], row["处置结论"], row["演练"]) for row in zh] == [
        ("火警", "紧急", "真实事件", "否"), ("门被强开", "高", "误报", "否")]
    zh_page = weekly.to_html(r, "zh-CN")
    assert "每周复盘 2026-W40" in zh_page and 'lang="zh-CN"' in zh_page and "Weekly review" not in zh_page
    out = subprocess.run(
        [sys.executable, "-m", "ingest.app.cli", "report", "weekly", "--week", WEEK, "--out", str(tmp_path)],
        env={"SAFECAMPUS_DB_URL": db_url, "PATH": "/usr/bin:/bin"},
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    assert "week 2026-W40: 2 alarms" in out.stdout
    _, start, end = weekly.week_bounds(WEEK)
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "ingest.app.cli",
            "report",
            "health",
            "--since",
            start.isoformat(),
            "--until",
            end.isoformat(),
        ],
        env={"SAFECAMPUS_DB_URL": db_url, "PATH": "/usr/bin:/bin"},
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    health = json.loads(out.stdout)
    assert health["total"] == 2 and health["priority_pct"]["high"] == 100.0 and health["flood_pct"] == 0.0
    assert (tmp_path / "weekly-2026-W40.html").exists() and (tmp_path / "weekly-2026-W40.csv").exists()


def test_health_counts_from_the_rollup_equal_those_counted_from_the_journal(db_url):
    _, start, end = weekly.week_bounds(WEEK)
    with psycopg.connect(db_url) as conn:
        rows = conn.execute(rq.ACTIVATIONS, {"start": start, "end": end}).fetchall()
        via_rollup = health.health(conn, start, end)
        activations = conn.execute(
            "SELECT count(*) FROM alarm_activations WHERE at >= %s AND at < %s", (start, end)
        ).fetchone()[0]
        # An odd period is widened to 10-minute boundaries, like the rollup's buckets.
        odd = health.health(conn, start + timedelta(minutes=3), start + timedelta(days=2, minutes=57))
    assert activations == 2  # the trigger records the fire and the forced door, not the drill
    pure = K.compute(
        [K.Activation(*r) for r in rows],
        start,
        end,
        stale=via_rollup.stale,
        shelved=via_rollup.shelved,
        shelved_hours=via_rollup.shelved_hours,
        out_of_service=via_rollup.out_of_service,
        out_of_service_hours=via_rollup.out_of_service_hours,
    )
    assert via_rollup == pure
    assert (via_rollup.per_10min_max, via_rollup.per_hour_max, via_rollup.flood_episodes) == (1, 1, 0)
    assert (odd.start, odd.end) == (start, start + timedelta(days=2, hours=1)) and odd.total == 2
