"""The ISA-18.2 alarm lifecycle, in one place, enforced in the database.

States: active_unacked -> (ack) active_acked -> (clear) closed;
        active_unacked -> (clear) rtn_unacked -> (ack) closed.
A latched alarm stays in its state when the condition clears until an officer resets it.
Repeats of an open (sensor, condition) raise its occurrence count; a higher priority
re-alarms it (back to unacknowledged). Every transition is journaled.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from ingest.alarms import queries as q
from ingest.alarms.messages import Text, english, journal_details
from ingest.alarms.types import Clear, Raise, SensorInfo, rank
from ingest.core.vocabulary import State
from ingest.db import locks

SYSTEM = "system"

# The ISA-18.2 state machine as a table: (state, event) -> next state. Every state change of an
# alarm goes through ``transition``; a pair not in the table is refused (closed is final).
TRANSITIONS: dict[tuple[State, str], State] = {
    ("active_unacked", "acknowledge"): "active_acked",
    ("rtn_unacked", "acknowledge"): "closed",
    ("active_unacked", "clear"): "rtn_unacked",  # condition gone before anyone acknowledged
    ("active_acked", "clear"): "closed",
    ("rtn_unacked", "return"): "active_unacked",  # condition back before anyone acknowledged
    ("active_unacked", "re-alarm"): "active_unacked",  # a higher priority: annunciate again
    ("active_acked", "re-alarm"): "active_unacked",
    ("rtn_unacked", "re-alarm"): "active_unacked",
    ("active_acked", "reset"): "closed",  # a latched alarm, cleared and acknowledged
    ("active_unacked", "reset"): "rtn_unacked",  # reset first, acknowledged later
    ("rtn_unacked", "reset"): "rtn_unacked",
    ("active_unacked", "close"): "closed",
    ("active_acked", "close"): "closed",
    ("rtn_unacked", "close"): "closed",
}


class TransitionError(ValueError):
    """An alarm in this state cannot take this event."""


def transition(state: str, event: str) -> State:
    """The state an alarm in ``state`` moves to on ``event``; TransitionError when it may not."""
    try:
        return TRANSITIONS[(state, event)]  # type: ignore[index]
    except KeyError:
        raise TransitionError(f"an alarm that is {state.replace('_', ' ')} cannot {event}") from None

_NO_CHANGE: dict[str, Any] = {
    "state": None,
    "priority": None,
    "active": None,
    "message": None,
    "message_key": None,
    "message_params": None,
    "value": None,
    "occurrences": 0,
    "last_seen_at": None,
    "cleared_set": False,
    "cleared_at": None,
    "acked_set": False,
    "acked_at": None,
    "acked_by": None,
    "assigned_set": False,
    "assigned_to": None,
    "shelved_set": False,
    "shelved_until": None,
    "shelved_by": None,
    "shelve_reason": None,
    "escalated_at": None,
    "confirmed": False,
    "closed_at": None,
    "closed_by": None,
    "disposition": None,
    "procedure": None,
}


@dataclass
class Change:
    """An alarm row after a change, with what happened (for notifications)."""

    alarm: dict[str, Any]
    action: str


def update(conn: psycopg.Connection, alarm_id: int, **changes: Any) -> dict[str, Any]:
    """Apply column changes to one (already locked) alarm; return the new row."""
    params = dict(_NO_CHANGE, id=alarm_id, **changes)
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(q.UPDATE, params)
        row = cur.fetchone()
    assert row is not None
    return row


def journal(
    conn: psycopg.Connection,
    alarm: dict[str, Any],
    actor: str,
    action: str,
    *,
    from_state: str | None = None,
    note: str | None = None,
    event_time: datetime | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    """Append one journal entry."""
    conn.execute(
        q.JOURNAL,
        {
            "alarm_id": alarm["id"],
            "event_time": event_time,
            "actor": actor,
            "action": action,
            "from_state": from_state,
            "to_state": alarm["state"],
            "note": note,
            "details": Jsonb(details) if details else None,
        },
    )


# Changes people may have to hear of (ingest.notify plans who): into the outbox, in this transaction.
OUTBOX_ACTIONS = frozenset({"raised", "escalated", "re-alarm", "returned", "confirmed", "acknowledged", "cleared",
                            "reset", "closed"})


def notify(conn: psycopg.Connection, change: Change) -> None:
    """Tell listeners (dashboards, the MQTT publisher) at commit; queue it for notifications."""
    a = change.alarm
    if change.action in OUTBOX_ACTIONS and not a.get("test_session"):  # a walk test tells nobody
        conn.execute(q.OUTBOX_ADD, {"alarm_id": a["id"], "action": change.action})
    payload = {
        "id": a["id"],
        "action": change.action,
        "state": a["state"],
        "priority": a["priority"],
        "sensor_id": a["sensor_id"],
        "building_id": a["building_id"],
        "condition": a["condition"],
        "version": a["version"],
    }
    conn.execute(q.NOTIFY, {"payload": json.dumps(payload)})


def apply_raise(
    conn: psycopg.Connection,
    sensor: SensorInfo,
    sig: Raise,
    drill: bool,
    procedure: list[dict[str, Any]],
    suppressed: bool = False,
    test_session: int | None = None,
) -> Change | None:
    """A rule raised a condition: open a new alarm or count a repeat on the open one (``test_session``: a
    device in a walk test, whose alarm is marked with it).
    """
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(q.OPEN_FOR_UPDATE, {"sensor": sensor.id, "condition": sig.condition, "drill": drill})
        row = cur.fetchone()
        if row is None:
            cur.execute(
                q.INSERT,
                {
                    "sensor": sensor.id,
                    "building": sensor.building,
                    "zone": sensor.zone,
                    "condition": sig.condition,
                    "family": sig.family,
                    "signal_class": sig.signal_class,
                    "priority": sig.priority,
                    "latched": sig.latched,
                    "drill": drill,
                    "suppressed": sensor.out_of_service or suppressed,
                    "message": sig.message,
                    "message_key": sig.text.key,
                    "message_params": Jsonb(dict(sig.text.params)),
                    "value": sig.value,
                    "at": sig.at,
                    "procedure": Jsonb(procedure),
                    "test_session": test_session,
                },
            )
            new = cur.fetchone()
            assert new is not None
            journal(
                conn,
                new,
                SYSTEM,
                "raised",
                event_time=sig.at,
                note=sig.message,
                details={"priority": sig.priority, "value": sig.value, "drill": drill, "test_session": test_session,
                         "message_key": sig.text.key, "message_params": dict(sig.text.params)},
            )
            return Change(new, "raised")
    old_state = row["state"]
    escalate = rank(sig.priority) > rank(row["priority"])
    changes: dict[str, Any] = {
        "occurrences": 1,
        "last_seen_at": sig.at,
        "active": True,
        "cleared_set": True,
        "cleared_at": None,
        "value": sig.value,
    }
    action = "repeat"
    if escalate:
        changes.update(
            priority=sig.priority,
            state=transition(old_state, "re-alarm"),
            message=sig.message,
            message_key=sig.text.key,
            message_params=Jsonb(dict(sig.text.params)),
            acked_set=True,
            acked_at=None,
            acked_by=None,
        )
        action = "re-alarm"
    elif old_state == "rtn_unacked":
        changes["state"] = transition(old_state, "return")
        action = "returned"
    new = update(conn, row["id"], **changes)
    if action != "repeat":
        journal(conn, new, SYSTEM, action, from_state=old_state, event_time=sig.at, note=sig.message,
                details=journal_details(sig.text))
    return Change(new, action)


def apply_clear(conn: psycopg.Connection, sensor_id: str, sig: Clear, drill: bool) -> Change | None:
    """A rule says the condition is gone: return to normal (or wait for a reset if latched)."""
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(q.OPEN_FOR_UPDATE, {"sensor": sensor_id, "condition": sig.condition, "drill": drill})
        row = cur.fetchone()
    if row is None or not row["active"]:
        return None
    old_state = row["state"]
    changes: dict[str, Any] = {"active": False, "cleared_set": True, "cleared_at": sig.at}
    if not row["latched"]:
        changes["state"] = transition(old_state, "clear")
        if changes["state"] == "closed":
            changes.update(closed_at=sig.at, closed_by=SYSTEM)
    new = update(conn, row["id"], **changes)
    journal(
        conn,
        new,
        SYSTEM,
        "cleared" if not row["latched"] else "cleared, awaiting reset",
        from_state=old_state,
        event_time=sig.at,
    )
    return Change(new, "cleared")


def confirm_fire(conn: psycopg.Connection, change: Change, window_s: float) -> list[Change]:
    """A second detector in the same zone within the window confirms the fire (both alarms)."""
    alarm = change.alarm
    if alarm["condition"] != "fire" or change.action != "raised" or not alarm["zone"]:
        return []
    since = alarm["raised_at"].timestamp() - window_s
    # Another ingest worker may be raising a fire in this zone in a batch not yet committed (its
    # alarm invisible to us, ours to it): the zone's lock makes the later one wait and see.
    conn.execute(q.LOCK_FIRE_ZONE, {"key": locks.FIRE_ZONE, "zone": alarm["zone"]})
    rows = conn.execute(
        q.FIRE_IN_ZONE,
        {
            "zone": alarm["zone"],
            "drill": alarm["drill"],
            "sensor": alarm["sensor_id"],
            "since": datetime.fromtimestamp(since, tz=alarm["raised_at"].tzinfo),
        },
    ).fetchall()
    if not rows:
        return []
    out = []
    text = Text("fire_confirmed", {"zone": alarm["zone"]})
    for alarm_id in [alarm["id"]] + [r[0] for r in rows]:
        new = update(conn, alarm_id, confirmed=True)
        journal(conn, new, SYSTEM, "confirmed", from_state=new["state"], note=english(text),
                details=journal_details(text))
        out.append(Change(new, "confirmed"))
    return out
