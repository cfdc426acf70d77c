"""Write one batch of inbound messages in one transaction: COPY, de-duplicate, commit."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from operator import attrgetter

import psycopg
from psycopg.types.json import Jsonb
from psycopg_pool import ConnectionPool, PoolTimeout

from ingest.core.errors import BatchRejectedError, DatabaseUnavailableError
from ingest.db import copyforms, rollups
from ingest.db import queries as q
from ingest.db.copywriter import OverlappingCopyWriter
from ingest.mqtt.contract import DEAD_LETTER_KEEP_BYTES, Event

logger = logging.getLogger(__name__)


@dataclass(slots=True)
class Rejected:
    """A message that broke the contract, on its way to the dead-letter table."""

    topic: str
    raw: bytes
    reason: str
    received_at: datetime


@dataclass(slots=True)
class WriteResult:
    """What one committed batch did."""

    stored: int
    duplicates: int
    dead_lettered: int
    inserted: list[Event]


# Called inside the batch transaction with the events really inserted (not duplicates),
# in event-time order: this is where the alarm engine hooks in, so its effects are
# committed exactly once together with the events.
BatchHook = Callable[[psycopg.Connection, list[Event]], None]
# Called inside the batch transaction before the COPY, with the batch in the hooks' order (its
# sensors locked): the work (slices, False when done) to do while PostgreSQL takes the COPY.
# The alarm engine evaluates its rules then; its hook applies them when those events were stored.
BatchPreparer = Callable[[psycopg.Connection, list[Event]], Callable[[], bool]]


class BatchWriter:
    """Stores batches through the pool; one transaction per batch."""

    def __init__(self, pool: ConnectionPool, ingest_id: str, hooks: Sequence[BatchHook] = (),
                 read_ahead: Callable[[], bool] | None = None, prepare: Sequence[BatchPreparer] = ()) -> None:
        self._pool = pool
        self._ingest_id = ingest_id
        self._hooks = list(hooks)
        self._prepare = list(prepare)
        # Work done while PostgreSQL takes a batch's COPY (the service reads the next messages):
        # one short slice per call, False when nothing is left.
        self._read_ahead = read_ahead

    def write(self, events: Sequence[Event], rejected: Sequence[Rejected]) -> WriteResult:
        """Store the batch; raise DatabaseUnavailableError if it could not be committed."""
        try:
            with self._pool.connection() as conn:
                with conn.transaction():
                    inserted = self._write_events(conn, events) if events else []
                    if rejected:
                        self._write_dead_letters(conn, rejected)
                    for hook in self._hooks:
                        hook(conn, inserted)
        except (psycopg.OperationalError, psycopg.errors.DeadlockDetected) as exc:
            raise DatabaseUnavailableError(str(exc).strip().splitlines()[0]) from exc
        except PoolTimeout as exc:
            raise DatabaseUnavailableError("no database connection available") from exc
        except Exception as exc:  # noqa: BLE001 - whatever one row causes, the batch is split, not retried forever
            # The database (or the adaptation of a value) refused something in the batch, or a
            # rule failed on one event: the caller splits the batch to find the row.
            raise BatchRejectedError(f"{type(exc).__name__}: {str(exc).strip()[:300]}") from exc
        return WriteResult(
            stored=len(inserted),
            duplicates=len(events) - len(inserted),
            dead_lettered=len(rejected),
            inserted=inserted,
        )

    def _write_events(self, conn: psycopg.Connection, events: Sequence[Event]) -> list[Event]:
        # A batch may hold the same event twice (a resend before our ack): keep the first,
        # in arrival order (events at the same instant reach the rules in the order sent).
        if len(set(map(_SENSOR_EVENT, events))) == len(events):
            unique = list(events)  # the usual batch: no (sensor, event id) twice, so no event twice
        else:
            first: dict[tuple[str, str, datetime], Event] = {}
            for e in events:
                first.setdefault(_KEY(e), e)
            unique = list(first.values())
        seen = _SensorsSeen(unique)
        cur = conn.cursor()
        copyforms.register(cur)
        cur.execute(q.SEE_SENSORS, seen.params())
        ordered = sorted(unique, key=_RULES_ORDER)  # the rules' time order (stable: arrival order kept)
        works = [prepare(conn, ordered) for prepare in self._prepare]
        if self._read_ahead is not None:
            works.append(self._read_ahead)
        try:
            # The usual batch: nothing of it is stored yet, so it goes straight into events.
            writer = OverlappingCopyWriter(cur, _in_turn(works)) if works else None
            with conn.transaction(), cur.copy(q.COPY_EVENTS, writer=writer) as copy:
                _copy_events(copy, unique)
            inserted = ordered
        except psycopg.errors.UniqueViolation:
            # A redelivery (or another ingestor's copy): the staging path keeps only the new ones.
            cur.execute(q.CREATE_STAGING)
            with cur.copy(q.COPY_STAGING) as copy:
                _copy_events(copy, unique)
            cur.execute(q.INSERT_EVENTS)
            new = set(cur.fetchall())
            inserted = [e for e in ordered if (e.ts, e.sensor_id, e.event_id) in new]
        if inserted:
            rollups.mark_dirty(conn, [e.ts for e in inserted])
        return inserted

    def _write_dead_letters(self, conn: psycopg.Connection, rejected: Sequence[Rejected]) -> None:
        with conn.cursor().copy(q.COPY_DEAD_LETTERS) as copy:
            for r in rejected:
                copy.write_row(
                    (
                        r.received_at,
                        r.topic.replace("\x00", "\\0")[:1024],
                        r.raw[:DEAD_LETTER_KEEP_BYTES],
                        len(r.raw),
                        r.reason.replace("\x00", "\\0")[:500],
                        self._ingest_id,
                    )
                )


_KEY = attrgetter("sensor_id", "event_id", "ts")  # an event's identity (the unique key's columns)
_SENSOR_EVENT = attrgetter("sensor_id", "event_id")  # hashed without the time (an aware datetime hashes slowly)
_RULES_ORDER = attrgetter("at", "sensor_id")


def _in_turn(works: list[Callable[[], bool]]) -> Callable[[], bool]:
    """One work of several: a slice of the first with anything left, False when none has."""
    def work() -> bool:
        while works:
            if works[0]():
                return True
            works.pop(0)
        return False
    return work


def _copy_events(copy: psycopg.Copy, events: Sequence[Event]) -> None:
    copy.set_types(q.EVENT_TYPES)
    for e in events:
        r = e.readings or None  # its metrics and their values: two arrays in step (copyforms)
        copy.write_row((e.ts, e.sensor_id, e.building, e.kind, e.event_id, e.seq, e.drill, e.state, e.raw_json,
                        e.received_at, r, r))


class _SensorsSeen:
    """Per sensor of a batch: its earliest event (place, kind, source), its first and last event time,
    and the battery and seq of its latest event that carried them; sorted by id (the lock order).
    """

    def __init__(self, events: Sequence[Event]) -> None:
        earliest: dict[str, Event] = {}
        last: dict[str, datetime] = {}
        battery: dict[str, tuple[datetime, float]] = {}
        seq: dict[str, tuple[datetime, int]] = {}
        for e in events:
            sid, ts = e.sensor_id, e.ts
            if sid not in earliest or ts < earliest[sid].ts:
                earliest[sid] = e
            if sid not in last or ts > last[sid]:
                last[sid] = ts
            level = e.readings.get("battery_pct")
            if level is not None and (sid not in battery or ts > battery[sid][0]):
                battery[sid] = (ts, level)
            if e.seq is not None and (sid not in seq or ts > seq[sid][0]):
                seq[sid] = (ts, e.seq)
        self.ids = sorted(earliest)
        self._earliest, self._last, self._battery, self._seq = earliest, last, battery, seq

    def params(self) -> dict[str, list]:
        """SEE_SENSORS's arrays."""
        firsts = [self._earliest[s] for s in self.ids]
        return {"ids": self.ids, "kinds": [e.kind for e in firsts], "buildings": [e.building for e in firsts],
                "firsts": [e.ts for e in firsts], "sources": [_source(e) for e in firsts],
                "lasts": [self._last[s] for s in self.ids],
                "batteries": [self._battery[s][1] if s in self._battery else None for s in self.ids],
                "seqs": [self._seq[s][1] if s in self._seq else None for s in self.ids]}


def _source(event: Event) -> Jsonb | None:
    """A foreign device's source (adapter and key, without the raw message) for its registry row."""
    source = event.payload.get("source")
    if not isinstance(source, dict):
        return None
    return Jsonb({k: v for k, v in source.items() if k != "raw"})
