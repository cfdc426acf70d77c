"""The dashboard's database access: the app's one pool, reached through Flask."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, cast

import psycopg
from flask import current_app
from psycopg.rows import dict_row

POOL_KEY = "safecampus_pool"


@contextmanager
def connection() -> Iterator[psycopg.Connection[dict[str, Any]]]:
    """A pooled connection (dict rows) for the current request."""
    pool = current_app.extensions[POOL_KEY]
    with pool.connection() as conn:
        conn.row_factory = dict_row
        yield cast("psycopg.Connection[dict[str, Any]]", conn)
