"""Backup and restore with the CLI, and upgrading a populated database from the previous schema."""

import subprocess
import sys

import psycopg
import pytest

from ingest.db.migrate import load_migrations, migrate
from tests.conftest import ROOT, temporary_database
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
    """Every row of the tables that matter, in a stable order."""
    with psycopg.connect(db_url) as conn:
        return {t: conn.execute(psycopg.sql.SQL("SELECT * FROM {} ORDER BY 1, 2").format(psycopg.sql.Identifier(t)))
                .fetchall() for t in TABLES}


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


def _previous_rollup_marker(conn, times):
    """What the previous release's writer appended to rollup_dirty: the oldest time of a batch."""
    conn.execute("INSERT INTO rollup_dirty (from_ts) VALUES (%s)", (min(times),))


def test_upgrading_a_populated_database_from_the_previous_schema(pg_admin_url, make_settings, mqtt_url, monkeypatch):
    previous = load_migrations()[-2].version
    with temporary_database(pg_admin_url, "sct_upgrade") as url:
        migrate(url, up_to=previous)
        assert scalar(url, "SELECT max(version) FROM schema_migrations") == previous
        with monkeypatch.context() as patch:  # the history is written as the previous release wrote it
            patch.setattr("ingest.db.rollups.mark_dirty", _previous_rollup_marker)
            ids = seed_alarm_history(make_settings(db_url=url), mqtt_url, url)
        marker = scalar(url, "SELECT min(from_ts) FROM rollup_dirty")
        before = snapshot(url)
        out = cli(url, "db", "migrate")
        assert out.returncode == 0, out.stderr
        after = snapshot(url)
        assert scalar(url, "SELECT max(version) FROM schema_migrations") == load_migrations()[-1].version
        for table in TABLES:
            if table != "schema_migrations":
                assert after[table] == before[table], table
        # The rollups still know what to recompute: every 5-minute bucket from the old marker on.
        assert scalar(url, "SELECT min(bucket) = date_bin('5 minutes', %s::timestamptz, '2000-01-03 00:00:00+00') "
                           "FROM rollup_dirty", (marker,))
        assert scalar(url, "SELECT bool_and(bucket = date_bin('5 minutes', bucket, '2000-01-03 00:00:00+00')) "
                           "AND max(bucket) >= now() - interval '10 minutes' FROM rollup_dirty")
        # History recorded before the upgrade counts in the alarm-system health figures.
        assert scalar(url, "SELECT count(*) FROM alarm_activations WHERE alarm_id = ANY(%s)", (ids,)) == len(ids)
        # The upgraded database serves the current code: the dashboard's view and new alarms.
        assert scalar(url, "SELECT count(*) FROM alarm_places WHERE id = ANY(%s)", (ids,)) == len(ids)
        sensor = scalar(url, "SELECT sensor_id FROM alarms WHERE id = %s", (ids[0],))
        building = scalar(url, "SELECT building_id FROM alarm_places WHERE id = %s", (ids[0],))
        with running_ingest_with_alarms(make_settings(db_url=url), tick=False), publisher(mqtt_url) as pub:
            publish_all(pub, [(f"campus/v1/{building}/door/{sensor}",
                               {"event_id": "after-upgrade", "ts": now_ts(), "event": "door_forced"})])
            from tests.conftest import wait_until
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
