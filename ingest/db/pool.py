"""Open and close the process's one connection pool; translate driver errors."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from psycopg_pool import ConnectionPool, PoolTimeout

from ingest.core.errors import DatabaseUnavailableError
from ingest.core.settings import redact_db_url

logger = logging.getLogger(__name__)


def open_pool(
    db_url: str,
    *,
    min_size: int = 1,
    max_size: int = 4,
    name: str = "safecampus",
    timeout: float = 10.0,
    wait: bool = True,
) -> ConnectionPool:
    """Open a pool; with ``wait`` fail fast with DatabaseUnavailableError if unreachable."""
    pool = ConnectionPool(
        db_url,
        min_size=min_size,
        max_size=max_size,
        name=name,
        open=False,
        timeout=timeout,
        reconnect_timeout=3600,  # an outage must not kill the pool; writers retry meanwhile
        kwargs={"application_name": name, "connect_timeout": 5},
        check=ConnectionPool.check_connection,
    )
    try:
        pool.open(wait=wait, timeout=timeout)
    except PoolTimeout as exc:
        pool.close()
        raise DatabaseUnavailableError(
            f"cannot connect to {redact_db_url(db_url)} within {timeout:g} s"
        ) from exc
    return pool


@contextmanager
def connect(db_url: str, *, autocommit: bool = False) -> Iterator[psycopg.Connection]:
    """A single short-lived connection (CLI commands, migrations)."""
    try:
        conn = psycopg.connect(db_url, autocommit=autocommit, connect_timeout=10)
    except psycopg.OperationalError as exc:
        raise DatabaseUnavailableError(
            f"cannot connect to {redact_db_url(db_url)}: {str(exc).strip().splitlines()[0]}"
        ) from exc
    with conn:
        yield conn
