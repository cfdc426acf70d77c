"""The alarm engine inside ingest: rules on each committed batch, timers on each tick.

``on_batch`` runs inside the batch transaction (a BatchHook), so alarms, rule state and
events commit together, exactly once. ``tick`` runs every second in one ingestor at a
time (an advisory lock): timers, offline sensors, shelve expiry and escalations.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

import orjson
import psycopg
import yaml
from psycopg.rows import tuple_row
from psycopg.types.json import Jsonb

from ingest.alarms import lifecycle, rules, walktest
from ingest.alarms import limits as L
from ingest.alarms import queries as q
from ingest.alarms.actions import unshelve
from ingest.alarms.evaluation import Evaluation, offline_signal
from ingest.alarms.eventclock import EventClock
from ingest.alarms.messages import Text, english, journal_details
from ingest.alarms.types import Clear, Raise, SensorInfo
from ingest.core.background import TickLoop
from ingest.core.vocabulary import ESCALATION_DEFAULT_S
from ingest.db import locks
from ingest.mqtt.contract import Event

logger = logging.getLogger(__name__)

DIRECTORY_TTL_S = 30.0


Procedures = dict[str, list[dict[str, str]]]  # condition → steps, each its text per language


def load_procedures(path: Path | None = None) -> Procedures:
    """Checklists per condition (or family), from the shipped file or ``path``.

    A step is its text per language (``{en: ..., zh-CN: ...}``) or one text for every reader.
    """
    text = (
        Path(path).read_text(encoding="utf-8")
        if path
        else (resources.files("ingest.alarms") / "procedures.yaml").read_text(encoding="utf-8")
    )
    data = yaml.safe_load(text) or {}
    return {str(k): [({str(lang): str(t) for lang, t in s.items()} if isinstance(s, dict) else {"en": str(s)})
                     for s in v] for k, v in data.items()}


def _state_json(state: dict[str, Any]) -> bytes:
    """A sensor's rule state as JSON (orjson: a batch saves hundreds; its number keys become text, as json's)."""
    return orjson.dumps(state, option=orjson.OPT_NON_STR_KEYS)


class SensorDirectory:
    """Registry facts the rules need, cached for a few seconds (the registry changes rarely)."""

    def __init__(self) -> None:
        self._info: dict[str, SensorInfo] = {}
        self._loaded = 0.0

    def get(self, conn: psycopg.Connection, sensor_id: str, building: str, kind: str) -> SensorInfo:
        """Facts about one sensor; an unregistered one gets defaults."""
        return self.known(conn, {sensor_id}).get(sensor_id) or SensorInfo(sensor_id, kind, building)

    def known(self, conn: psycopg.Connection, ids: set[str]) -> dict[str, SensorInfo]:
        """Every registered sensor's facts, read again when old or when one of ``ids`` is not there
        (at most once a second): one check for a whole batch.
        """
        age = time.monotonic() - self._loaded
        if age > 1.0 and (age > DIRECTORY_TTL_S or not ids <= self._info.keys()):
            self.reload(conn)
        return self._info

    def reload(self, conn: psycopg.Connection) -> None:
        """Read the registry again."""
        info = {}
        with conn.cursor(row_factory=tuple_row) as cur:  # the dashboard's connections give dicts
            for sid, kind, building, zone, interval, thresholds, restricted, oos in cur.execute(q.SENSOR_INFO):
                info[sid] = SensorInfo(sid, kind, building, zone, interval, thresholds or {}, restricted, oos)
        self._info = info
        self._loaded = time.monotonic()


class AlarmEngine:
    """Evaluates rules for ingest and keeps alarms' timers."""

    def __init__(
        self,
        *,
        timezone: str = "Asia/Shanghai",
        procedures: Procedures | None = None,
        escalation_s: dict[str, float] | None = None,
        on_changes: Callable[[list[lifecycle.Change]], None] | None = None,
        clock_tolerance_s: float = 2.0,
    ) -> None:
        self.tz = timezone
        self.clock_tolerance_s = clock_tolerance_s
        self.procedures = procedures if procedures is not None else load_procedures()
        defaults = {k: float(v) for k, v in ESCALATION_DEFAULT_S.items()}
        self.escalation_s: dict[str, float] = defaults | dict(escalation_s or {})
        self.directory = SensorDirectory()
        self.tests = walktest.TestDirectory()
        self.on_changes = on_changes
        self.clock = EventClock(clock_tolerance_s)
        self._prepared: Evaluation | None = None  # the writer thread's batch, between its COPY and on_batch

    def _procedure(self, condition: str, family: str) -> list[dict[str, Any]]:
        steps = (
            self.procedures.get(condition)
            or self.procedures.get(condition.split(":")[0])
            or self.procedures.get(family)
            or []
        )
        return [{"step": s.get("en") or next(iter(s.values()), ""), "texts": s, "done": False} for s in steps]

    def apply(
        self, conn: psycopg.Connection, sensor: SensorInfo, signals: list, drill: bool, changes: list[lifecycle.Change],
        test_session: int | None = None,
    ) -> None:
        """Pass a sensor's signals through the lifecycle (inside the caller's transaction); a device in a
        walk test (``test_session``) raises test alarms (drills of that session) and is marked tested.
        """
        drill = drill or test_session is not None
        for sig in signals:
            if isinstance(sig, Raise):
                by_design = rules.suppressed_by_design(sensor, sig.at.timestamp(), self.tz)
                ch = lifecycle.apply_raise(
                    conn, sensor, sig, drill, self._procedure(sig.condition, sig.family), suppressed=by_design,
                    test_session=test_session,
                )
                if test_session is not None:
                    walktest.signalled(conn, test_session, sensor.id, sig.at)
                if ch:
                    changes.append(ch)
                    changes.extend(lifecycle.confirm_fire(conn, ch, L.FIRE_VERIFY_S))
            elif isinstance(sig, Clear):
                ch = lifecycle.apply_clear(conn, sensor.id, sig, drill)
                if ch:
                    changes.append(ch)

    # -- per batch (inside the ingest transaction) -----------------------------------------
    def prepare_batch(self, conn: psycopg.Connection, events: list[Event]) -> Callable[[], bool]:
        """Read what the rules need for a batch about to be stored (in the rules' order, its sensors
        locked) and return their evaluation in slices, for the writer to do while PostgreSQL takes
        the batch's COPY. ``on_batch`` applies it when the events stored are these; otherwise (some
        were stored before) it evaluates the events stored again, from the states as they are.
        """
        self._prepared = Evaluation.read(conn, events, self.tests, self.directory.known, self.tz) if events else None
        return self._prepared.step if self._prepared is not None else _nothing

    def on_batch(self, conn: psycopg.Connection, events: list[Event]) -> None:
        """Evaluate every newly stored event, in event-time order, and apply what they signal."""
        prepared, self._prepared = self._prepared, None
        if not events:
            return
        ev = prepared if prepared is not None and prepared.events is events else \
            Evaluation.read(conn, events, self.tests, self.directory.known, self.tz)
        ev.run()
        changes: list[lifecycle.Change] = []
        for effect in ev.effects:
            self.apply(conn, effect.sensor, effect.signals, effect.drill, changes, effect.test_session)
        if ev.dirty:  # one statement for the batch (ids sorted: rows locked in one order)
            ordered = sorted(ev.dirty)
            conn.execute(q.SAVE_RULE_STATES, {"sensors": ordered,
                                              "states": [Jsonb(ev.states[s], _state_json) for s in ordered]})
        # Event time (`at`: never ahead of our own clock by more than the tolerance) drives timers.
        mark = min(events[-1].at.timestamp(), time.time() + self.clock_tolerance_s)  # events: in `at` order
        conn.execute(q.SET_WATERMARK, {"value": str(mark)})
        self.finish(conn, changes)

    def finish(self, conn: psycopg.Connection, changes: list[lifecycle.Change]) -> None:
        """Tell listeners and the notification outbox of the changes made (in the same transaction)."""
        for ch in changes:
            if ch.action != "repeat":
                lifecycle.notify(conn, ch)
        if changes and self.on_changes:
            self.on_changes(changes)

    # -- timers (one ingestor at a time) ----------------------------------------------------
    def tick_time(self, conn: psycopg.Connection, wall: float | None = None) -> float | None:
        """Event-time 'now' for timers (``EventClock.now``)."""
        return self.clock.now(conn, wall)

    def tick(self, conn: psycopg.Connection, now: float | None = None) -> list[lifecycle.Change]:
        """Run timers at ``now`` (default: tick_time); returns the changes made."""
        changes: list[lifecycle.Change] = []
        with conn.transaction():
            got = conn.execute(q.TICK_LOCK, {"key": locks.ALARM_TICK}).fetchone()
            if not got or not got[0]:
                return []
            now = self.tick_time(conn) if now is None else now
            if now is None:
                return []
            at = datetime.fromtimestamp(now, tz=UTC)
            for (sid,) in conn.execute(q.DUE_SENSORS, {"now": now}).fetchall():
                conn.execute(q.LOCK_SENSOR, {"sensor": sid})
                row = conn.execute(q.RULE_STATE_IF_DUE, {"sensor": sid, "now": now}).fetchone()
                if row is None:
                    continue  # a batch moved this sensor on while we waited for its lock
                state = row[0]
                sensor = self.directory.get(conn, sid, "", "")
                signals = rules.timers(sensor, state, now)
                test = walktest.session_at(self.tests.windows(conn, {sid}), sid, now)
                self.apply(conn, sensor, signals, False, changes, test)
                conn.execute(q.SAVE_RULE_STATE, {"sensor": sid, "state": Jsonb(state)})
            for (sid,) in conn.execute(q.SILENT_SENSORS, {"now": at, "factor": L.OFFLINE_FACTOR}).fetchall():
                if (
                    conn.execute(q.STILL_SILENT, {"sensor": sid, "now": at, "factor": L.OFFLINE_FACTOR}).fetchone()
                    is None
                ):
                    continue
                sensor = self.directory.get(conn, sid, "", "")
                limit = sensor.thresholds.get("offline_after_s")
                text = Text("offline_for", _duration(float(limit))) if limit else Text("offline")
                test = walktest.session_at(self.tests.windows(conn, {sid}), sid, now)
                self.apply(conn, sensor, [offline_signal(at, text)], False, changes, test)
            self._escalate(conn, at, changes)
            self.finish(conn, changes)
            for session in walktest.due_to_end(conn, at):  # a walk test ends by itself
                walktest.end(conn, session, lifecycle.SYSTEM, at)
        for (alarm_id,) in conn.execute(q.SHELVES_EXPIRED, {"now": datetime.now(UTC)}).fetchall():
            changes.append(unshelve(conn, alarm_id, lifecycle.SYSTEM, "shelve expired"))
        return changes

    def _escalate(self, conn: psycopg.Connection, at: datetime, changes: list[lifecycle.Change]) -> None:
        rows = conn.execute(q.TO_ESCALATE, {"now": at, **self.escalation_s}).fetchall()
        for (alarm_id,) in rows:
            new = lifecycle.update(conn, alarm_id, escalated_at=at)
            text = Text("not_acknowledged", {"limit": self.escalation_s[new["priority"]], "unit": "s"})
            lifecycle.journal(
                conn,
                new,
                lifecycle.SYSTEM,
                "escalated",
                from_state=new["state"],
                note=english(text),
                event_time=at,
                details=journal_details(text),
            )
            conn.execute(q.NOTIFY_ESCALATION, {"payload": json.dumps({"id": alarm_id, "priority": new["priority"]})})
            changes.append(lifecycle.Change(new, "escalated"))


def _duration(seconds: float) -> dict[str, Any]:
    """A limit in the unit people say it in: 90000 s → 25 h, 600 s → 10 min."""
    if seconds >= 7200:
        return {"limit": seconds / 3600, "unit": "h"}
    if seconds >= 120:
        return {"limit": seconds / 60, "unit": "min"}
    return {"limit": seconds, "unit": "s"}


def _nothing() -> bool:
    return False


class Ticker(TickLoop):
    """Calls ``engine.tick`` every second on a pooled connection, until stopped."""

    def __init__(self, engine: AlarmEngine, pool: Any, every_s: float = 1.0) -> None:
        super().__init__("alarm-tick", engine.tick, pool, every_s)
