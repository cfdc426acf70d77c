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


def test_from_empty_gives_the_expected_schema_and_twice_is_a_no_op(fresh_db, server_mode):
    assert _tables(fresh_db) == set()
    mode, applied = migrate(fresh_db)
    assert mode == server_mode  # timescaledb where the server has it preloaded, else plain PostgreSQL
    assert applied == [m.version for m in load_migrations()]
    assert EXPECTED_TABLES <= _tables(fresh_db) | _views(fresh_db)
    with psycopg.connect(fresh_db) as conn:
        assert conn.execute("SELECT value FROM meta WHERE key = 'mode'").fetchone()[0] == server_mode
        _assert_mode_objects(conn, server_mode)
        before = conn.execute("SELECT count(*), max(applied_at) FROM schema_migrations").fetchone()
    mode2, applied2 = migrate(fresh_db)
    assert (mode2, applied2) == (server_mode, [])
    with psycopg.connect(fresh_db) as conn:
        assert conn.execute("SELECT count(*), max(applied_at) FROM schema_migrations").fetchone() == before


def _views(url):
    with psycopg.connect(url) as conn:
        return {r[0] for r in conn.execute("SELECT viewname FROM pg_views WHERE schemaname = 'public'")}


ROLLUPS = ("readings_5m", "readings_1h", "events_1h", "alarm_activity_10m")
CAGGS = ("events_1h", "alarm_activity_10m")  # TimescaleDB: the rollups that are continuous aggregates


def _assert_mode_objects(conn, mode):
    """What each mode builds: BRIN indexes and rollup tables, or hypertables, continuous aggregates
    with real-time aggregation, compression and refresh policies."""
    for table in ("readings_5m", "readings_1h"):  # kept by ingest in both modes: the same table
        columns = conn.execute("SELECT column_name, data_type, is_nullable FROM information_schema.columns "
                               "WHERE table_name = %s ORDER BY ordinal_position", (table,)).fetchall()
        assert columns == [("bucket", "timestamp with time zone", "NO"), ("sensor_id", "text", "NO"),
                           ("metric", "text", "NO"), ("avg", "double precision", "NO"),
                           ("min", "double precision", "NO"), ("max", "double precision", "NO"),
                           ("n", "bigint", "NO")], table
        assert conn.execute("SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = %s::regclass "
                            "AND contype = 'p'", (table,)).fetchone()[0] == "PRIMARY KEY (sensor_id, metric, bucket)"
    brin = conn.execute("SELECT count(*) FROM pg_indexes WHERE indexname IN ('events_time_brin', 'readings_time_brin')"
                        ).fetchone()[0]
    if mode == "postgresql":
        assert brin == 2
        kinds = dict(conn.execute("SELECT relname, relkind FROM pg_class WHERE relname = ANY(%s)",
                                  (list(ROLLUPS),)).fetchall())
        assert kinds == {"readings_5m": "r", "readings_1h": "r", "events_1h": "r", "alarm_activity_10m": "v"}
        assert conn.execute("SELECT to_regclass('events_5m') IS NOT NULL").fetchone()[0]
        return
    assert brin == 0  # chunks stand for them
    hyper = {r[0] for r in conn.execute("SELECT hypertable_name FROM timescaledb_information.hypertables")}
    assert {"events", "readings_before", "alarm_activations"} <= hyper
    caggs = dict(conn.execute("SELECT view_name, materialized_only FROM timescaledb_information.continuous_aggregates"
                              ).fetchall())
    assert caggs == dict.fromkeys(CAGGS, False)  # real-time: rows past the watermark show at once
    kinds = dict(conn.execute("SELECT relname, relkind FROM pg_class WHERE relname = ANY(%s)",
                              (["readings_5m", "readings_1h"],)).fetchall())
    assert kinds == {"readings_5m": "r", "readings_1h": "r"}  # kept by ingest: an aggregate cannot expand arrays
    settings = dict(conn.execute("SELECT hypertable::text, orderby FROM "
                                 "timescaledb_information.hypertable_compression_settings").fetchall())
    assert "event_id" in settings["events"]  # the de-duplication key, in segment order
    policies = {r[0] for r in conn.execute("SELECT hypertable_name FROM timescaledb_information.jobs "
                                           "WHERE proc_name = 'policy_refresh_continuous_aggregate'")}
    assert policies == set(CAGGS)


def test_set_up_on_this_server_gives_no_warnings(pg_admin_url, server_mode):
    """TimescaleDB once warned on every set-up (compression without the de-duplication key)."""
    from ingest.db.migrate import load_migrations
    from tests.conftest import temporary_database

    with temporary_database(pg_admin_url, "sct_quiet") as url:
        notices = []
        with psycopg.connect(url, autocommit=True) as conn:
            conn.add_notice_handler(lambda d: notices.append((d.severity_nonlocalized, d.message_primary)))
            if server_mode == "timescaledb":
                conn.execute("CREATE EXTENSION timescaledb")
                notices.clear()  # its banner
            conn.execute("CREATE TABLE schema_migrations (version integer PRIMARY KEY, name text NOT NULL,"
                         " applied_at timestamptz NOT NULL DEFAULT now())")
            for mig in load_migrations():
                for script in mig.sql_for(server_mode):
                    conn.execute(script.encode())
    assert [n for n in notices if n[0] == "WARNING"] == []


def test_db_status_json_from_the_cli(fresh_db, server_mode):
    env = {"SAFECAMPUS_DB_URL": fresh_db, "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-m", "ingest.app.cli", "db", "status", "--json"],
                         env=env, capture_output=True, text=True, check=True)
    status = json.loads(out.stdout)
    assert {"mode", "schema_version", "sensors", "events_total", "dead_letters_total", "alarms_open"} <= status.keys()
    assert status["schema_version"] == len(load_migrations())
    assert status["mode"] == server_mode


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
