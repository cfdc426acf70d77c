"""Named SQL of hazards and inspections.

The statements are in ``queries.sql`` beside this module (``-- name: NAME``); ``q.NAME`` reads one;
``q.rows`` and ``q.first`` read tuples whatever the caller's row factory (the dashboard calls this too).
"""

from __future__ import annotations

from ingest.db.sql import NamedSql, first, rows

__all__ = ["first", "rows"]
_SQL = NamedSql.load(__name__.rpartition(".")[0])


def __getattr__(name: str) -> str:
    return _SQL[name]
