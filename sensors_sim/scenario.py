"""Scenarios: scripted incidents with the alarms they must produce (YAML, validated).

A scenario lists steps at offsets (seconds of event time from its start) and the alarms it
expects. ``events`` turns it into a deterministic, time-ordered message stream; every
sensor the scenario touches also heartbeats every 10 s unless a ``silence`` step says
otherwise, which keeps them alive and moves the event-time clock the timers follow.
"""

from __future__ import annotations

import heapq
from datetime import datetime, timedelta
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ingest.core.site import Site, SiteError
from ingest.core.sitefile import load_yaml_model
from ingest.mqtt.contract import DOOR_EVENTS, LAB_METRICS, SMOKE_STATES, event_topic, format_ts
from sensors_sim.life import SimMessage

HEARTBEAT_S = 10.0


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Step(_Strict):
    """One thing that happens: a smoke state, a door event, readings, a ramp, or silence."""

    at: float = Field(ge=0)
    sensors: list[str] = Field(min_length=1)
    smoke: str | None = None
    door: str | None = None
    readings: dict[str, float] | None = None
    ramp: dict[str, float] | None = None  # {metric-free}: from, to, until, every
    metric: str | None = None
    silence_until: float | None = None
    scan: str | None = None  # a guard's card: the checkpoint (its own reader) is scanned
    start_route: str | None = None  # with a scan: the guard starts an extra round of this route first

    @model_validator(mode="after")
    def _check(self) -> Step:
        kinds = [x for x in (self.smoke, self.door, self.readings, self.ramp, self.silence_until, self.scan)
                 if x is not None]
        if len(kinds) != 1:
            raise ValueError("a step is exactly one of smoke, door, readings, ramp, silence_until, scan")
        if self.start_route and self.scan is None:
            raise ValueError("start_route goes with a scan")
        if self.smoke and self.smoke not in SMOKE_STATES:
            raise ValueError(f"smoke must be one of {SMOKE_STATES}")
        if self.door and self.door not in DOOR_EVENTS:
            raise ValueError(f"door must be one of {DOOR_EVENTS}")
        if self.readings and any(m not in LAB_METRICS for m in self.readings):
            raise ValueError(f"readings metrics must be from {LAB_METRICS}")
        if self.ramp is not None:
            if self.metric not in LAB_METRICS:
                raise ValueError("a ramp needs a metric")
            if not {"from", "to", "until"} <= self.ramp.keys():
                raise ValueError("a ramp needs from, to and until")
        return self


class Expect(_Strict):
    """An alarm the scenario must raise."""

    condition: str
    sensor: str | None = None
    priority: Literal["critical", "high", "medium", "low"] | None = None
    within_s: float = Field(gt=0)
    count: int = Field(default=1, ge=1)
    confirmed: bool | None = None


class Scenario(_Strict):
    """A scripted incident."""

    name: str
    description: str = ""
    duration_s: float = Field(gt=0)
    drill: bool = False
    steps: list[Step]
    expect: list[Expect]
    allow: list[str] = Field(default_factory=list)  # conditions that may also appear
    watch: list[str] = Field(default_factory=list)  # more sensors whose alarms count (a route's other checkpoints)
    # The ecosystem its devices speak (sensors_sim.formats): zigbee2mqtt, tasmota, chirpstack, ttn,
    # homeassistant; native (campus/v1) when not given. ``sim verify --format`` overrides it.
    format: Literal["native", "zigbee2mqtt", "tasmota", "chirpstack", "ttn", "homeassistant"] = "native"

    @cached_property
    def sensors(self) -> list[str]:
        """Every sensor the scenario touches or watches."""
        return sorted({s for step in self.steps for s in step.sensors} | set(self.watch))

    def check_against(self, site: Site) -> None:
        """Raise SiteError when a step names a sensor the site does not have."""
        known = {s.id for s in site.sensors}
        missing = [s for s in self.sensors if s not in known]
        if missing:
            raise SiteError(f"scenario {self.name!r}: unknown sensors {missing[:5]}")


def _one(step: Step, at: float) -> tuple[str, dict[str, Any]]:
    if step.smoke is not None:
        return "smoke", {"state": step.smoke}
    if step.door is not None:
        return "door", {"event": step.door}
    if step.scan is not None:
        return "checkpoint", {"card": step.scan, "method": "reader"} | (
            {"start_route": step.start_route} if step.start_route else {})
    if step.readings is not None:
        return "lab", {"readings": dict(step.readings)}
    if step.ramp is None or step.metric is None:  # the model's validator guarantees both
        raise ValueError("a ramp step needs a ramp and a metric")
    r = step.ramp
    span = max(r["until"] - step.at, 1e-9)
    frac = min(max((at - step.at) / span, 0.0), 1.0)
    return "lab", {"readings": {step.metric: round(r["from"] + (r["to"] - r["from"]) * frac, 4)}}


def events(scenario: Scenario, site: Site, start: datetime) -> list[SimMessage]:
    """The scenario's messages, in event-time order, with event times from ``start``."""
    where = {s.id: s.building for s in site.sensors}
    silent: dict[str, tuple[float, float]] = {}
    due: list[tuple[float, int, str, str, dict[str, Any]]] = []
    n = 0
    for step in scenario.steps:
        for sensor in step.sensors:
            if step.silence_until is not None:
                silent[sensor] = (step.at, step.silence_until)
                continue
            times = [step.at]
            if step.ramp is not None:
                every = step.ramp.get("every", 10.0)
                t = step.at + every
                while t <= step.ramp["until"] + 1e-9:
                    times.append(t)
                    t += every
            for t in times:
                kind, body = _one(step, t)
                n += 1
                due.append((t, n, sensor, kind, body))
    t = 0.0
    while t <= scenario.duration_s:
        for sensor in scenario.sensors:
            lo, hi = silent.get(sensor, (1e18, 1e18))
            if not lo <= t < hi:
                n += 1
                due.append((t, n, sensor, "status", {}))
        t += HEARTBEAT_S
    heapq.heapify(due)
    out = []
    seq: dict[str, int] = {}
    while due:
        t, _n, sensor, kind, body = heapq.heappop(due)
        lo, hi = silent.get(sensor, (1e18, 1e18))
        if lo <= t < hi:
            continue  # a silenced sensor sends nothing
        seq[sensor] = seq.get(sensor, 0) + 1
        ts = start + timedelta(seconds=t)
        payload = {"event_id": f"sc-{int(start.timestamp())}-{seq[sensor]}", "ts": format_ts(ts), "seq": seq[sensor],
                   **body}
        if scenario.drill:
            payload["drill"] = True
        out.append(SimMessage(ts, event_topic(where[sensor], kind, sensor), payload))
    return out


def load_scenario(path: Path | str) -> Scenario:
    """Read and validate a scenario file (a bare name means a shipped scenario)."""
    p = Path(path)
    if not p.exists() and not p.suffix:
        p = Path(str(resources.files("sensors_sim") / "scenarios" / f"{path}.yaml"))
    return load_yaml_model(p, Scenario, "scenario")


def shipped() -> list[Path]:
    """The scenario files that ship with SafeCampus."""
    folder = resources.files("sensors_sim") / "scenarios"
    return sorted(Path(str(f)) for f in folder.iterdir() if f.name.endswith(".yaml"))
