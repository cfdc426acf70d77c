"""Backup and restore with the CLI, and upgrading a populated database from the previous schema."""

import itertools
import secrets
import subprocess
import sys
from datetime import timedelta

import psycopg
import pytest
from psycopg.rows import dict_row

from ingest.db import queries as dbq
from ingest.db import rollups
from ingest.db.migrate import load_migrations, migrate
from tests.conftest import ROOT, temporary_database, wait_until
from tests.integration.helpers import (
    alarms_for,
    now_ts,
    publish_all,
    publisher,
    running_ingest_with_alarms,
    scalar,
    seed_alarm_history,
)

TABLES = ("alarms", "alarm_journal", "duty_log", "events", "sensors", "schema_migrations", "users")


def cli(db_url: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ingest.app.cli", *args], cwd=ROOT, capture_output=True, text=True,
                          env={"PATH": "/usr/bin:/bin", "SAFECAMPUS_DB_URL": db_url})


def snapshot(db_url: str) -> dict[str, list]:
    """Every row of the tables that matter, in a stable order (rows as column → value)."""
    with psycopg.connect(db_url, row_factory=dict_row) as conn:
        return {t: conn.execute(psycopg.sql.SQL("SELECT * FROM {} ORDER BY 1, 2").format(psycopg.sql.Identifier(t)))
                .fetchall() for t in TABLES}


# A column whose rows of before were moved to another by an upgrade (what the old column name holds
# for them is NULL): an event's payload stored before 0019 is in payload_before.
MOVED = {"payload": "payload_before"}


def kept(before: list[dict], after: list[dict]) -> list[dict]:
    """The rows after an upgrade, with only the columns there were before (new ones may be added)."""
    columns = before[0].keys() if before else ()
    return [{c: row[MOVED[c]] if c in MOVED and row[c] is None else row[c] for c in columns} for row in after]


def test_a_dump_restores_into_a_fresh_database_with_every_alarm_and_journal_entry(
        db_url, make_settings, mqtt_url, pg_admin_url, tmp_path):
    ids = seed_alarm_history(make_settings(), mqtt_url, db_url)
    before = snapshot(db_url)
    assert len(before["alarm_journal"]) >= 3 * len(ids)  # raised, acknowledged, note
    dump = tmp_path / "safecampus.dump"
    out = cli(db_url, "db", "backup", str(dump))
    assert out.returncode == 0, out.stderr
    with temporary_database(pg_admin_url, "sct_restore") as target:
        out = cli(target, "db", "restore", str(dump))
        assert out.returncode == 0, out.stderr
        assert snapshot(target) == before
        with psycopg.connect(target) as conn, pytest.raises(psycopg.errors.InsufficientPrivilege, match="append-only"):
            conn.execute("DELETE FROM alarm_journal")  # the triggers came back too
        again = cli(target, "db", "restore", str(dump))
        assert again.returncode != 0 and "needs an empty database" in again.stderr
        assert snapshot(target) == before


def _seed_as_the_previous_release_left_it(url: str, doors: int = 3) -> list[int]:
    """Rows written with the previous schema's own columns (plain SQL, no current code): events,
    a tamper alarm per door (its text a finished English sentence) raised, acknowledged and
    annotated in the journal, a duty-log entry and the rollup marks of the batches."""
    tag = secrets.token_hex(3)
    ids = []
    with psycopg.connect(url) as conn:
        conn.execute("INSERT INTO departments (id, name) VALUES (%s, 'Dept')", (f"d{tag}",))
        conn.execute("INSERT INTO buildings (id, name, department_id) VALUES (%s, 'B', %s)", (f"b{tag}", f"d{tag}"))
        for n in range(doors):
            sensor = f"door{tag}-{n}"
            conn.execute("INSERT INTO sensors (id, kind, building_id, report_interval_s) VALUES (%s, 'door', %s, 60)",
                         (sensor, f"b{tag}"))
            conn.execute("INSERT INTO events (time, sensor_id, building_id, kind, event_id, state, payload,"
                         " received_at) VALUES (now(), %s, %s, 'door', %s, 'tamper', '{}', now())",
                         (sensor, f"b{tag}", f"e{n}"))
            aid = conn.execute(
                "INSERT INTO alarms (sensor_id, building_id, condition, family, signal_class, priority, state, latched,"
                " message, raised_at, last_seen_at, acked_at, acked_by, version) VALUES (%s, %s, 'tamper', 'door',"
                " 'alarm', 'high', 'active_acked', true, 'Reader or door tamper', now(), now(), now(), 'officer1', 2)"
                " RETURNING id", (sensor, f"b{tag}")).fetchone()[0]
            for actor, action, note in (("system", "raised", "Reader or door tamper"),
                                        ("officer1", "acknowledged", "on my way"),
                                        ("officer1", "note", "cover <b>refitted</b>; O'Brien's lab")):
                conn.execute("INSERT INTO alarm_journal (alarm_id, event_time, actor, action, note) "
                             "VALUES (%s, now(), %s, %s, %s)", (aid, actor, action, note))
            ids.append(aid)
        conn.execute("INSERT INTO duty_log (author, kind, note) VALUES ('officer1', 'equipment', 'panel normal')")
        conn.execute("INSERT INTO rollup_dirty (bucket) VALUES (date_bin('5 minutes', now() - interval '1 hour', "
                     "'2000-01-03 00:00:00+00'))")
    return ids


