"""Retention and compression: TimescaleDB policies, or periodic pruning on plain PostgreSQL."""

from __future__ import annotations

import logging
from datetime import timedelta

import psycopg

from ingest.core.settings import Settings
from ingest.db import queries as q
from ingest.db import rollups

logger = logging.getLogger(__name__)

TIME_TABLES = ("events", "readings_before")  # readings_before: those stored before 0018


def apply_policies(conn: psycopg.Connection, mode: str, settings: Settings) -> None:
    """Make the database's policies match the settings (TimescaleDB only; idempotent)."""
    if mode != "timescaledb":
        return
    retention = timedelta(days=settings.retention_days)
    compress = timedelta(days=settings.compress_after_days)
    with conn.transaction():
        for table in TIME_TABLES:
            conn.execute(q.REMOVE_RETENTION, {"table": table})
            conn.execute(q.ADD_RETENTION, {"table": table, "after": retention})
            conn.execute(q.REMOVE_COMPRESSION, {"table": table})
            conn.execute(q.ADD_COMPRESSION, {"table": table, "after": compress})
        for agg in rollups.AGGREGATES:
            conn.execute(q.REMOVE_CAGG_POLICY, {"view": agg.view})
            conn.execute(q.ADD_CAGG_POLICY, {"view": agg.view, "start": rollups.policy_window(agg, retention),
                                             "end": agg.end_offset, "every": agg.every})
    logger.info("TimescaleDB policies: retention %s, compression after %s, rollup refresh windows %s", retention,
                compress, ", ".join(f"{a.view} {rollups.policy_window(a, retention)}" for a in rollups.AGGREGATES))


def prune(conn: psycopg.Connection, mode: str, settings: Settings) -> int:
    """Plain PostgreSQL: delete rows older than the retention period; return rows deleted."""
    if mode == "timescaledb":
        return 0  # the retention policy drops whole chunks
    after = timedelta(days=settings.retention_days)
    with conn.transaction():
        n = conn.execute(q.PRUNE_EVENTS, {"after": after}).rowcount
        n += conn.execute(q.PRUNE_READINGS, {"after": after}).rowcount
    return n
