"""Named SQL of the data layer: migrations, status, the ingest batch write, the registry, health.

The statements are in ``queries.sql`` beside this module (``-- name: NAME``); ``q.NAME`` reads one.
"""

from __future__ import annotations

from ingest.db.sql import NamedSql

_SQL = NamedSql.load(__name__.rpartition(".")[0])
# Column types of the binary COPYs (not SQL: psycopg's set_types); events and staging alike.
EVENT_TYPES = (
    "timestamptz",
    "text",
    "text",
    "text",
    "text",
    "int8",
    "bool",
    "text",
    "json",
    "timestamptz",
    "text[]",
    "float8[]",
)


def __getattr__(name: str) -> str:
    return _SQL[name]
