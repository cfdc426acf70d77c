"""What rules emit (Raise, Clear) and know of a sensor; the words themselves are in ingest.core.vocabulary."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ingest.alarms.messages import Text, english
from ingest.core.vocabulary import PRIORITIES, Priority, SignalClass

if TYPE_CHECKING:
    from ingest.alarms.limits import Limit  # limits builds on these types


def rank(priority: str) -> int:
    """Higher is more urgent: critical 3 ... low 0."""
    return 3 - PRIORITIES.index(priority)  # an unknown priority raises ValueError, as it should


@dataclass(frozen=True)
class Raise:
    """A rule says: this condition is (still) present."""

    condition: str
    family: str
    priority: Priority
    signal_class: SignalClass
    text: Text
    at: datetime
    value: float | None = None
    latched: bool = False

    @property
    def message(self) -> str:
        """The English text (kept in ``alarms.message`` for whoever reads the table itself)."""
        return english(self.text)


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
    # The limits of each metric it has reported, made from ``thresholds`` once (``rules.analogue``):
    # an override rebuilt them for every reading (5 µs). Made again with the facts, on a reload.
    limits: dict[str, Sequence[Limit]] = field(default_factory=dict, compare=False, repr=False)
