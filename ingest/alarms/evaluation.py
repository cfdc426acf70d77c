"""One batch's alarm rules, evaluated before their effects are written.

The rules are pure (``ingest.alarms.rules``): what a batch's events signal depends only on the
events, the sensors' rule states and the registry's facts, all read before the first is
evaluated. So the evaluation can run in slices while PostgreSQL takes the batch's COPY (the
writer's work while it waits), and the signals are applied, in the events' order, once the
events are stored. Nothing here writes to the database; a batch whose events were not all
stored (a redelivery) is evaluated again from the states as stored.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson
import psycopg
from psycopg.rows import tuple_row
from psycopg.types.json import set_json_loads

from ingest.alarms import queries as q
from ingest.alarms import rules, walktest
from ingest.alarms.messages import Text
from ingest.alarms.types import Clear, Raise, SensorInfo, Signal
from ingest.mqtt.contract import Event

SLICE = 256  # events evaluated per call of ``step`` (about a tenth of a millisecond)
Known = Callable[[psycopg.Connection, set[str]], dict[str, SensorInfo]]  # registry facts of these sensors


@dataclass(slots=True)
class Effect:
    """Signals of one sensor to apply, in the batch's order."""

    sensor: SensorInfo
    signals: list[Signal]
    drill: bool
    test_session: int | None


@dataclass
class Evaluation:
    """The rules over ``events`` (the batch in the rules' order): ``step`` until False, then ``effects``."""

    events: list[Event]
    states: dict[str, dict[str, Any]]
    offline: set[str]
    in_test: dict[str, walktest.Window]
    known: dict[str, SensorInfo]
    tz: str
    effects: list[Effect] = field(default_factory=list)
    dirty: set[str] = field(default_factory=set)  # sensors whose rule state the batch changed
    _next: int = 0

    @classmethod
    def read(cls, conn: psycopg.Connection, events: list[Event], tests: walktest.TestDirectory,
             known: Known, tz: str) -> Evaluation:
        """Read what the rules need for ``events``: their sensors' rule states, open offline alarms,
        walk tests and registry facts (``known``: the engine's registry cache; the batch's sensor rows
        are locked by then).
        """
        present = {e.sensor_id for e in events}
        ids = sorted(present)
        cur = conn.cursor(row_factory=tuple_row)
        set_json_loads(orjson.loads, cur)
        states: dict[str, dict[str, Any]] = dict(cur.execute(q.RULE_STATES, {"ids": ids}))
        offline = {r[0] for r in conn.execute(q.OPEN_OFFLINE_FOR, {"ids": ids})}
        return cls(events, states, offline, tests.windows(conn, present), known(conn, present), tz)

    def step(self) -> bool:
        """Evaluate the next slice of events; False when every event has been."""
        start, events = self._next, self.events
        if start >= len(events):
            return False
        self._next = end = min(start + SLICE, len(events))
        known, in_test, offline, states, effects = self.known, self.in_test, self.offline, self.states, self.effects
        for e in events[start:end]:
            sensor = known.get(e.sensor_id) or SensorInfo(e.sensor_id, e.kind, e.building)
            test = walktest.session_at(in_test, e.sensor_id, e.at.timestamp()) if in_test else None
            if e.state == "offline":  # its gateway says the device is gone: no need to wait for silence
                offline.add(e.sensor_id)
                effects.append(Effect(sensor, [offline_signal(e.at, "offline_reported")], False, test))
                continue
            if e.sensor_id in offline:
                offline.discard(e.sensor_id)
                effects.append(Effect(sensor, [Clear("offline", e.at)], False, None))
            if e.kind in ("status", "checkpoint"):  # checkpoint scans: ingest.patrol's hook
                continue
            signals = rules.evaluate(e, sensor, states.setdefault(e.sensor_id, {}), self.tz)
            self.dirty.add(e.sensor_id)
            if signals:
                effects.append(Effect(sensor, signals, e.drill, test))
        return True

    def run(self) -> None:
        """Evaluate whatever is left."""
        while self.step():
            pass


def offline_signal(at: datetime, text: Text | str) -> Raise:
    """The trouble signal of a device that is gone (silent, or reported offline by its gateway)."""
    return Raise("offline", "heartbeat", "medium", "trouble", Text(text) if isinstance(text, str) else text, at)
