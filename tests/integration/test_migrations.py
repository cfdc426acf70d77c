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
    out = subprocess.run([sys.executable, "-m", "ingest.app.cli", "db", "status", "--json"],
                         env=env, capture_output=True, text=True, check=True)
    status = json.loads(out.stdout)
    assert {"mode", "schema_version", "sensors", "events_total", "dead_letters_total", "alarms_open"} <= status.keys()
    assert status["schema_version"] == len(load_migrations())
    assert status["mode"] == "postgresql"


def test_migrate_unreachable_database_is_a_clear_error():
    env = {"SAFECAMPUS_DB_URL": "postgresql://postgres@127.0.0.1:1/nowhere", "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-m", "ingest.app.cli", "db", "migrate"], env=env,
                         capture_output=True, text=True)
    assert out.returncode == 1
    assert "cannot connect" in out.stderr and "Traceback" not in out.stderr


DIE_ON_CREATE_EXTENSION = """
CREATE FUNCTION die_on_create_extension() RETURNS event_trigger LANGUAGE plpgsql AS $$
BEGIN PERFORM pg_terminate_backend(pg_backend_pid()); END $$;
CREATE EVENT TRIGGER die_on_create_extension ON ddl_command_start WHEN TAG IN ('CREATE EXTENSION')
    EXECUTE FUNCTION die_on_create_extension();
"""


def test_a_server_that_ends_the_connection_on_create_extension_still_migrates(pg_admin_url, caplog):
    """TimescaleDB installed but not preloaded ends the connection on CREATE EXTENSION (FATAL).

    On this server that is emulated for any extension by an event trigger, and where timescaledb is
    really installed without being preloaded (as on the CI machine) it is the real thing as well.
    """
    from tests.conftest import temporary_database

    with temporary_database(pg_admin_url, "sct_nopreload") as url:
        _migrate_where_create_extension_kills(url, caplog)


def _migrate_where_create_extension_kills(fresh_db, caplog):
    from ingest.db.migrate import create_timescaledb

    with psycopg.connect(fresh_db, autocommit=True) as conn:
        conn.execute(DIE_ON_CREATE_EXTENSION)
        available = conn.execute("SELECT EXISTS (SELECT 1 FROM pg_available_extensions"
                                 " WHERE name = 'timescaledb')").fetchone()[0]
    why = create_timescaledb(fresh_db)
    assert why and "shared_preload_libraries" in why
    with caplog.at_level("WARNING"):
        mode, applied = migrate(fresh_db)  # before: "the connection is closed" when timescaledb was available
    assert (mode, applied) == ("postgresql", [m.version for m in load_migrations()])
    if available:
        assert "shared_preload_libraries" in caplog.text
    with psycopg.connect(fresh_db) as conn:
        assert conn.execute("SELECT value FROM meta WHERE key = 'mode'").fetchone()[0] == "postgresql"
