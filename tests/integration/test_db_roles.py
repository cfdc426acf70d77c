"""The application's database role: rows only; the schema and the journal belong to the owner."""

import secrets
import subprocess
import sys
from urllib.parse import urlsplit

import psycopg
import pytest
from psycopg import errors, sql

from ingest.alarms import actions
from ingest.db.registry import load_site as load_into_db
from tests.conftest import ROOT, temporary_database, wait_until
from tests.integration.helpers import alarms_for, now_ts, publish_all, publisher, running_ingest_with_alarms, tiny_site

REFUSED = (
    "CREATE TABLE intruder (x int)",
    "ALTER TABLE alarms ADD COLUMN intruder int",
    "DROP TABLE events",
    "CREATE INDEX intruder ON events (event_id)",
    "UPDATE alarm_journal SET actor = 'someone else'",
    "DELETE FROM alarm_journal",
    "TRUNCATE alarm_journal",
    "ALTER TABLE alarm_journal DISABLE TRIGGER ALL",
    "DELETE FROM duty_log",
    "UPDATE duty_log SET note = 'rewritten'",
    "INSERT INTO schema_migrations (version, name) VALUES (999, 'intruder')",
    "CREATE FUNCTION intruder() RETURNS int LANGUAGE sql AS 'SELECT 1'",
)


@pytest.fixture
def app_db(pg_admin_url):
    """A database migrated by its owner, and the URL of a separate application role."""
    role = f"sc_app_{secrets.token_hex(3)}"
    with psycopg.connect(pg_admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(role)))
    try:
        with temporary_database(pg_admin_url, "sct_roles") as owner_url:
            parts = urlsplit(owner_url)
            app_url = parts._replace(netloc=f"{role}@{parts.hostname}:{parts.port or 5432}").geturl()
            out = subprocess.run(
                [sys.executable, "-m", "ingest.app.cli", "db", "migrate"],
                cwd=ROOT,
                text=True,
                capture_output=True,
                env={"PATH": "/usr/bin:/bin", "SAFECAMPUS_DB_URL": app_url, "SAFECAMPUS_DB_OWNER_URL": owner_url},
            )
            assert out.returncode == 0, out.stderr
            yield owner_url, app_url
    finally:
        with psycopg.connect(pg_admin_url, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))


def test_the_application_role_runs_the_system_but_cannot_change_the_schema_or_the_journal(
    app_db, make_settings, mqtt_url
):
    owner_url, app_url = app_db
    tag = secrets.token_hex(3)
    site, door = tiny_site(tag, doors=1), f"door{tag}-0"
    with psycopg.connect(app_url) as conn:  # what 'safecampus site load' does, as the application
        load_into_db(conn, site)
    # The whole path as the application role: ingest, alarm, officer actions, duty log.
    with running_ingest_with_alarms(make_settings(db_url=app_url), tick=False), publisher(mqtt_url) as pub:
        publish_all(pub, [(f"campus/v1/b{tag}/door/{door}", {"event_id": "e1", "ts": now_ts(), "event": "tamper"})])
        alarm = wait_until(lambda: (alarms_for(app_url, door) or [None])[0], 10, what="tamper alarm")
    with psycopg.connect(app_url) as conn:
        actions.acknowledge(conn, alarm["id"], "officer1", "on my way")
        conn.execute("INSERT INTO duty_log (author, kind, note) VALUES ('officer1', 'remark', 'patrol done')")
        conn.commit()
        journal = conn.execute("SELECT count(*) FROM alarm_journal WHERE alarm_id = %s", (alarm["id"],)).fetchone()[0]
    assert journal >= 2  # raised, acknowledged
    refused = []
    with psycopg.connect(app_url, autocommit=True) as conn:
        for statement in REFUSED:
            try:
                conn.execute(statement)
            except errors.InsufficientPrivilege as exc:
                # Refused by the grants, not only by the journal's triggers (which the owner meets too).
                if "permission denied" in str(exc) or "must be owner" in str(exc):
                    refused.append(statement)
    assert refused == list(REFUSED)
    with psycopg.connect(owner_url) as conn:  # nothing changed underneath
        assert (
            conn.execute("SELECT count(*) FROM alarm_journal WHERE alarm_id = %s", (alarm["id"],)).fetchone()[0]
            == journal
        )
        assert conn.execute("SELECT count(*) FROM duty_log").fetchone()[0] == 1
        assert conn.execute("SELECT to_regclass('intruder')").fetchone()[0] is None
