"""Named SQL of notifications (``queries.sql`` beside this module)."""

from __future__ import annotations

from ingest.db.sql import NamedSql

_SQL = NamedSql.load(__name__.rpartition(".")[0])


def __getattr__(name: str) -> str:
    return _SQL[name]
