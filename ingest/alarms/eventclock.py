"""Event time for timers: the watermark of stored events, flowing on between events.

The one clock the alarm timers and the notification chains run on, so a replay at speed N
escalates N times faster and no device clock drives the campus's timers.
"""

from __future__ import annotations

import time

import psycopg

from ingest.alarms import queries as q

STALL_S = 30.0  # no new event for this long: timers follow the wall clock


class EventClock:
    """Reads the watermark and lets it flow at real speed between events."""

    def __init__(self, clock_tolerance_s: float = 2.0) -> None:
        self.clock_tolerance_s = clock_tolerance_s
        self._mark = 0.0
        self._mark_seen = 0.0

    def now(self, conn: psycopg.Connection, wall: float | None = None) -> float | None:
        """Event-time 'now' (epoch seconds), or None before the first event.

        The watermark is the newest stored event time, never ahead of our own clock (each
        event's rule time is clamped on arrival, and the stored value again here, in case an
        older release stored one from a device clock in the future). A replay at speed N
        moves it N times faster, so timers keep pace with the replay. Between events event
        time is taken to flow at real speed (a quiet campus still escalates on time), and when
        no event at all has arrived for STALL_S (every sensor silent) the wall clock takes
        over, so offline sensors are still noticed.
        """
        row = conn.execute(q.WATERMARK).fetchone()
        if not row:
            return None
        wall = time.time() if wall is None else wall
        ceiling = wall + self.clock_tolerance_s
        mark = min(float(row[0]), ceiling)
        if mark != self._mark:
            self._mark, self._mark_seen = mark, wall
        if wall - self._mark_seen > STALL_S and wall > mark:
            return wall
        return min(mark + max(wall - self._mark_seen, 0.0), ceiling)
