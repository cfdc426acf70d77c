"""Two database roles: the owner runs migrations, the application only reads and writes rows.

The application role may not create, alter or drop anything (on TimescaleDB it owns the four
rollups, derived data it must refresh), and may only append to the
journal and the duty log (no UPDATE, DELETE or TRUNCATE there, on top of the triggers that
refuse them). ``grant_app_role`` is run after every migration, so new tables are covered.
"""

from __future__ import annotations

import logging

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

from ingest.db import queries as q
from ingest.db import rollups

logger = logging.getLogger(__name__)

APPEND_ONLY = ("alarm_journal", "duty_log", "alarm_activations", "notification_attempts", "patrol_scans",
               "hazard_journal")
READ_ONLY = ("schema_migrations",)
CREATE_ROLE = sql.SQL("CREATE ROLE {role} LOGIN")
GRANTS = (
    sql.SQL("GRANT CONNECT, TEMPORARY ON DATABASE {db} TO {role}"),
    sql.SQL("REVOKE CREATE ON SCHEMA public FROM {role}"),
    sql.SQL("GRANT USAGE ON SCHEMA public TO {role}"),
    sql.SQL("GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role}"),
    sql.SQL("GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {role}"),
    sql.SQL("GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA public TO {role}"),
)
REVOKE_APPEND_ONLY = sql.SQL("REVOKE UPDATE, DELETE, TRUNCATE ON {table} FROM {role}")
REVOKE_READ_ONLY = sql.SQL("REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON {table} FROM {role}")
# TimescaleDB lets only a continuous aggregate's owner refresh it, and ingest refreshes the
# buckets late data reached: the application owns the rollups (derived data), nothing else.
OWN_ROLLUP = sql.SQL("ALTER MATERIALIZED VIEW {view} OWNER TO {role}")


def user_of(url: str) -> str | None:
    """The role a connection URL logs in as."""
    user = conninfo_to_dict(url).get("user")
    return str(user) if user is not None else None


def app_role(db_url: str, owner_url: str | None) -> str | None:
    """The application's role when it differs from the owner's, else None (one role does both)."""
    if not owner_url:
        return None
    app, owner = user_of(db_url), user_of(owner_url)
    return app if app and app != owner else None


def ensure_login_role(conn: psycopg.Connection, role: str) -> None:
    """Create a login role without a password (for the embedded server, which trusts loopback)."""
    if not conn.execute(q.ROLE_EXISTS, {"role": role}).fetchone():
        conn.execute(CREATE_ROLE.format(role=sql.Identifier(role)))
        logger.info("created database role %s", role)


def grant_app_role(conn: psycopg.Connection, role: str, mode: str = "postgresql") -> None:
    """Give ``role`` the rights the application needs and nothing more (idempotent)."""
    ident = sql.Identifier(role)
    with conn.transaction():
        for stmt in GRANTS:
            conn.execute(stmt.format(db=sql.Identifier(conn.info.dbname), role=ident))
        for table in APPEND_ONLY:
            conn.execute(REVOKE_APPEND_ONLY.format(table=sql.Identifier(table), role=ident))
        for table in READ_ONLY:
            conn.execute(REVOKE_READ_ONLY.format(table=sql.Identifier(table), role=ident))
        if mode == "timescaledb":
            for agg in rollups.AGGREGATES:
                conn.execute(OWN_ROLLUP.format(view=sql.Identifier(agg.view), role=ident))
    logger.info("database role %s: rows only; journal and duty log append-only", role)
