"""Guard tours inside ingest: scans in each batch transaction, tours planned and timed on a tick.

Scans arrive over MQTT (``campus/v1/<building>/checkpoint/<reader>``, ``on_batch``, a BatchHook
after the alarm engine's) or from a guard's phone (``record_scan``, called by the dashboard in its
own transaction). Both lock the tour's row, so a tour is never updated by two at once; the tick
takes the same lock. Tour alarms go through the alarm engine's lifecycle (``AlarmEngine.apply``):
one journal, one notification path, one MQTT publisher.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from ingest.alarms import lifecycle
from ingest.alarms.engine import AlarmEngine
from ingest.alarms.messages import Text
from ingest.alarms.types import Raise, SensorInfo
from ingest.core.background import TickLoop
from ingest.core.patrols import TourSchedule, due_times
from ingest.core.vocabulary import UNPLACED_BUILDING
from ingest.db import locks
from ingest.mqtt.contract import Event
from ingest.patrol import queries as q
from ingest.patrol import tours as rules

logger = logging.getLogger(__name__)

PLAN_AHEAD_S = 3600.0  # tours are planned this long before they start
PLAN_EVERY_S = 30.0  # the tick plans this often (a new or edited route's next tour within this)


@dataclass(frozen=True)
class Scan:
    """One checkpoint scan, however it arrived."""

    at: datetime  # event time
    tag: str | None
    reader: str | None
    card: str | None
    guard: str | None  # a user, when known (the phone knows; MQTT gives the card)
    method: str
    source: str  # 'mqtt' or 'phone'
    drill: bool = False


@dataclass(frozen=True)
class ScanResult:
    """What a scan was: its checkpoint (None: no checkpoint has the tag), tour and verdict."""

    checkpoint: str | None
    tour_id: int | None
    verdict: str | None
    route: str | None = None


def _tour(row: dict[str, Any]) -> rules.Tour:
    def ts(v: datetime | None) -> float | None:
        return v.timestamp() if v else None

    return rules.Tour(
        id=row["id"], route=row["route_id"], due=row["due_at"].timestamp(), ends=row["ends_at"].timestamp(),
        ordered=row["ordered"], silent_after_s=row["silent_after_s"], priority=row["priority"],
        stops=list(row["stops"]), state=row["state"], guard=row["guard"], started_at=ts(row["started_at"]),
        finished_at=ts(row["finished_at"]), last_at=ts(row["last_scan_at"]), last_checkpoint=row["last_checkpoint"],
        visits=dict(row["visits"]), raised=dict(row["raised"]), names={"en": row["name"], "zh": row["name_zh"]},
    )


def _save(conn: psycopg.Connection[Any], tour: rules.Tour) -> None:
    def dt(v: float | None) -> datetime | None:
        return datetime.fromtimestamp(v, tz=UTC) if v is not None else None

    conn.execute(q.SAVE_TOUR, {
        "id": tour.id, "state": tour.state, "guard": tour.guard, "started_at": dt(tour.started_at),
        "finished_at": dt(tour.finished_at), "last_at": dt(tour.last_at), "last_checkpoint": tour.last_checkpoint,
        "visits": Jsonb(tour.visits), "raised": Jsonb(tour.raised), "timer_at": tour.timer(),
    })


class PatrolEngine:
    """Plans tours, evaluates scans and runs tour timers, raising through the alarm engine."""

    def __init__(self, alarms: AlarmEngine) -> None:
        self.alarms = alarms
        self.tz = alarms.tz
        self._planned_at: float | None = None  # event time of the tick's last planning

    # -- planning ------------------------------------------------------------------------------
    def plan(self, conn: psycopg.Connection[Any], start: datetime, end: datetime) -> int:
        """Plan every route's tours due in [start, end) (never before the route was loaded); the count new."""
        made = 0
        with conn.cursor(row_factory=dict_row) as cur:
            routes = cur.execute(q.ROUTES).fetchall()
        for r in routes:
            if not r["stops"]:
                continue
            schedule = TourSchedule.model_validate(r["schedule"])
            for due in due_times(schedule, self.tz, max(start, r["active_since"]), end):
                made += self._plan_one(conn, r, due)
        return made

    def _plan_one(self, conn: psycopg.Connection[Any], r: dict[str, Any], due: datetime) -> int:
        stops = r["stops"]
        first = stops[0]["max_s"] if r["ordered"] else min(s["max_s"] for s in stops)
        return conn.execute(q.PLAN_TOUR, {
            "route": r["id"], "due": due, "ends": due + timedelta(seconds=r["limit_s"]), "ordered": r["ordered"],
            "silent_after_s": r["silent_after_s"], "priority": r["priority"], "stops": Jsonb(stops),
            "timer_at": due.timestamp() + first,
        }).rowcount

    def extra_tour(self, conn: psycopg.Connection[Any], route: str, due: datetime) -> bool:
        """An extra round of ``route`` starting at ``due`` (加巡: an officer's order or a guard's handset)."""
        with conn.cursor(row_factory=dict_row) as cur:
            r = cur.execute(q.ROUTE, {"id": route}).fetchone()
        return bool(r and r["stops"] and self._plan_one(conn, r, due))

    # -- scans ---------------------------------------------------------------------------------
    def on_batch(self, conn: psycopg.Connection[Any], events: list[Event]) -> None:
        """Record every checkpoint scan of a committed batch (a BatchHook, after the alarm engine's)."""
        scans = [e for e in events if e.kind == "checkpoint"]
        if not scans:
            return
        changes: list[lifecycle.Change] = []
        for e in sorted(scans, key=lambda e: e.at):
            self._event(conn, e, changes)
        self.alarms.finish(conn, changes)

    def _event(self, conn: psycopg.Connection[Any], e: Event, changes: list[lifecycle.Change]) -> None:
        p = e.payload
        card = p.get("card")
        row = q.first(conn, q.GUARD_BY_CARD, {"card": card}) if card else None
        guard = row[0] if row else None
        scan = Scan(at=e.at, tag=p.get("tag"), reader=e.sensor_id, card=card, guard=guard,
                    method=p.get("method") or ("nfc" if p.get("tag") else "reader"), source="mqtt", drill=e.drill)
        if p.get("start_route"):
            self.extra_tour(conn, p["start_route"], e.at)
        if e.state == "sos":  # a handset's SOS button: where it was pressed, not a visit
            self._sos(conn, guard or (f"card-{card}" if card else e.sensor_id), self._checkpoint(conn, scan), e.at,
                      e.drill, changes)
        else:
            self._scan(conn, scan, changes)

    def record_scan(self, conn: psycopg.Connection[Any], scan: Scan) -> ScanResult:
        """A scan from the guard's phone, in the caller's transaction; what it was."""
        changes: list[lifecycle.Change] = []
        result = self._scan(conn, scan, changes)
        self.alarms.finish(conn, changes)
        return result

    def _checkpoint(self, conn: psycopg.Connection[Any], scan: Scan) -> str | None:
        if scan.tag:
            row = q.first(conn, q.CHECKPOINT_BY_TAG, {"tag": scan.tag})
            if row is None:  # a code typed or read from the checkpoint's label is its id
                row = q.first(conn, q.CHECKPOINT_BY_ID, {"id": scan.tag})
        else:
            row = q.first(conn, q.CHECKPOINT_BY_ID, {"id": scan.reader})
        return row[0] if row else None

    def _scan(self, conn: psycopg.Connection[Any], scan: Scan, changes: list[lifecycle.Change]) -> ScanResult:
        checkpoint = self._checkpoint(conn, scan)
        tour_id = verdict = route = None
        if checkpoint is not None and not scan.drill:
            at = scan.at.timestamp()
            find = {"grace": rules.EARLY_GRACE_S, "at": scan.at, "stop": Jsonb([{"checkpoint": checkpoint}])}
            ids = [r[0] for r in q.rows(conn, q.TOURS_FOR_SCAN, find)]
            if not ids:  # the tick plans rounds an hour ahead; a scan it has not seen (a replay) plans its own
                self.plan(conn, scan.at - timedelta(days=1), scan.at + timedelta(seconds=rules.EARLY_GRACE_S))
                ids = [r[0] for r in q.rows(conn, q.TOURS_FOR_SCAN, find)]
            tours: list[rules.Tour] = []
            for tid in ids:
                with conn.cursor(row_factory=dict_row) as cur:
                    tours.append(_tour(cur.execute(q.TOUR_FOR_UPDATE, {"id": tid}).fetchone()))  # type: ignore[arg-type]
            # the earliest tour still waiting for this checkpoint (a tour under way is its guard's: no
            # scan of another counts for it); else the one it was already scanned for
            who = scan.guard or scan.card
            open_ = [t for t in tours if not t.visited(checkpoint) and t.guard in (None, who)
                     and (t.state != "incomplete" or rules.reopen_for_upload(t, checkpoint, at))]
            tour = open_[0] if open_ else (tours[0] if tours else None)
            if tour is not None:
                verdict, placed = rules.scan(tour, checkpoint, at, scan.guard or scan.card, scan.method)
                tour_id, route = tour.id, tour.route
                _save(conn, tour)
                self._signals(conn, placed, changes)
        conn.execute(q.ADD_SCAN, {"at": scan.at, "checkpoint": checkpoint, "tag": scan.tag, "reader": scan.reader,
                                  "card": scan.card, "guard": scan.guard, "method": scan.method, "drill": scan.drill,
                                  "tour": tour_id, "source": scan.source})
        return ScanResult(checkpoint, tour_id, verdict, route)

    def _signals(self, conn: psycopg.Connection[Any], placed: list[rules.Placed],
                 changes: list[lifecycle.Change]) -> None:
        for checkpoint, sig in placed:
            sensor = self.alarms.directory.get(conn, checkpoint, UNPLACED_BUILDING, "checkpoint")
            self.alarms.apply(conn, sensor, [sig], False, changes)

    # -- SOS -----------------------------------------------------------------------------------
    def sos(self, conn: psycopg.Connection[Any], guard: str, at: datetime, drill: bool = False) -> int:
        """A guard's SOS from the phone page, at their last checkpoint; the alarm's id."""
        changes: list[lifecycle.Change] = []
        row = q.first(conn, q.LAST_CHECKPOINT_OF, {"guard": guard})
        alarm_id = self._sos(conn, guard, row[0] if row else None, at, drill, changes)
        self.alarms.finish(conn, changes)
        return alarm_id

    def _sos(self, conn: psycopg.Connection[Any], guard: str, checkpoint: str | None, at: datetime, drill: bool,
             changes: list[lifecycle.Change]) -> int:
        if checkpoint is None:
            row = q.first(conn, q.LAST_CHECKPOINT_OF, {"guard": guard})
            checkpoint = row[0] if row else None
        sensor = (self.alarms.directory.get(conn, checkpoint, UNPLACED_BUILDING, "checkpoint") if checkpoint
                  else SensorInfo(f"guard-{guard}"[:64], "checkpoint", UNPLACED_BUILDING))
        sig = Raise(f"guard_sos:{guard}", rules.FAMILY, "critical", "alarm",
                    Text("guard_sos", {"guard": guard, "checkpoint": checkpoint or "?"}), at, latched=True)
        mine: list[lifecycle.Change] = []
        self.alarms.apply(conn, sensor, [sig], drill, mine)
        changes.extend(mine)
        return int(mine[0].alarm["id"]) if mine else 0

    # -- timers (one ingestor at a time) -------------------------------------------------------
    def tick(self, conn: psycopg.Connection[Any], now: float | None = None) -> int:
        """Plan the next hour's tours and run due tour timers at event time ``now``; tours looked at."""
        with conn.transaction():
            got = q.first(conn, q.TICK_LOCK, {"key": locks.PATROL_TICK})
            if not got or not got[0]:
                return 0
            now = self.alarms.tick_time(conn) if now is None else now
            if now is None:
                return 0
            at = datetime.fromtimestamp(now, tz=UTC)
            if self._planned_at is None or not 0 <= now - self._planned_at < PLAN_EVERY_S:
                # the first tick looks back a day (tours due while no ingestor ran), later ones a minute
                back = timedelta(days=1) if self._planned_at is None else timedelta(minutes=1)
                self.plan(conn, at - back, at + timedelta(seconds=PLAN_AHEAD_S))
                self._planned_at = now
            changes: list[lifecycle.Change] = []
            ids = [r[0] for r in q.rows(conn, q.DUE_TOURS, {"now": now})]
            for tid in ids:
                with conn.cursor(row_factory=dict_row) as cur:
                    row = cur.execute(q.TOUR_FOR_UPDATE, {"id": tid}).fetchone()
                if row is None:
                    continue
                tour = _tour(row)
                placed = rules.timers(tour, now)
                _save(conn, tour)
                self._signals(conn, placed, changes)
            self.alarms.finish(conn, changes)
            return len(ids)


class PatrolTicker(TickLoop):
    """Calls ``PatrolEngine.tick`` every second on a pooled connection, until stopped."""

    def __init__(self, engine: PatrolEngine, pool: Any, every_s: float = 1.0) -> None:
        super().__init__("patrol-tick", engine.tick, pool, every_s)
