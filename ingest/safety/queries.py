"""Named SQL of hazards and inspections, and how they are read.

The statements are in ``queries.sql`` beside this module (``-- name: NAME``); ``q.NAME`` reads one.
The dashboard calls this package on its dict-row connections and ingest on tuple-row ones:
``rows`` and ``first`` read tuples either way.
"""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg.rows import tuple_row

from ingest.db.sql import NamedSql

_SQL = NamedSql.load(__name__.rpartition(".")[0])


def rows(conn: psycopg.Connection[Any], statement: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
    """Every row of a statement, as tuples."""
    with conn.cursor(row_factory=tuple_row) as cur:
        return cur.execute(statement, params).fetchall()


def first(conn: psycopg.Connection[Any], statement: str, params: dict[str, Any]) -> tuple[Any, ...] | None:
    """The first row of a statement as a tuple, or None."""
    with conn.cursor(row_factory=tuple_row) as cur:
        return cur.execute(statement, params).fetchone()


def __getattr__(name: str) -> str:
    return _SQL[name]
