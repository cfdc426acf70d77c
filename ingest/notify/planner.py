"""Who hears of what, and when: alarm changes and escalation timers → notifications.

Runs in the notifier's leader, in one transaction per round: the outbox rows it takes are
deleted in the transaction that inserts their notifications, and a notification is unique per
(alarm, step, recipient), so a change is planned once and a step is sent to a recipient once,
whoever plans and however often. Timers (later steps, reminders) run on event time
(``EventClock``), like the alarm engine's escalation.

Steps: ``step-1`` at raise, ``step-2`` when the alarm escalates, ``step-N`` ``after_s`` after
the step before; ``remind-K`` every ``remind_every_s`` for a critical alarm until acknowledged;
``acknowledged``, ``returned``, ``closed``, ``confirmed``, ``re-alarm-V`` to everyone already told.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from psycopg.rows import dict_row

from ingest.core import clock
from ingest.notify import queries as q
from ingest.notify.config import UPDATE_URGENCY, NotifyConfig, Route, urgency

logger = logging.getLogger(__name__)

OUTBOX_ROUND = 1000


@dataclass(frozen=True)
class Planned:
    """One notification to add."""

    alarm_id: int
    step: str
    recipient: str
    channel: str
    language: str
    urgency: int
    due_at: datetime


def quiet_until(route: Route, at: datetime) -> datetime | None:
    """The end of the route's quiet hours when ``at`` (campus time) falls inside them, else None."""
    qh = route.quiet_hours
    if qh is None:
        return None
    local = clock.local(at)
    t = local.time()
    inside = (qh.start <= t < qh.end) if qh.start <= qh.end else (t >= qh.start or t < qh.end)
    if not inside:
        return None
    end_day = local.date() if t < qh.end else local.date() + timedelta(days=1)
    return clock.as_campus(datetime.combine(end_day, qh.end)).astimezone(UTC)


def _due(route: Route, alarm: dict, when: datetime) -> datetime:
    """Now, or the end of quiet hours for a routine message (a critical alarm never waits)."""
    if urgency(alarm) <= 1:
        return when
    return quiet_until(route, when) or when


def step_offsets(route: Route) -> list[float | None]:
    """Seconds after escalation each step is due (None: step 1, at raise)."""
    out: list[float | None] = [None, 0.0]
    total = 0.0
    for step in route.steps[2:]:
        total += float(step.after_s or 0)
        out.append(total)
    return out[: len(route.steps)]


