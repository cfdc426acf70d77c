"""Password attempts limited in the database, across every dashboard process and worker.

Two counters per attempt: the account and the client address. The failures before the
``FREE``-th cost nothing (``FREE``: 5 for an account, 20 for an address, since many officers may sit behind
one address); from the ``FREE``-th on, each blocks further attempts for ``BASE_S`` doubled per failure,
at most ``MAX_S``. A counter with no failure for ``FORGET_S`` starts again, and a
right password clears the account's counter. So a guessing attacker is slowed to a few tries
an hour, and the real user is never locked out for longer than ``MAX_S``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import psycopg
from psycopg.rows import tuple_row

from dashboard import queries as q

FREE = {"account": 5, "address": 20}
BASE_S = 15.0
MAX_S = 900.0
FORGET_S = 3600.0



@dataclass(frozen=True)
class Wait:
    """Attempts are refused until ``until``."""

    until: datetime

    def seconds(self) -> int:
        """Whole seconds left (at least 1)."""
        return max(1, int((self.until - datetime.now(UTC)).total_seconds() + 0.999))


def blocked(conn: psycopg.Connection[Any], account: str, address: str) -> Wait | None:
    """When either counter is blocking, until when."""
    with conn.cursor(row_factory=tuple_row) as cur:
        row = cur.execute(q.BLOCKED_UNTIL, {"account": account, "address": address}).fetchone()
    until = row[0] if row else None
    return Wait(until) if until else None


def failed(conn: psycopg.Connection[Any], account: str, address: str) -> None:
    """Count one wrong password against the account and the address."""
    with conn.transaction():
        for scope, key in (("account", account), ("address", address)):
            conn.execute(q.RECORD_FAILURE, {"scope": scope, "key": key, "forget": FORGET_S, "free": FREE[scope],
                                          "max": MAX_S, "base": BASE_S})
        conn.execute(q.FORGET_OLD, {"forget": FORGET_S})


def succeeded(conn: psycopg.Connection[Any], account: str) -> None:
    """A right password: the account starts again (the address keeps its count)."""
    with conn.transaction():
        conn.execute(q.CLEAR_ACCOUNT, {"account": account})
