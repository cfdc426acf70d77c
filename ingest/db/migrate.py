"""Forward-only numbered SQL migrations, on plain PostgreSQL or TimescaleDB.

A migration is ``NNNN_name.sql`` plus an optional ``NNNN_name.<mode>.sql`` for the
mode the database runs in (``timescaledb`` or ``postgresql``). Each version is
applied in one transaction, under an advisory lock so concurrent starters are safe.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from importlib import resources

import psycopg

from ingest.core.errors import MigrationError
from ingest.db import locks
from ingest.db import queries as q

logger = logging.getLogger(__name__)

MODES = ("timescaledb", "postgresql")
_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


@dataclass(frozen=True)
class Migration:
    """One numbered migration and its mode-specific parts."""

    version: int
    name: str
    common: str
    per_mode: dict[str, str]

    def sql_for(self, mode: str) -> list[str]:
        """The scripts to run, in order, for a database in ``mode``."""
        return [s for s in (self.common, self.per_mode.get(mode, "")) if s.strip()]


def load_migrations() -> list[Migration]:
    """Read the migrations shipped in ``ingest/db/migrations``."""
    folder = resources.files("ingest.db") / "migrations"
    files = {f.name: f.read_text(encoding="utf-8") for f in folder.iterdir() if f.name.endswith(".sql")}
    found = []
    for fname, text in sorted(files.items()):
        m = _NAME.match(fname)
        if not m:
            continue
        stem = fname[: -len(".sql")]
        per_mode = {mode: files.get(f"{stem}.{mode}.sql", "") for mode in MODES}
        found.append(Migration(int(m.group(1)), m.group(2), text, per_mode))
    versions = [mg.version for mg in found]
    if versions != list(range(1, len(found) + 1)):
        raise MigrationError(f"migrations must be numbered 1..n without gaps, found {versions}")
    return found


def detect_mode(conn: psycopg.Connection, wanted: str = "auto", db_url: str | None = None) -> str:
    """Create the timescaledb extension when possible; return the mode to use.

    The extension is created on a connection of its own: where timescaledb is installed but
    not in ``shared_preload_libraries``, CREATE EXTENSION ends the connection (FATAL), and
    the migration's own connection must survive that.
    """
    row = conn.execute(q.TIMESCALE_AVAILABLE).fetchone()
    available = bool(row and row[0])
    if wanted == "postgresql" or (wanted == "auto" and not available):
        return "postgresql"
    if not available:
        raise MigrationError("SAFECAMPUS_DB_MODE=timescaledb but the extension is not installed")
    error = create_timescaledb(db_url) if db_url else _create_on(conn)
    if error is None:
        return "timescaledb"
    if wanted == "timescaledb":
        raise MigrationError(f"cannot create the timescaledb extension: {error}")
    logger.warning("timescaledb is installed but cannot be created (%s); using plain PostgreSQL", error)
    return "postgresql"


def create_timescaledb(db_url: str) -> str | None:
    """CREATE EXTENSION timescaledb on a throwaway connection; None on success, else why not."""
    try:
        with psycopg.connect(db_url, autocommit=True, connect_timeout=10) as probe:
            return _create_on(probe)
    except psycopg.OperationalError as exc:
        # The server ended the connection: the library is installed but not preloaded.
        return (f"the server closed the connection on CREATE EXTENSION ({str(exc).strip().splitlines()[0]}); "
                "add timescaledb to shared_preload_libraries in postgresql.conf and restart PostgreSQL")


def _create_on(conn: psycopg.Connection) -> str | None:
    try:
        with conn.transaction():
            conn.execute(q.CREATE_TIMESCALE)
    except psycopg.OperationalError:
        raise
    except psycopg.Error as exc:
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        if "shared_preload_libraries" in text or "preload" in text:
            return f"{text}; add timescaledb to shared_preload_libraries in postgresql.conf and restart PostgreSQL"
        return text
    return None


def current_version(conn: psycopg.Connection) -> int:
    """The highest applied migration, 0 on an empty database (reads only: the app role may ask)."""
    exists = conn.execute(q.MIGRATIONS_EXIST).fetchone()
    if not exists or not exists[0]:
        return 0
    row = conn.execute(q.SCHEMA_VERSION).fetchone()
    return int(row[0]) if row else 0


def recorded_mode(conn: psycopg.Connection) -> str | None:
    """The mode stored in ``meta`` by the first migration run, if any."""
    exists = conn.execute(q.META_EXISTS).fetchone()
    if not exists or not exists[0]:
        return None
    row = conn.execute(q.GET_META, {"key": "mode"}).fetchone()
    return row[0] if row else None


def migrate(db_url: str, wanted_mode: str = "auto", up_to: int | None = None) -> tuple[str, list[int]]:
    """Apply every pending migration (up to version ``up_to``); return the mode and the versions applied."""
    applied: list[int] = []
    try:
        with psycopg.connect(db_url, autocommit=True, connect_timeout=10) as conn:
            conn.execute(q.ADVISORY_LOCK, {"key": locks.MIGRATE})
            try:
                mode = recorded_mode(conn) or detect_mode(conn, wanted_mode, db_url)
                if wanted_mode != "auto" and mode != wanted_mode:
                    raise MigrationError(f"database is in {mode} mode, asked for {wanted_mode}")
                conn.execute(q.CREATE_MIGRATIONS_TABLE)
                done = current_version(conn)
                for mig in load_migrations():
                    if mig.version <= done or (up_to is not None and mig.version > up_to):
                        continue
                    with conn.transaction():
                        for script in mig.sql_for(mode):
                            conn.execute(script.encode("utf-8"))
                        conn.execute(q.RECORD_MIGRATION, {"version": mig.version, "name": mig.name})
                        conn.execute(q.SET_META, {"key": "mode", "value": mode})
                    logger.info("applied migration %04d_%s (%s)", mig.version, mig.name, mode)
                    applied.append(mig.version)
            finally:
                conn.execute(q.ADVISORY_UNLOCK, {"key": locks.MIGRATE})
    except psycopg.OperationalError as exc:
        raise MigrationError(f"cannot connect to the database: {str(exc).strip()}") from exc
    except psycopg.Error as exc:
        raise MigrationError(f"migration failed: {exc}") from exc
    return mode, applied
