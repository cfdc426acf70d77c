"""Hazards (隐患) and their rectification tickets: report, fix with evidence, verify or reject, overdue.

A hazard comes from a failed inspection item, an alarm (the console's button), a guard's report or a
sensor rule (a fume hood low on flow three times in a week). Its owner is a department; its deadline
follows its kind (a fire-system fault 24 h by default). The department reports the fix with a note
and a photo; security verifies it (closed) or rejects it (open again). Past its deadline an open
hazard raises a supervisory alarm (notified like any other) until it is fixed. Every step is in the
append-only hazard journal. Each function is one transaction with the hazard's row locked.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from ingest.alarms import lifecycle
from ingest.alarms.actions import ActionRefusedError
from ingest.alarms.engine import AlarmEngine
from ingest.alarms.messages import Text
from ingest.alarms.types import Clear, Raise, SensorInfo
from ingest.core import photos
from ingest.core.i18n import N_
from ingest.core.vocabulary import HAZARD_CATEGORIES, HAZARD_DEADLINE_H, HAZARD_SEVERITIES
from ingest.safety import queries as q

MAX_TEXT = 2000


def deadline_for(category: str, severity: str, at: datetime) -> datetime:
    """When a hazard must be fixed: fire-system faults within 24 h, other major ones 72 h, the rest 7 days."""
    key = "fire_system" if category == "fire_system" else severity
    return at + timedelta(hours=HAZARD_DEADLINE_H[key])


def _journal(conn: psycopg.Connection[Any], hazard: int, actor: str, action: str, note: str | None = None,
             details: dict[str, Any] | None = None) -> None:
    conn.execute(q.HAZARD_JOURNAL, {"hazard": hazard, "actor": actor, "action": action, "note": note,
                                    "details": Jsonb(details) if details else None})


def report(conn: psycopg.Connection[Any], *, title: str, category: str, severity: str, department: str, by: str,
           source: str = "manual", source_ref: str | None = None, building: str | None = None,
           room: str | None = None, sensor: str | None = None, description: str | None = None,
           at: datetime | None = None) -> int | None:
    """Open a hazard; its id, or None when one from the same source is already open."""
    title = (title or "").strip()[:200]
    if not title:
        raise ActionRefusedError(N_("a hazard needs a title"))
    if category not in HAZARD_CATEGORIES or severity not in HAZARD_SEVERITIES:
        raise ActionRefusedError(N_("unknown kind or severity of hazard"))
    at = at or datetime.now(UTC)
    with conn.transaction():
        row = q.first(conn, q.ADD_HAZARD, {
            "title": title, "description": (description or "").strip()[:MAX_TEXT] or None, "category": category,
            "severity": severity, "department": department, "building": building, "room": room, "sensor": sensor,
            "source": source, "source_ref": source_ref, "deadline": deadline_for(category, severity, at), "by": by})
        if row is None:
            return None
        _journal(conn, row[0], by, "reported", title, {"source": source, "source_ref": source_ref})
        return int(row[0])


def from_alarm(conn: psycopg.Connection[Any], alarm_id: int, by: str, title: str | None = None,
               category: str = "other", severity: str = "general") -> int | None:
    """A hazard an officer saw behind an alarm: its place and responsible department from the alarm."""
    with conn.cursor(row_factory=dict_row) as cur:
        a = cur.execute(q.ALARM_PLACE, {"id": alarm_id}).fetchone()
    if a is None:
        raise ActionRefusedError(N_("alarm {id} does not exist"), id=alarm_id)
    if not a["department_id"]:
        raise ActionRefusedError(N_("alarm {id} has no responsible department"), id=alarm_id)
    if a["family"] == "fire" and category == "other":
        category = "fire_system"
    return report(conn, title=title or a["message"] or a["condition"], category=category, severity=severity,
                  department=a["department_id"], by=by, source="alarm", source_ref=str(alarm_id),
                  building=a["building_id"], room=a["room_id"], sensor=a["sensor_id"])


def from_patrol(conn: psycopg.Connection[Any], guard: str, title: str) -> int | None:
    """A hazard a guard found on a round: at the guard's last checkpoint, for the department there."""
    with conn.cursor(row_factory=dict_row) as cur:
        place = cur.execute(q.GUARD_LAST_PLACE, {"guard": guard}).fetchone()
    if place is None or not place["department_id"]:
        raise ActionRefusedError(N_("scan a checkpoint first: the hazard is reported where you last scanned"))
    return report(conn, title=title, category="other", severity="general", department=place["department_id"],
                  by=guard, source="patrol", building=place["building_id"], room=place["room_id"])


def _lock(conn: psycopg.Connection[Any], hazard: int) -> dict[str, Any]:
    with conn.cursor(row_factory=dict_row) as cur:
        row = cur.execute(q.HAZARD_FOR_UPDATE, {"id": hazard}).fetchone()
    if row is None:
        raise ActionRefusedError(N_("hazard {id} does not exist"), id=hazard)
    return row


