"""Dashboard users: Argon2id password hashes, roles and session versions (CLI and dashboard alike).

Limiting wrong guesses is the dashboard's (it knows the client's address): ``dashboard/login_limit.py``.
"""

from __future__ import annotations

from typing import Any

import psycopg
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerifyMismatchError
from psycopg.rows import dict_row

from ingest.core.vocabulary import ROLES
from ingest.db import queries as q

_HASHER = PasswordHasher()
MIN_PASSWORD = 10



def hash_password(password: str) -> str:
    """An Argon2id hash of ``password``."""
    return _HASHER.hash(password)


def add_user(
    conn: psycopg.Connection[Any], username: str, password: str, role: str, display_name: str | None = None,
    *, card: str | None = None, department: str | None = None, head: bool = False,
) -> None:
    """Create or replace a user (admin CLI); a guard's ``card`` is the id their checkpoint scans carry;
    ``department`` (and ``head``: its head, who signs its inspections) for people of a department.
    """
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    if len(password) < MIN_PASSWORD:
        raise ValueError(f"a password needs at least {MIN_PASSWORD} characters")
    if card is not None and (role != "guard" or not 1 <= len(card) <= 64):
        raise ValueError("only a guard has a card (an id of 1 to 64 characters)")
    with conn.transaction():
        taken = conn.execute(q.CARD_OWNER, {"card": card, "u": username}).fetchone() if card else None
        if taken:
            raise ValueError(f"card {card} is already {taken[0]}'s")
        conn.execute(q.ADD_USER, {"u": username, "h": hash_password(password), "r": role,
                                  "n": display_name or username, "card": card, "dep": department, "head": head})


def verify(conn: psycopg.Connection[Any], username: str, password: str) -> dict[str, Any] | None:
    """The user's row (role, display name, session version) when the password is right, else None."""
    with conn.cursor(row_factory=dict_row) as cur:
        row = cur.execute(q.GET_USER, {"u": username}).fetchone()
    if not row:
        _HASHER.hash(password)  # same work either way: no user enumeration by timing
        return None
    try:
        _HASHER.verify(row["password_hash"], password)
    except (VerifyMismatchError, InvalidHashError):
        return None
    return row


def set_language(conn: psycopg.Connection[Any], username: str, language: str | None) -> bool:
    """A person's language (None: their browser's); False when there is no such user."""
    with conn.transaction():
        return conn.execute(q.SET_LANGUAGE, {"u": username, "lang": language}).rowcount == 1
