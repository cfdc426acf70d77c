"""Shared fixtures: real PostgreSQL and a real MQTT broker, or a loud failure."""

from __future__ import annotations

import os
import secrets
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import pytest

from ingest.app.embedded import wait_for_port
from ingest.core.settings import Settings, load_settings
from ingest.db.migrate import migrate

ROOT = Path(__file__).resolve().parent.parent


def wait_until(check: Callable[[], object], timeout: float = 10.0, interval: float = 0.05, what: str = "",
               describe: Callable[[], str] | None = None) -> object:
    """Poll ``check`` until it returns something truthy; fail after ``timeout`` seconds.

    ``describe`` says, on failure, what state the system was in (counts, health).
    """
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(interval)
    state = f"; {describe()}" if describe else ""
    pytest.fail(f"timed out after {timeout:g} s waiting for {what or check!r} (last value {last!r}){state}")


@pytest.fixture(scope="session")
def pg_admin_url() -> str:
    """URL of a PostgreSQL database we may create databases from."""
    url = os.environ.get("SAFECAMPUS_TEST_DB_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    try:
        with psycopg.connect(url, connect_timeout=5):
            pass
    except psycopg.Error as exc:
        pytest.fail(
            f"PostgreSQL is required and not reachable at {url} ({exc}). "
            "Run the suite with 'make test' (it starts one) or set SAFECAMPUS_TEST_DB_URL.",
            pytrace=False,
        )
    return url


def _db_url(admin: str, name: str) -> str:
    parts = urlsplit(admin)
    return parts._replace(path=f"/{name}").geturl()


@contextmanager
def temporary_database(pg_admin_url: str, prefix: str = "sct") -> Iterator[str]:
    """An empty database on the test server, dropped afterwards."""
    name = f"{prefix}_{secrets.token_hex(4)}".lower()
    with psycopg.connect(pg_admin_url, autocommit=True) as conn:
        conn.execute(psycopg.sql.SQL("CREATE DATABASE {}").format(psycopg.sql.Identifier(name)))
    try:
        yield _db_url(pg_admin_url, name)
    finally:
        with psycopg.connect(pg_admin_url, autocommit=True) as conn:
            conn.execute(
                psycopg.sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(psycopg.sql.Identifier(name))
            )


@pytest.fixture(scope="module")
def fresh_db(pg_admin_url: str, request: pytest.FixtureRequest) -> Iterator[str]:
    """An empty database for one test module, dropped afterwards."""
    with temporary_database(pg_admin_url, f"sct_{request.module.__name__.rsplit('.', 1)[-1][:30]}") as url:
        yield url


@pytest.fixture(scope="module")
def db_url(fresh_db: str) -> str:
    """A fresh, migrated database for one test module."""
    migrate(fresh_db)
    return fresh_db


@pytest.fixture(scope="session")
def server_mode(pg_admin_url: str) -> str:
    """The mode a new database on the test server runs in: timescaledb where it is preloaded."""
    from ingest.db.migrate import create_timescaledb

    with temporary_database(pg_admin_url, "sct_mode") as url:
        with psycopg.connect(url) as conn:
            available = conn.execute("SELECT EXISTS (SELECT 1 FROM pg_available_extensions"
                                     " WHERE name = 'timescaledb')").fetchone()
        return "timescaledb" if available and available[0] and create_timescaledb(url) is None else "postgresql"


@pytest.fixture(scope="module")
def db_mode(db_url: str) -> str:
    """The mode the module's database was migrated in."""
    from ingest.db.migrate import recorded_mode

    with psycopg.connect(db_url) as conn:
        mode = recorded_mode(conn)
    assert mode in ("timescaledb", "postgresql")
    return mode


@pytest.fixture(scope="session")
def mqtt_url() -> str:
    """URL of a running MQTT broker."""
    url = os.environ.get("SAFECAMPUS_TEST_MQTT_URL", "mqtt://127.0.0.1:1883")
    parts = urlsplit(url)
    if not wait_for_port(parts.port or 1883, 5, parts.hostname or "127.0.0.1"):
        pytest.fail(
            f"an MQTT broker is required and not reachable at {url}. "
            "Run the suite with 'make test' (it starts one) or set SAFECAMPUS_TEST_MQTT_URL.",
            pytrace=False,
        )
    return url


@pytest.fixture
def make_settings(db_url: str, mqtt_url: str, tmp_path: Path) -> Callable[..., Settings]:
    """Settings for one component under test; each call gets its own ids and ports."""

    def make(**overrides: object) -> Settings:
        base: dict[str, object] = {
            "db_url": db_url,
            "mqtt_url": mqtt_url,
            "data_dir": tmp_path,
            "ingest_id": f"t{secrets.token_hex(4)}",
            "ingest_share_group": f"g{secrets.token_hex(4)}",
            "ingest_health_port": 0,
            "dashboard_port": 0,
            "ingest_session_expiry_s": 60,
        }
        base.update(overrides)
        return load_settings(**base)

    return make