def test_upgrading_a_populated_database_from_the_previous_schema(pg_admin_url, make_settings, mqtt_url):
    previous = load_migrations()[-2].version
    with temporary_database(pg_admin_url, "sct_upgrade") as url:
        migrate(url, up_to=previous)
        assert scalar(url, "SELECT max(version) FROM schema_migrations") == previous
        ids = _seed_as_the_previous_release_left_it(url)
        dirty = scalar(url, "SELECT count(*) FROM rollup_dirty")
        before = snapshot(url)
        out = cli(url, "db", "migrate")
        assert out.returncode == 0, out.stderr
        after = snapshot(url)
        assert scalar(url, "SELECT max(version) FROM schema_migrations") == load_migrations()[-1].version
        for table in TABLES:
            if table != "schema_migrations":
                assert kept(before[table], after[table]) == before[table], table
        # The rollups still know what to recompute.
        assert scalar(url, "SELECT count(*) FROM rollup_dirty") == dirty
        # A replay reads the events stored before as they were stored.
        with psycopg.connect(url) as conn:
            day = timedelta(days=1)
            now = conn.execute("SELECT now()").fetchone()[0]
            replayed = conn.execute(dbq.REPLAY_STORED_EVENTS, {"since": now - day, "until": now + day}).fetchall()
        assert [row[-1] for row in replayed] == [{}] * len(ids)
        # An alarm from before keeps its text (no message key: shown as stored), in any language.
        from ingest.alarms.messages import render

        old = psycopg.connect(url, row_factory=dict_row).execute(
            "SELECT message, message_key, message_params FROM alarm_places WHERE id = %s", (ids[0],)).fetchone()
        assert old["message_key"] is None and old["message_params"] == {}
        assert render(old["message_key"], old["message_params"], "zh-CN", old["message"]) == "Reader or door tamper"
        # History recorded before the upgrade counts in the alarm-system health figures.
        assert scalar(url, "SELECT count(*) FROM alarm_activations WHERE alarm_id = ANY(%s)", (ids,)) == len(ids)
        # The upgraded database serves the current code: the dashboard's view and new alarms.
        assert scalar(url, "SELECT count(*) FROM alarm_places WHERE id = ANY(%s)", (ids,)) == len(ids)
        sensor = scalar(url, "SELECT sensor_id FROM alarms WHERE id = %s", (ids[0],))
        building = scalar(url, "SELECT building_id FROM alarm_places WHERE id = %s", (ids[0],))
        with running_ingest_with_alarms(make_settings(db_url=url), tick=False), publisher(mqtt_url) as pub:
            publish_all(pub, [(f"campus/v1/{building}/door/{sensor}",
                               {"event_id": "after-upgrade", "ts": now_ts(), "event": "door_forced"})])
            wait_until(lambda: any(a["condition"] == "door_forced" for a in alarms_for(url, sensor)), 10,
                       what="an alarm after the upgrade")


def test_the_rollup_marker_of_release_0006_is_carried_into_rollup_dirty(pg_admin_url):
    with temporary_database(pg_admin_url, "sct_upgrade7") as url:
        migrate(url, up_to=6)
        marker = "2026-11-20T03:05:00+00:00"
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("INSERT INTO meta (key, value) VALUES ('rollup_dirty_from', %s)", (marker,))
        migrate(url, up_to=7)
        assert scalar(url, "SELECT min(from_ts) FROM rollup_dirty").isoformat() == marker
        assert scalar(url, "SELECT count(*) FROM meta WHERE key = 'rollup_dirty_from'") == 0


def test_the_rollup_marker_of_release_0008_becomes_every_bucket_from_it_on(pg_admin_url):
    with temporary_database(pg_admin_url, "sct_upgrade9") as url:
        migrate(url, up_to=8)
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("INSERT INTO rollup_dirty (from_ts) VALUES (now() - interval '1 hour 2 minutes')")
        migrate(url, up_to=9)
        buckets = [r[0] for r in psycopg.connect(url).execute("SELECT bucket FROM rollup_dirty ORDER BY 1")]
    assert 12 <= len(buckets) <= 14  # every 5-minute bucket from the marker's to now
    assert all(b.minute % 5 == 0 and b.second == 0 for b in buckets)
    assert all((b - a).total_seconds() == 300 for a, b in itertools.pairwise(buckets))


