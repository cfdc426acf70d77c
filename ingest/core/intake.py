"""What ingest accepts of a message's size and of an event's own time (set from settings)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

MAX_PAYLOAD_BYTES = 256 * 1024  # default of SAFECAMPUS_INGEST_MAX_PAYLOAD_BYTES


@dataclass(frozen=True, slots=True)
class Limits:
    """How far an event's own time may be from ours, and how big a payload may be."""

    max_future: timedelta = timedelta(minutes=5)  # beyond: refused, the device clock is broken
    clock_tolerance: timedelta = timedelta(seconds=2)  # beyond (but within max_future): timers use our time
    max_age: timedelta = timedelta(days=400)  # older: refused (it would be pruned at once)
    max_payload_bytes: int = MAX_PAYLOAD_BYTES
