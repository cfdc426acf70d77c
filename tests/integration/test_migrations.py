import json
import subprocess
import sys

import psycopg

from ingest.db.migrate import load_migrations, migrate

EXPECTED_TABLES = {"meta", "schema_migrations", "departments", "buildings", "rooms", "sensors", "alarms",
                   "alarm_journal", "rule_state", "users", "duty_log", "readings_5m", "readings_1h",
                   "events_1h", "service_health",
                   "events", "readings", "dead_letters"}


def _tables(url):
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
        ).fetchall()
    return {r[0] for r in rows}


def test_from_empty_gives_the_expected_schema_and_twice_is_a_no_op(fresh_db):
    assert _tables(fresh_db) == set()
    mode, applied = migrate(fresh_db)
    assert mode == "postgresql"  # this machine has no TimescaleDB
    assert applied == [m.version for m in load_migrations()]
    assert EXPECTED_TABLES <= _tables(fresh_db)
    with psycopg.connect(fresh_db) as conn:
        assert conn.execute("SELECT value FROM meta WHERE key = 'mode'").fetchone()[0] == "postgresql"
        brin = conn.execute("SELECT indexdef FROM pg_indexes WHERE indexname = 'events_time_brin'").fetchone()
        assert "brin" in brin[0]
        before = conn.execute("SELECT count(*), max(applied_at) FROM schema_migrations").fetchone()
    mode2, applied2 = migrate(fresh_db)
    assert (mode2, applied2) == ("postgresql", [])
    with psycopg.connect(fresh_db) as conn:
        assert conn.execute("SELECT count(*), max(applied_at) FROM schema_migrations").fetchone() == before


def test_db_status_json_from_the_cli(fresh_db):
    env = {"SAFECAMPUS_DB_URL": fresh_db, "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-m", "ingest.cli", "db", "status", "--json"],
                         env=env, capture_output=True, text=True, check=True)
    status = json.loads(out.stdout)
    assert {"mode", "schema_version", "sensors", "events_total", "dead_letters_total", "alarms_open"} <= status.keys()
    assert status["schema_version"] == len(load_migrations())
    assert status["mode"] == "postgresql"


def test_migrate_unreachable_database_is_a_clear_error():
    env = {"SAFECAMPUS_DB_URL": "postgresql://postgres@127.0.0.1:1/nowhere", "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-m", "ingest.cli", "db", "migrate"], env=env,
                         capture_output=True, text=True)
    assert out.returncode == 1
    assert "cannot connect" in out.stderr and "Traceback" not in out.stderr
