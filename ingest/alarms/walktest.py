"""Walk tests (test mode): devices in test for a bounded time (docs/inspections.md).

An officer puts a zone, a floor or a list of devices into test with a reason. While it lasts,
an alarm from one of those devices is a *test alarm*: marked with its session (and as a drill, so
every statistic and streak leaves it out), never escalated, never notified; the device is marked
tested and passed. The session ends by itself at its end time (the alarm tick, event time) or
when an officer ends it: devices that never signalled are marked 'not signalled', and its open
test alarms are closed as tests. A device outside the set is never affected: its alarms are real.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from ingest.alarms import lifecycle
from ingest.alarms import queries as q
from ingest.alarms.actions import ActionRefusedError, close
from ingest.core.i18n import N_
from ingest.db.sql import rows

CACHE_S = 2.0
MIN_MINUTES, MAX_MINUTES = 5, 8 * 60
MAX_DEVICES = 500


@dataclass(frozen=True)
class Window:
    """A device's session and when it is in test."""

    session: int
    start: float
    end: float


class TestDirectory:
    """Which devices are in a walk test, cached for two seconds (the alarm engine asks each batch).

    The cache only says who *may* be in test; a batch with such a device asks the database again,
    so a session that has just ended never holds back a real alarm. A session started less than
    two seconds ago may miss its first event (it is then a real alarm: the safe side).
    """

    def __init__(self) -> None:
        self._maybe: frozenset[str] = frozenset()
        self._loaded = -1e9

    def windows(self, conn: psycopg.Connection[Any], sensors: set[str]) -> dict[str, Window]:
        """The test window of each of ``sensors`` that is in a session not yet ended."""
        if time.monotonic() - self._loaded > CACHE_S:
            self._maybe = frozenset(r[0] for r in rows(conn, q.SENSORS_IN_TEST))
            self._loaded = time.monotonic()
        if not self._maybe & sensors:
            return {}
        return {sid: Window(session, start.timestamp(), end.timestamp())
                for sid, session, start, end in rows(conn, q.SENSORS_IN_TEST) if sid in sensors}


def session_at(windows: dict[str, Window], sensor: str, at: float) -> int | None:
    """The walk test a device's event at ``at`` (event time) belongs to, if any."""
    w = windows.get(sensor)
    return w.session if w is not None and w.start <= at < w.end else None


def signalled(conn: psycopg.Connection[Any], session: int, sensor: str, at: datetime) -> None:
    """A device in test raised an alarm: tested, passed."""
    conn.execute(q.TEST_SIGNALLED, {"session": session, "sensor": sensor, "at": at})
    conn.execute(q.SENSOR_TESTED, {"sensor": sensor, "at": at})


def devices_for(conn: psycopg.Connection[Any], scope: dict[str, Any]) -> list[str]:
    """The testable devices (smoke, door, lab) a scope names: a zone, a building's floor, or ids."""
    if scope.get("zone"):
        return [r[0] for r in rows(conn, q.TESTABLE_IN_ZONE, {"zone": scope["zone"]})]
    if scope.get("building") is not None and scope.get("floor") is not None:
        return [r[0] for r in rows(conn, q.TESTABLE_ON_FLOOR, {"building": scope["building"],
                                                                 "floor": int(scope["floor"])})]
    ids = [str(s) for s in scope.get("sensors") or []]
    return [r[0] for r in rows(conn, q.TESTABLE_BY_ID, {"ids": ids})]


def start(conn: psycopg.Connection[Any], scope: dict[str, Any], minutes: float, reason: str, by: str) -> int:
    """Put a scope's devices into test for ``minutes``; the session's id (ActionRefusedError if not)."""
    reason = (reason or "").strip()[:500]
    if not reason:
        raise ActionRefusedError(N_("a walk test needs a reason"))
    if not MIN_MINUTES <= minutes <= MAX_MINUTES:
        raise ActionRefusedError(N_("a walk test lasts {lo} to {hi} minutes"), lo=MIN_MINUTES, hi=MAX_MINUTES)
    with conn.transaction():
        devices = devices_for(conn, scope)
        if not devices:
            raise ActionRefusedError(N_("no device to test there"))
        if len(devices) > MAX_DEVICES:
            raise ActionRefusedError(N_("at most {n} devices in one walk test"), n=MAX_DEVICES)
        busy = [r[0] for r in rows(conn, q.ALREADY_IN_TEST, {"ids": devices})]
        if busy:
            raise ActionRefusedError(N_("already in a walk test: {ids}"), ids=", ".join(busy[:5]))
        ends = datetime.now(UTC) + timedelta(minutes=minutes)
        row = rows(conn, q.START_TEST_SESSION, {"reason": reason, "scope": Jsonb(scope), "by": by, "ends": ends})[0]
        with conn.cursor() as cur:
            cur.executemany(q.ADD_TEST_DEVICE, [{"session": row[0], "sensor": s} for s in devices])
        return int(row[0])


def end(conn: psycopg.Connection[Any], session: int, by: str, at: datetime | None = None) -> int:
    """End a walk test: results for every device, its open test alarms closed as tests (one whose device
    still signals becomes a real alarm, and is notified); how many were closed.
    """
    with conn.transaction():
        found = rows(conn, q.TEST_SESSION_FOR_UPDATE, {"id": session})
        if not found:
            raise ActionRefusedError(N_("walk test {id} does not exist"), id=session)
        if found[0][1] is not None:
            return 0
        conn.execute(q.END_TEST_SESSION, {"id": session, "by": by, "at": at or datetime.now(UTC)})
        conn.execute(q.TEST_RESULTS_FINAL, {"id": session})
        closed = 0
        when = at or datetime.now(UTC)
        for alarm_id, active in rows(conn, q.OPEN_TEST_ALARMS, {"id": session}):
            if active:  # still signalling when the test ends: not held back, a real alarm from now on
                with conn.cursor(row_factory=dict_row) as cur:
                    new = cur.execute(q.TEST_ALARM_TO_REAL, {"id": alarm_id, "at": when}).fetchone()
                assert new is not None
                lifecycle.journal(conn, new, lifecycle.SYSTEM, "raised", from_state=None, event_time=when,
                                  note="the walk test ended while the device still signalled",
                                  details={"walk_test": session})
                lifecycle.notify(conn, lifecycle.Change(new, "raised"))
                continue
            close(conn, alarm_id, by, "test", "walk test ended")
            closed += 1
        return closed


def due_to_end(conn: psycopg.Connection[Any], now: datetime) -> list[int]:
    """Sessions whose time is up at event time ``now``."""
    return [r[0] for r in rows(conn, q.TESTS_DUE_TO_END, {"now": now})]
