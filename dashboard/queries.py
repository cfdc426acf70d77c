"""Named SQL of the dashboard's pages.

The statements are in ``queries.sql`` beside this module (``-- name: NAME``); ``q.NAME`` reads one.
"""

from __future__ import annotations

from ingest.db.sql import NamedSql

_SQL = NamedSql.load(__name__.rpartition(".")[0])


def __getattr__(name: str) -> str:
    return _SQL[name]
