"""Named SQL kept in ``.sql`` files: ``-- name: NAME`` starts a statement, which runs to the next.

A query module exposes its file's statements as attributes (``q.BY_ID``) through a module-level
``__getattr__`` (PEP 562), so callers read ``q.NAME`` as before and no statement is ever built in
Python. Comment lines after a name line document the statement and are kept out of its text.
"""

from __future__ import annotations

import re
from importlib import resources
from typing import Any

import psycopg
from psycopg.rows import tuple_row

_NAME = re.compile(r"^--\s*name:\s*([A-Z][A-Z0-9_]*)\s*$")


class NamedSql:
    """The statements of one ``.sql`` file, by name."""

    def __init__(self, text: str, where: str) -> None:
        self.where = where
        self._by_name: dict[str, str] = {}
        name: str | None = None
        lines: list[str] = []
        for line in text.splitlines():
            m = _NAME.match(line)
            if m:
                self._add(name, lines)
                name, lines = m.group(1), []
            elif name is not None and (lines or not line.startswith("--")):
                lines.append(line)
        self._add(name, lines)

    def _add(self, name: str | None, lines: list[str]) -> None:
        if name is None:
            return
        if name in self._by_name:
            raise ValueError(f"{self.where}: {name} is defined twice")
        body = "\n".join(lines).strip()
        if not body:
            raise ValueError(f"{self.where}: {name} has no statement")
        self._by_name[name] = body

    @classmethod
    def load(cls, package: str, filename: str = "queries.sql") -> NamedSql:
        """The named statements of ``filename`` in ``package`` (shipped as package data)."""
        text = (resources.files(package) / filename).read_text(encoding="utf-8")
        return cls(text, f"{package}/{filename}")

    def __getitem__(self, name: str) -> str:
        try:
            return self._by_name[name]
        except KeyError:
            raise AttributeError(f"{self.where} has no statement named {name}") from None

    def names(self) -> list[str]:
        """Every statement's name, in file order."""
        return list(self._by_name)


def rows(conn: psycopg.Connection[Any], statement: str, params: dict[str, Any] | None = None) -> list[tuple[Any, ...]]:
    """Every row of a statement as tuples, whatever row factory the connection has (the dashboard's give
    dicts; the packages it calls read tuples).
    """
    with conn.cursor(row_factory=tuple_row) as cur:
        return cur.execute(statement, params or {}).fetchall()


def first(conn: psycopg.Connection[Any], statement: str,
          params: dict[str, Any] | None = None) -> tuple[Any, ...] | None:
    """The first row of a statement as a tuple, or None (see ``rows``)."""
    with conn.cursor(row_factory=tuple_row) as cur:
        return cur.execute(statement, params or {}).fetchone()
