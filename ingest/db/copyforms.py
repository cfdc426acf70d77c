"""Binary COPY forms of the event columns the writer fills from what the contract already checked.

psycopg's own dumpers would do the work again in Python (serialise the JSON text once more, walk
each list for its element type and dimensions): these write PostgreSQL's binary forms directly.
Registered by type oid on the writer's cursor, so they serve the columns ``set_types`` names.
An event's readings (a dict of metric -> float) fill two columns in step: its metric names
(``text[]``, the same few sets over and over, encoded once each) and their values (``float8[]``).
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterable

import psycopg
from psycopg import postgres
from psycopg.adapt import Dumper
from psycopg.pq import Format

# A one-dimensional array without NULLs: ndim, has-null flag, element oid, length, lower bound 1.
_ARRAY_HEAD = struct.Struct(">iiiii")
_LENGTH = struct.Struct(">i")
_TEXT, _FLOAT8 = postgres.types["text"].oid, postgres.types["float8"].oid
_NAMES_KEPT = 4096  # distinct metric sets remembered (a campus has a few dozen)


class JsonTextBinaryDumper(Dumper):
    """``json`` from JSON text the contract already validated: its binary form is the UTF-8 text."""

    format = Format.BINARY
    oid = postgres.types["json"].oid

    def dump(self, obj: str) -> bytes:
        """The binary json form."""
        return obj.encode()


class MetricNamesBinaryDumper(Dumper):
    """``text[]`` of a readings dict's keys, in its order."""

    format = Format.BINARY
    oid = postgres.types["text"].array_oid
    _known: dict[tuple[str, ...], bytes] = {}  # immutable results, shared: the same sets every batch

    def dump(self, obj: dict[str, float]) -> bytes:
        """The metric names' array."""
        names = tuple(obj)
        got = self._known.get(names)
        if got is None:
            parts = [_ARRAY_HEAD.pack(1, 0, _TEXT, len(names), 1)]
            for name in names:
                data = name.encode()
                parts += (_LENGTH.pack(len(data)), data)
            got = b"".join(parts)
            if len(self._known) >= _NAMES_KEPT:
                self._known.clear()
            self._known[names] = got
        return got


class MetricValuesBinaryDumper(Dumper):
    """``float8[]`` of a readings dict's values, in the order of its keys."""

    format = Format.BINARY
    oid = postgres.types["float8"].array_oid
    _forms: dict[int, Callable[[Iterable[float]], bytes]] = {}  # per length (pure functions, shared)

    def dump(self, obj: dict[str, float]) -> bytes:
        """The values' array."""
        n = len(obj)
        form = self._forms.get(n)
        if form is None:
            form = self._forms[n] = _values_form(n)
        return form(obj.values())


def _values_form(n: int) -> Callable[[Iterable[float]], bytes]:
    """The array of ``n`` values: its head, then each element's byte count (8) and value, in one pack;
    one and two readings (most messages) without a loop.
    """
    pack = struct.Struct(_ARRAY_HEAD.format + "id" * n).pack
    if n == 1:
        return lambda values: pack(1, 0, _FLOAT8, 1, 1, 8, *values)
    if n == 2:
        def two(values: Iterable[float]) -> bytes:
            a, b = values
            return pack(1, 0, _FLOAT8, 2, 1, 8, a, 8, b)
        return two

    def many(values: Iterable[float]) -> bytes:
        args: list[float] = [1, 0, _FLOAT8, n, 1]
        for value in values:
            args += (8, value)
        return pack(*args)
    return many


def register(cursor: psycopg.Cursor) -> None:
    """Make ``cursor`` use these forms for the columns of those types."""
    for dumper in (JsonTextBinaryDumper, MetricNamesBinaryDumper, MetricValuesBinaryDumper):
        cursor.adapters.register_dumper(None, dumper)
