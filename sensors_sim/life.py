"""Normal campus life as a deterministic, time-ordered stream of sensor messages.

Pure: the same site, seed and start time always give the same messages. Door traffic
follows a timetable (class changes, lunch, quiet nights, weekends), smoke detectors
report normal with small obscuration noise, lab readings drift with the day and carry
sensor noise, and every sensor heartbeats.
"""

from __future__ import annotations

import heapq
import math
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from ingest.alarms.limits import limits_for
from ingest.core.patrols import due_times
from ingest.core.site import Schedule, Site, SiteSensor
from ingest.mqtt.contract import encode, event_topic, format_ts

HEARTBEAT_MIN_S = 60

# Quiet baselines: (mean, daily swing, noise sd) per metric.
BASELINES: dict[str, tuple[float, float, float]] = {
    "gas_ppm.NH3": (1.0, 0.4, 0.15),
    "gas_ppm.CO": (2.0, 1.0, 0.3),
    "gas_ppm.H2S": (0.2, 0.1, 0.05),
    "gas_ppm.VOC": (5.0, 2.0, 0.8),
    "gas_ppm.CL2": (0.02, 0.01, 0.005),
    "gas_ppm.HCL": (0.2, 0.1, 0.03),
    "gas_ppm.CO2": (550.0, 120.0, 15.0),
    "gas_ppm.NO2": (0.05, 0.02, 0.01),
    "gas_ppm.SO2": (0.05, 0.02, 0.01),
    "gas_ppm.CH4": (2.0, 0.5, 0.2),
    "gas_ppm.H2": (0.5, 0.2, 0.1),
    "lel_pct": (0.3, 0.2, 0.1),
    "o2_pct": (20.9, 0.05, 0.03),
    "temperature_c": (22.0, 2.0, 0.15),
    "humidity_pct": (45.0, 8.0, 0.8),
    "face_velocity_mps": (0.5, 0.0, 0.015),
}


NON_NEGATIVE = ("gas_ppm.", "lel_pct", "humidity_pct", "face_velocity_mps")


def normal_band(metric: str, thresholds: dict[str, Any]) -> tuple[float, float, float]:
    """(mean, daily swing, noise sd) of normal values that stay clear of the sensor's limits.

    Normal life raises no alarm: where a sensor's configured limits (a cold store at 8 / 12 °C)
    leave no room for the generic baseline, the baseline moves inside them, with its swing and
    noise (four standard deviations) clear of the first limit and its deadband.
    """
    mean, swing, sd = BASELINES[metric]
    limits = limits_for(metric, thresholds)
    highs = [lim.first - lim.deadband for lim in limits if lim.direction == "high"]
    lows = [lim.first + lim.deadband for lim in limits if lim.direction == "low"]
    hi, lo = (min(highs) if highs else None), (max(lows) if lows else None)
    span = swing + 4 * sd
    if hi is not None and lo is not None and 2.5 * span > hi - lo:
        scale = (hi - lo) / (2.5 * span)
        return (hi + lo) / 2, swing * scale, sd * scale
    if hi is not None and mean + 1.25 * span > hi:
        mean = hi - 1.5 * span
    if lo is not None and mean - 1.25 * span < lo:
        mean = lo + 1.5 * span
    return mean, swing, sd


def next_allowed(local: datetime, schedule: Schedule) -> datetime:
    """The first moment at or after ``local`` inside a restricted room's schedule."""
    for days in range(8):
        day = (local + timedelta(days=days)).date()
        start = datetime.combine(day, schedule.start, local.tzinfo)
        end = datetime.combine(day, schedule.end, local.tzinfo)
        if not schedule.allows(day.weekday(), schedule.start):
            continue
        if local < end:
            return max(local, start)
    return local + timedelta(days=7)  # a schedule with no day at all: nobody comes


def door_rate_per_hour(local: datetime) -> float:
    """Expected accesses per hour at one door, by local time of week."""
    weekend = local.weekday() >= 5
    minute = local.hour * 60 + local.minute
    if minute < 6 * 60 or minute >= 23 * 60:
        rate = 0.3
    elif weekend:
        rate = 4.0
    elif 11 * 60 + 30 <= minute < 13 * 60:
        rate = 40.0  # lunch
    elif 7 * 60 + 30 <= minute < 21 * 60 and local.minute in range(40, 60):
        rate = 60.0  # class change
    elif 7 * 60 + 30 <= minute < 21 * 60:
        rate = 12.0
    else:
        rate = 5.0
    return rate