ROLLUP_ROWS = "SELECT bucket, metric, avg, min, max, n FROM {} WHERE sensor_id = %s ORDER BY 1, 2"
RAW_ROWS = "SELECT time, metric, value, drill FROM readings WHERE sensor_id = %s ORDER BY 1, 2"


def _rows(url: str, sql: str, *args) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute(sql, args).fetchall()


def test_readings_stored_before_they_moved_into_their_events_answer_as_before(
        pg_admin_url, make_settings, mqtt_url, server_mode):
    """Migration 0018 keeps the readings rows of before (read-only) and the rollups built from
    them (TimescaleDB: the continuous aggregates' answers, copied into kept tables); readings
    stored afterwards, in their events' rows, show beside them and reach the same rollups."""
    with temporary_database(pg_admin_url, "sct_upgrade18") as url:
        migrate(url, up_to=17)
        tag = secrets.token_hex(3)
        sensor, building = f"lab{tag}", f"b{tag}"
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("INSERT INTO departments (id, name) VALUES (%s, 'Dept')", (f"d{tag}",))
            conn.execute("INSERT INTO buildings (id, name, department_id) VALUES (%s, 'B', %s)", (building, f"d{tag}"))
            conn.execute("INSERT INTO sensors (id, kind, building_id) VALUES (%s, 'lab', %s)", (sensor, building))
            conn.execute("INSERT INTO readings (time, sensor_id, metric, value)"
                         " SELECT now() - i * interval '7 minutes', %s, m, i + length(m) FROM generate_series(1, 12) i,"
                         " unnest(ARRAY['temperature_c', 'humidity_pct']) m", (sensor,))
            conn.execute("INSERT INTO rollup_dirty (bucket) SELECT DISTINCT date_bin('5 minutes', time,"
                         " '2000-01-03 00:00:00+00') FROM readings")
            if server_mode == "postgresql":  # TimescaleDB's aggregates answer in real time
                assert rollups.refresh(conn, server_mode, timedelta(days=400))
        before = {v: _rows(url, ROLLUP_ROWS.format(v), sensor) for v in ("readings_5m", "readings_1h")}
        raw = _rows(url, RAW_ROWS, sensor)
        assert len(raw) == 24 and len(before["readings_5m"]) >= 20 and len(before["readings_1h"]) >= 4

        out = cli(url, "db", "migrate")
        assert out.returncode == 0, out.stderr
        assert _rows(url, RAW_ROWS, sensor) == raw
        for view, rows in before.items():
            assert _rows(url, ROLLUP_ROWS.format(view), sensor) == rows, view

        with running_ingest_with_alarms(make_settings(db_url=url), tick=False), publisher(mqtt_url) as pub:
            publish_all(pub, [(f"campus/v1/{building}/lab/{sensor}",
                               {"event_id": f"new{i}", "ts": now_ts(), "readings": {"temperature_c": 30.0 + i}})
                              for i in range(3)])
            wait_until(lambda: len(_rows(url, RAW_ROWS, sensor)) == 27, 10, what="the new readings")
        assert _rows(url, RAW_ROWS, sensor)[:24] == raw  # the new ones are the newest
        assert scalar(url, "SELECT count(*) FROM readings_before") == 24  # nothing new goes there
        with psycopg.connect(url, autocommit=True) as conn:
            rollups.refresh(conn, server_mode, timedelta(days=400))
        # Every 5-minute bucket is what the raw readings (old and new) give, hours their sum.
        fresh = _rows(url, "SELECT date_bin('5 minutes', time, '2000-01-03 00:00:00+00'), metric, avg(value),"
                           " min(value), max(value), count(*) FROM readings WHERE sensor_id = %s"
                           " GROUP BY 1, 2 ORDER BY 1, 2", sensor)
        five = _rows(url, ROLLUP_ROWS.format("readings_5m"), sensor)
        assert [r[:2] + (round(r[2], 9),) + r[3:] for r in five] == \
            [r[:2] + (round(r[2], 9),) + r[3:] for r in fresh]
        hours = _rows(url, "SELECT date_bin('1 hour', time, '2000-01-03 00:00:00+00'), metric, count(*)"
                           " FROM readings WHERE sensor_id = %s GROUP BY 1, 2 ORDER BY 1, 2", sensor)
        assert [(r[0], r[1], r[5]) for r in _rows(url, ROLLUP_ROWS.format("readings_1h"), sensor)] == hours