def _member(conn: psycopg.Connection[Any], user: str, department: str) -> bool:
    row = q.first(conn, q.USER_DEPARTMENT, {"u": user})
    return bool(row and (row[0] == "admin" or row[1] == department))


def fix(conn: psycopg.Connection[Any], hazard: int, by: str, note: str, photo: bytes | None = None,
        engine: AlarmEngine | None = None) -> None:
    """The owner department reports the fix, with its evidence (a note, a photo); its overdue alarm,
    if any, returns to normal (``engine``: the alarm engine it goes through).
    """
    note = (note or "").strip()[:MAX_TEXT]
    if not note:
        raise ActionRefusedError(N_("say what was done to fix it"))
    try:
        media = photos.photo_type(photo) if photo else None
    except photos.PhotoError as exc:
        raise ActionRefusedError(exc.template, **exc.params) from exc
    with conn.transaction():
        h = _lock(conn, hazard)
        if h["state"] != "open":
            raise ActionRefusedError(N_("hazard {id} is not open"), id=hazard)
        if not _member(conn, by, h["department_id"]):
            raise ActionRefusedError(N_("only its department reports the fix of hazard {id}"), id=hazard)
        conn.execute(q.HAZARD_FIXED, {"id": hazard, "by": by, "note": note, "photo": photo, "photo_type": media})
        _journal(conn, hazard, by, "fixed", note, {"photo": bool(photo)})
        if engine is not None:
            clear_overdue(conn, engine, hazard)


def verify(conn: psycopg.Connection[Any], hazard: int, by: str, accepted: bool, note: str | None = None) -> str:
    """Security verifies a fix: accepted closes the hazard, rejected opens it again; the new state."""
    with conn.transaction():
        h = _lock(conn, hazard)
        if h["state"] != "fixed":
            raise ActionRefusedError(N_("hazard {id} has no fix to verify"), id=hazard)
        if accepted:
            conn.execute(q.HAZARD_CLOSED, {"id": hazard, "by": by})
            _journal(conn, hazard, by, "verified", note)
            return "closed"
        if not (note or "").strip():
            raise ActionRefusedError(N_("say why the fix is not accepted"))
        conn.execute(q.HAZARD_REOPENED, {"id": hazard})
        _journal(conn, hazard, by, "rejected", note)
        return "open"


def _where(h: dict[str, Any]) -> SensorInfo:
    """The place of a hazard's overdue alarm: its sensor, else the hazard itself in its building."""
    return SensorInfo(h["sensor_id"] or f"hazard-{h['id']}", "hazard", h["building_id"] or "unassigned")


def overdue(conn: psycopg.Connection[Any], engine: AlarmEngine, now: float) -> int:
    """Raise an alarm for every open hazard past its deadline (event time ``now``); how many."""
    at = datetime.fromtimestamp(now, tz=UTC)
    changes: list[lifecycle.Change] = []
    ids = [r[0] for r in q.rows(conn, q.HAZARDS_OVERDUE, {"now": at})]
    for hid in ids:
        h = _lock(conn, hid)
        text = Text("hazard_overdue", {"id": hid, "title": h["title"]})
        sig = Raise(f"hazard_overdue:{hid}", "hazard", "medium", "supervisory", text, h["deadline"])
        engine.apply(conn, _where(h), [sig], False, changes)
        conn.execute(q.HAZARD_OVERDUE_MARK, {"id": hid, "at": at})
        _journal(conn, hid, lifecycle.SYSTEM, "overdue", None, {"deadline": h["deadline"].isoformat()})
    engine.finish(conn, changes)
    return len(ids)


def clear_overdue(conn: psycopg.Connection[Any], engine: AlarmEngine, hazard: int) -> None:
    """A fixed hazard's overdue alarm returns to normal (an officer still acknowledges it)."""
    h = _lock(conn, hazard)
    if h["overdue_at"] is None:
        return
    changes: list[lifecycle.Change] = []
    engine.apply(conn, _where(h), [Clear(f"hazard_overdue:{hazard}", datetime.now(UTC))], False, changes)
    engine.finish(conn, changes)


def from_rules(conn: psycopg.Connection[Any], now: float) -> list[int]:
    """Hazards sensor rules find: a fume hood low on flow three times in seven days."""
    made = []
    at = datetime.fromtimestamp(now, tz=UTC)
    for sensor, n, _last in q.rows(conn, q.HOOD_LOW_REPEATS, {"now": at}):
        with conn.cursor(row_factory=dict_row) as cur:
            place = cur.execute(q.SENSOR_PLACE, {"id": sensor}).fetchone()
        if place is None or not place["department_id"]:
            continue
        hid = report(conn, title=f"Fume hood {sensor}: low flow {n} times in 7 days", category="chemical",
                     severity="major", department=place["department_id"], by=lifecycle.SYSTEM, source="rule",
                     source_ref=f"hood_low:{sensor}", building=place["building_id"], room=place["room_id"],
                     sensor=sensor, at=at)
        if hid is not None:
            made.append(hid)
    return made
