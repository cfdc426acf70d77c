"""What ``safecampus db status`` reports."""

from __future__ import annotations

from typing import Any

import psycopg

from ingest.db import queries as q
from ingest.db.migrate import current_version, load_migrations, recorded_mode


def db_status(conn: psycopg.Connection) -> dict[str, Any]:
    """Mode, schema version and headline counts of a SafeCampus database."""
    version = current_version(conn)
    out: dict[str, Any] = {
        "mode": recorded_mode(conn),
        "schema_version": version,
        "schema_latest": len(load_migrations()),
    }
    if version == 0:
        return out | {"sensors": 0, "unregistered": 0, "events_total": 0,
                      "dead_letters_total": 0, "alarms_open": 0, "last_event_at": None}
    row = conn.execute(q.STATUS).fetchone()
    assert row is not None
    sensors, unregistered, events_total, dead_total, last_event = row
    has_alarms = conn.execute(q.ALARMS_TABLE_EXISTS).fetchone()
    alarms_open = conn.execute(q.ALARMS_OPEN).fetchone()[0] if has_alarms and has_alarms[0] else 0  # type: ignore[index]
    return out | {
        "sensors": sensors,
        "unregistered": unregistered,
        "events_total": events_total,
        "dead_letters_total": dead_total,
        "alarms_open": alarms_open,
        "last_event_at": last_event.isoformat() if last_event else None,
    }
