"""Alarm vocabulary: priorities, signal classes, states, and what rules emit."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

Priority = Literal["critical", "high", "medium", "low"]
SignalClass = Literal["alarm", "supervisory", "trouble"]
State = Literal["active_unacked", "active_acked", "rtn_unacked", "closed"]
Disposition = Literal["real", "false_alarm", "nuisance", "drill", "maintenance", "test"]

PRIORITIES: tuple[Priority, ...] = ("critical", "high", "medium", "low")
DISPOSITIONS: tuple[Disposition, ...] = ("real", "false_alarm", "nuisance", "drill", "maintenance", "test")
OPEN_STATES: tuple[State, ...] = ("active_unacked", "active_acked", "rtn_unacked")


def rank(priority: str) -> int:
    """Higher is more urgent: critical 3 ... low 0."""
    return 3 - PRIORITIES.index(priority)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Raise:
    """A rule says: this condition is (still) present."""

    condition: str
    family: str
    priority: Priority
    signal_class: SignalClass
    message: str
    at: datetime
    value: float | None = None
    latched: bool = False


@dataclass(frozen=True)
class Clear:
    """A rule says: this condition has returned to normal."""

    condition: str
    at: datetime


Signal = Raise | Clear


@dataclass(frozen=True)
class SensorInfo:
    """What the rules need to know about a sensor (from the registry)."""

    id: str
    kind: str
    building: str
    zone: str | None = None
    interval_s: int = 60
    thresholds: dict[str, Any] = field(default_factory=dict)
    restricted: dict[str, Any] | None = None
    out_of_service: bool = False