class Planner:
    """Turns outbox rows and due timers into notifications."""

    def __init__(self, config: NotifyConfig | None) -> None:
        self.config = config

    def _recipients(self, alarm: dict, step_no: int) -> list[tuple[str, Route]]:
        assert self.config is not None
        out: list[tuple[str, Route]] = []
        for route in self.config.routes_for(alarm):
            if step_no <= len(route.steps):
                out.extend((name, route) for name in route.steps[step_no - 1].notify)
        return out

    def _to(self, alarm: dict, step: str, recipients: list[tuple[str, Route]], now: datetime,
            prio: int | None = None) -> list[Planned]:
        assert self.config is not None
        seen: set[str] = set()
        out = []
        for name, route in recipients:
            if name in seen:
                continue
            seen.add(name)
            rcpt = self.config.recipients[name]
            out.append(Planned(alarm["id"], step, name, rcpt.channel, rcpt.language,
                               urgency(alarm) if prio is None else prio, _due(route, alarm, now)))
        return out

    def _told(self, conn: psycopg.Connection, ids: list[int]) -> dict[int, list[tuple[str, str, str]]]:
        told: dict[int, list[tuple[str, str, str]]] = {}
        for alarm_id, recipient, channel, language in conn.execute(q.TOLD, {"ids": ids}):
            told.setdefault(alarm_id, []).append((recipient, channel, language))
        return told

    def _updates(self, alarm: dict, step: str, told: list[tuple[str, str, str]], now: datetime) -> list[Planned]:
        assert self.config is not None
        if not any(r.updates for r in self.config.routes_for(alarm)) and step != "confirmed":
            return []
        prio = urgency(alarm) if step == "confirmed" else UPDATE_URGENCY
        return [Planned(alarm["id"], step, name, channel, lang, prio, now) for name, channel, lang in told]

    def from_outbox(self, conn: psycopg.Connection, now: datetime) -> list[Planned]:
        """Take the outbox's oldest rows (deleted with this transaction) and plan them."""
        rows = conn.execute(q.OUTBOX_TAKE, {"limit": OUTBOX_ROUND}).fetchall()
        if not rows or self.config is None:
            return []
        ids = sorted({r[1] for r in rows})
        with conn.cursor(row_factory=dict_row) as cur:
            alarms = {a["id"]: a for a in cur.execute(q.ALARMS, {"ids": ids})}
        told = self._told(conn, ids)
        out: list[Planned] = []
        for _id, alarm_id, action in rows:
            alarm = alarms.get(alarm_id)
            if alarm is None:
                continue
            told_now = told.get(alarm_id, [])
            if action == "raised":
                if not alarm["suppressed"]:
                    out += self._to(alarm, "step-1", self._recipients(alarm, 1), now)
            elif action == "escalated":
                out += self._to(alarm, "step-2", self._recipients(alarm, 2), now)
            elif action in ("re-alarm", "returned"):  # a higher priority, or the condition back before anyone acked
                step = f"re-alarm-{alarm['version']}"
                out += self._to(alarm, step, self._recipients(alarm, 1), now)
                out += [Planned(alarm_id, step, name, ch, lang, urgency(alarm), now) for name, ch, lang in told_now]
            elif action in ("confirmed", "acknowledged"):
                out += self._updates(alarm, action, told_now, now)
            elif action == "cleared":
                out += self._updates(alarm, "returned", told_now, now)
            elif action in ("closed", "reset") and alarm["state"] == "closed":
                out += self._updates(alarm, "closed", told_now, now)
        return out

    def from_timers(self, conn: psycopg.Connection, now: datetime) -> list[Planned]:
        """Later escalation steps and critical reminders that are due at event time ``now``."""
        if self.config is None or not self.config.routes:
            return []
        with conn.cursor(row_factory=dict_row) as cur:
            alarms = cur.execute(q.TIMED_ALARMS, {"now": now}).fetchall()
        if not alarms:
            return []
        ids = [a["id"] for a in alarms]
        have: set[tuple[int, str]] = {(a, s) for a, s, _r in conn.execute(q.STEPS_OF, {"ids": ids})}
        told = self._told(conn, ids)
        out: list[Planned] = []
        for alarm in alarms:
            for route in self.config.routes_for(alarm):
                out += self._later_steps(alarm, route, now, have)
                if alarm["priority"] == "critical" and route.remind_every_s:
                    n = int((now - alarm["raised_at"]).total_seconds() // route.remind_every_s)
                    step = f"remind-{n}"
                    if n >= 1 and (alarm["id"], step) not in have:
                        out += [Planned(alarm["id"], step, name, channel, lang, urgency(alarm), now)
                                for name, channel, lang in told.get(alarm["id"], [])]
        return out

    def _later_steps(self, alarm: dict, route: Route, now: datetime, have: set[tuple[int, str]]) -> list[Planned]:
        if alarm["escalated_at"] is None:
            return []
        out: list[Planned] = []
        for n, offset in enumerate(step_offsets(route), 1):
            if n < 3 or offset is None or (alarm["id"], f"step-{n}") in have:
                continue
            if now >= alarm["escalated_at"] + timedelta(seconds=offset):
                out += self._to(alarm, f"step-{n}", [(r, route) for r in route.steps[n - 1].notify], now)
        return out

    def plan(self, conn: psycopg.Connection, event_now: float | None) -> int:
        """One planning round in one transaction; returns how many notifications were added."""
        with conn.transaction():
            wall = datetime.now(UTC)
            planned = self.from_outbox(conn, wall)
            if event_now is not None:
                planned += self.from_timers(conn, datetime.fromtimestamp(event_now, tz=UTC))
            if planned:
                with conn.cursor() as cur:
                    cur.executemany(q.ADD, [_params(p) for p in planned])
        return len(planned)


def _params(p: Planned) -> dict[str, Any]:
    return {"alarm_id": p.alarm_id, "step": p.step, "recipient": p.recipient, "channel": p.channel,
            "language": p.language, "urgency": p.urgency, "due_at": p.due_at}