@dataclass(frozen=True, slots=True)
class SimMessage:
    """One message to publish: when (event time), where and what."""

    ts: datetime
    topic: str
    payload: dict[str, Any]
    raw: bytes | None = None  # replayed bytes that are not a JSON object (sent as they were)

    def body(self) -> bytes:
        """The bytes to publish."""
        return self.raw if self.raw is not None else encode(self.payload)


@dataclass(order=True)
class _Due:
    at: float  # seconds from start
    order: int
    sensor: int = field(compare=False)
    stream: str = field(compare=False)
    extra: Any = field(default=None, compare=False)


def guard_card(k: int) -> str:
    """The card the simulator's guard on the k-th route carries (``safecampus run`` makes their users)."""
    return f"G-{k % 3 + 1:04d}"


class CampusLife:
    """Generates normal life for a site from ``start`` onwards."""

    def __init__(self, site: Site, seed: int, start: datetime, *, sensors: list[SiteSensor] | None = None,
                 patrol_faults: float = 0.0) -> None:
        self.site = site
        self.start = start
        self.tz = ZoneInfo(site.timezone)
        self.sensors = sensors if sensors is not None else site.sensors
        self._rng = random.Random(seed)
        self._seq = [0] * len(self.sensors)
        self._run = f"{int(start.timestamp()):x}"
        self._heap: list[_Due] = []
        self._order = 0
        self._battery = [self._rng.uniform(70, 100) for _ in self.sensors]
        # Doors of restricted rooms are never used outside their schedule in normal life
        # (after-hours access is an alarm; a scenario makes one when it wants one).
        self._schedule = [site.room(s.room).restricted if s.kind == "door" else None for s in self.sensors]
        self._bands = [{m: normal_band(m, s.thresholds) for m in s.metrics} for s in self.sensors]
        self._phase = [self._rng.uniform(0, 2 * math.pi) for _ in self.sensors]
        # Guards walk every route on schedule, on time; with ``patrol_faults`` that share of checkpoints
        # is scanned late or missed (seeded), for rehearsing tour alarms.
        if not 0.0 <= patrol_faults <= 1.0:
            raise ValueError("patrol_faults is a share from 0 to 1")
        self._faults = patrol_faults
        index = {s.id: i for i, s in enumerate(self.sensors)}
        self._routes = [(r, [index[st.checkpoint] for st in r.stops], guard_card(k))
                        for k, r in enumerate(site.patrols) if all(st.checkpoint in index for st in r.stops)]
        for k in range(len(self._routes)):
            self._next_tour(k, start)
        for i, s in enumerate(self.sensors):
            if s.kind == "checkpoint":
                continue  # a tag on a wall: only a guard's scan says anything about it
            hb = max(s.interval_s, HEARTBEAT_MIN_S)
            self._push(self._rng.uniform(0, hb), i, "status")
            if s.kind == "smoke":
                self._push(self._rng.uniform(0, s.interval_s), i, "smoke")
            elif s.kind == "lab":
                self._push(self._rng.uniform(0, s.interval_s), i, "lab")
            else:
                self._push(self._next_door_gap(0.0, i), i, "door")

    def _next_tour(self, k: int, after: datetime) -> None:
        route, stops, _card = self._routes[k]
        due = next(due_times(route.schedule, self.site.timezone, after, after + timedelta(days=8)), None)
        if due is not None:
            self._push((due - self.start).total_seconds(), stops[0], "tour", k)

    def _walk(self, k: int, at: float) -> None:
        """A guard's round: each checkpoint well inside its window, in route order."""
        route, stops, card = self._routes[k]
        last = at
        for stop, i in zip(route.stops, stops, strict=True):
            lo, hi = stop.min * 60.0, stop.max * 60.0
            t = at + self._rng.uniform(lo + 0.25 * (hi - lo), lo + 0.6 * (hi - lo))
            t = min(max(t, last + 20.0), at + hi - 30.0)
            if self._faults and self._rng.random() < self._faults:
                if self._rng.random() < 0.5:
                    continue  # missed
                t = at + hi + self._rng.uniform(60, 240)  # late
            self._push(t, i, "scan", card)
            last = t
        self._next_tour(k, self.start + timedelta(seconds=at + 1))

    def _push(self, at: float, sensor: int, stream: str, extra: Any = None) -> None:
        self._order += 1
        heapq.heappush(self._heap, _Due(at, self._order, sensor, stream, extra))

    def _next_door_gap(self, at: float, i: int) -> float:
        local = (self.start + timedelta(seconds=at)).astimezone(self.tz)
        rate = door_rate_per_hour(local) / 3600
        arrive = at + min(self._rng.expovariate(rate), 900.0)
        schedule = self._schedule[i]
        if schedule is not None:
            when = (self.start + timedelta(seconds=arrive)).astimezone(self.tz)
            if not schedule.allows(when.weekday(), when.time().replace(tzinfo=None)):
                # Arrivals past closing time wait for the next opening (and a little more).
                opening = next_allowed(when, schedule)
                arrive = (opening - self.start).total_seconds() + self._rng.uniform(1, 300)
                check = (self.start + timedelta(seconds=arrive)).astimezone(self.tz)
                if not schedule.allows(check.weekday(), check.time().replace(tzinfo=None)):
                    arrive = (opening - self.start).total_seconds() + 1
        return arrive

    def _envelope(self, i: int, at: float) -> tuple[datetime, dict[str, Any]]:
        self._seq[i] += 1
        ts = self.start + timedelta(seconds=at)
        return ts, {"event_id": f"{self._run}-{self._seq[i]}", "ts": format_ts(ts), "seq": self._seq[i]}

    def reading(self, metric: str, i: int, at: float) -> float:
        """A normal reading for ``metric`` on sensor ``i`` at ``at`` seconds from start."""
        mean, swing, sd = self._bands[i][metric]
        local = (self.start + timedelta(seconds=at)).astimezone(self.tz)
        hours = local.hour + local.minute / 60
        value = mean + swing * math.sin(2 * math.pi * (hours - 9) / 24 + self._phase[i] * 0.1)
        value += self._rng.gauss(0, sd)
        if metric in ("o2_pct",):
            return round(value, 2)
        if metric.startswith(NON_NEGATIVE):
            value = max(value, 0.0)
        return round(value, 3)

    def __iter__(self) -> Iterator[SimMessage]:
        return self

    def __next__(self) -> SimMessage:
        due = heapq.heappop(self._heap)
        while due.stream == "tour":  # a tour starts: schedule its scans (no message of its own)
            self._walk(due.extra, due.at)
            due = heapq.heappop(self._heap)
        i, s, at = due.sensor, self.sensors[due.sensor], due.at
        ts, payload = self._envelope(i, at)
        if due.stream == "status":
            self._battery[i] = max(self._battery[i] - 0.001, 5.0)
            payload |= {"battery_pct": round(self._battery[i], 1), "rssi_dbm": -60 - self._rng.randint(0, 25)}
            self._push(at + max(s.interval_s, HEARTBEAT_MIN_S), i, "status")
            kind = "status"
        elif due.stream == "smoke":
            payload |= {"state": "normal", "obscuration": round(abs(self._rng.gauss(0.05, 0.03)), 3)}
            self._push(at + s.interval_s, i, "smoke")
            kind = "smoke"
        elif due.stream == "scan":
            payload |= {"card": due.extra, "method": "nfc"} | ({"tag": s.tag} if s.tag else {})
            kind = "checkpoint"
        elif due.stream == "lab":
            payload["readings"] = {m: self.reading(m, i, at) for m in s.metrics}
            self._push(at + s.interval_s, i, "lab")
            kind = "lab"
        else:
            kind = "door"
            step = due.extra or "arrive"
            if step == "arrive":
                if self._rng.random() < 0.03:
                    payload |= {"event": "access_denied", "credential": f"card-{self._rng.randint(1, 9999):04d}",
                                "reason": self._rng.choice(["unknown_card", "expired", "out_of_schedule"])}
                    self._push(self._next_door_gap(at, i), i, "door")
                else:
                    payload |= {"event": "access_granted", "credential": f"card-{self._rng.randint(1, 9999):04d}"}
                    self._push(at + 0.5, i, "door", "open")
            elif step == "open":
                payload["event"] = "door_opened"
                self._push(at + self._rng.uniform(2, 8), i, "door", "close")
            else:
                payload["event"] = "door_closed"
                self._push(max(self._next_door_gap(at, i), at + 1), i, "door")
        return SimMessage(ts, event_topic(s.building, kind, s.id), payload)
