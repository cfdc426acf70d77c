"""The notifier: one ingestor at a time plans and sends notifications (a session advisory lock).

It wakes on every alarm change (LISTEN) and at least once a second for the timers (later
escalation steps, reminders), on two connections of its own so that a slow channel never
holds a connection the writer or the alarm tick needs. Without a notification file it still
empties the outbox (nothing is configured to be told).
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import UTC, datetime
from typing import Any

import psycopg

from ingest.alarms.eventclock import EventClock
from ingest.core.background import BackgroundLoop
from ingest.db import locks
from ingest.notify import queries as q
from ingest.notify.config import NotifyConfig
from ingest.notify.planner import Planner
from ingest.notify.sender import Sender

logger = logging.getLogger(__name__)

STATE_EVERY_S = 5.0
RETRY_CONNECT_S = 2.0


class Notifier(BackgroundLoop):
    """Plans and sends notifications while it holds the notifier lock."""

    def __init__(self, db_url: str, config: NotifyConfig | None, *, clock_tolerance_s: float = 2.0,
                 escalation_s: dict[str, float] | None = None, metrics: Any = None) -> None:
        super().__init__("notifier")
        self._db_url = db_url
        self.config = config
        self.planner = Planner(config)
        self.sender = Sender(config, metrics, escalation_s=escalation_s)
        self.clock = EventClock(clock_tolerance_s)
        self.metrics = metrics
        self.leader = False
        self._lock = threading.Lock()
        self._state: dict[str, Any] = {"configured": config is not None, "leader": False}

    def state(self) -> dict[str, Any]:
        """What health reports: channels failing, messages waiting, given up today."""
        with self._lock:
            return dict(self._state)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._serve()
            except psycopg.Error as exc:
                if self.leader:
                    logger.warning("notifier lost its database connection: %s", exc)
                self.leader = False
                self._stop.wait(RETRY_CONNECT_S)
        self.sender.close()

    def _serve(self) -> None:
        with (psycopg.connect(self._db_url, autocommit=True) as listen,
              psycopg.connect(self._db_url, autocommit=True) as work):
            while not self._stop.is_set():
                got = listen.execute(q.LEADER_LOCK, {"key": locks.NOTIFIER}).fetchone()
                if got and got[0]:
                    break
                self._stop.wait(RETRY_CONNECT_S)
            if self._stop.is_set():
                return
            self.leader = True
            listen.execute(q.LISTEN_ALARMS)
            listen.execute(q.LISTEN_NOTIFY)
            with work.transaction():
                again = work.execute(q.RESET_IN_DOUBT).fetchall()
            if again:
                logger.warning("notifier: %d notifications were on the wire when a sender stopped; sending again "
                               "marked in doubt under the same id", len(again))
            next_state = 0.0
            while not self._stop.is_set():
                self.planner.plan(work, self.clock.now(work))
                made = self.sender.round(work)
                if time.monotonic() >= next_state:
                    next_state = time.monotonic() + STATE_EVERY_S
                    self._report(work)
                if made == 0:
                    for _n in listen.notifies(timeout=1.0, stop_after=1):
                        pass

    def _report(self, conn: psycopg.Connection) -> None:
        channels = {}
        for name, ok, at, status, response, failing_since in conn.execute(q.CHANNEL_STATE):
            channels[name] = {"ok": bool(ok), "at": at.isoformat(), "status": status,
                              "response": (response or "")[:200],
                              "failing_since": failing_since.isoformat() if failing_since else None}
        row = conn.execute(q.BACKLOG).fetchone()
        conn.commit()
        pending, failed = (row or (0, 0))
        state = {"configured": self.config is not None, "leader": True,
                 "failing": sorted(n for n, c in channels.items() if not c["ok"]),
                 "channels": channels, "pending": int(pending), "failed_today": int(failed),
                 "at": datetime.now(UTC).isoformat()}
        with self._lock:
            self._state = state
        if self.metrics is not None:
            self.metrics.notify_state(state)
