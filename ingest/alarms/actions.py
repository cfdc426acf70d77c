"""Officer actions on one alarm: each one transaction, with a row lock and a journal entry.

Two officers acting at once get one success and one clear refusal; an action from a
view older than the alarm's current version is refused instead of overwriting.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from ingest.alarms import queries as q
from ingest.alarms.lifecycle import Change, TransitionError, journal, notify, transition, update
from ingest.core import clock
from ingest.core.errors import SafeCampusError
from ingest.core.i18n import N_
from ingest.core.vocabulary import DISPATCH_LABELS, DISPOSITIONS, PRIORITY_LABELS, STATE_LABELS

# What an officer tried, in the refusal "an alarm that is … cannot …".
EVENT_LABELS = {"acknowledge": N_("be acknowledged"), "clear": N_("clear"), "return": N_("return"),
                "re-alarm": N_("re-alarm"), "reset": N_("be reset"), "close": N_("be closed")}

# Longest shelve an officer may set, per priority.
MAX_SHELVE = {
    "critical": timedelta(minutes=30),
    "high": timedelta(hours=2),
    "medium": timedelta(hours=8),
    "low": timedelta(hours=24),
}


class ActionRefusedError(SafeCampusError):
    """The action cannot be done on this alarm now; the message says why, for the officer.

    The reason is a template and its parameters, so that each officer reads it in their language.
    """

    def __init__(self, template: str, **params: Any) -> None:
        self.template, self.params = template, params
        super().__init__(self.render(str))

    def render(self, _: Callable[[str], str]) -> str:
        """The reason in the language of ``_`` (state and priority words translated too)."""
        labels = {"state": STATE_LABELS, "priority": PRIORITY_LABELS, "event": {}, "now": DISPATCH_LABELS,
                  "step": DISPATCH_LABELS}
        shown = {k: _(labels[k].get(v, v)) if k in labels else v for k, v in self.params.items()}
        return _(self.template).format(**shown)


def _when(ts: datetime | None) -> str:
    return clock.fmt(ts, "%H:%M:%S", missing="?")


def _next(alarm_id: int, state: str, event: str) -> str:
    """The next state from the lifecycle's table, or the officer's reason why not."""
    try:
        return transition(state, event)
    except TransitionError as exc:
        raise ActionRefusedError(N_("alarm {id}: an alarm that is {state} cannot {event}"), id=alarm_id, state=state,
                                 event=EVENT_LABELS.get(event, event)) from exc


def _lock(conn: psycopg.Connection, alarm_id: int, expected_version: int | None) -> dict[str, Any]:
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(q.BY_ID_FOR_UPDATE, {"id": alarm_id})
        row = cur.fetchone()
    if row is None:
        raise ActionRefusedError(N_("alarm {id} does not exist"), id=alarm_id)
    if row["state"] == "closed":
        raise ActionRefusedError(N_("alarm {id} was already closed by {who} at {time}"), id=alarm_id,
                                 who=row["closed_by"], time=_when(row["closed_at"]))
    if expected_version is not None and row["version"] != expected_version:
        raise ActionRefusedError(N_("alarm {id} changed since you opened it (now {state}); look again before acting"),
                                 id=alarm_id, state=row["state"])
    return row


def _done(
    conn: psycopg.Connection,
    row: dict[str, Any],
    actor: str,
    action: str,
    old: str,
    note: str | None = None,
    details: dict[str, Any] | None = None,
) -> Change:
    journal(conn, row, actor, action, from_state=old, note=note, details=details)
    change = Change(row, action)
    notify(conn, change)
    return change


def acknowledge(
    conn: psycopg.Connection, alarm_id: int, actor: str, note: str | None = None, expected_version: int | None = None
) -> Change:
    """Acknowledge: active -> acknowledged; returned-to-normal -> closed."""
    with conn.transaction():
        row = _lock(conn, alarm_id, expected_version)
        old = row["state"]
        if old == "active_acked":
            raise ActionRefusedError(
                N_("alarm {id} was already acknowledged by {who} at {time}"), id=alarm_id, who=row["acked_by"],
                time=_when(row["acked_at"])
            )
        now = datetime.now(UTC)
        # A latched alarm acknowledged after its condition cleared still waits for a reset.
        changes: dict[str, Any] = {"acked_set": True, "acked_at": now, "acked_by": actor,
                                   "state": _next(alarm_id, old, "acknowledge")}
        if changes["state"] == "closed":
            changes.update(closed_at=now, closed_by=actor)
        new = update(conn, alarm_id, **changes)
        return _done(conn, new, actor, "acknowledged", old, note)


def add_note(conn: psycopg.Connection, alarm_id: int, actor: str, note: str) -> Change:
    """Add a note to the journal."""
    if not note or not note.strip():
        raise ActionRefusedError(N_("a note needs some text"))
    with conn.transaction():
        row = _lock(conn, alarm_id, None)
        new = update(conn, alarm_id)
        return _done(conn, new, actor, "note", row["state"], note.strip()[:2000])


def assign(conn: psycopg.Connection, alarm_id: int, actor: str, expected_version: int | None = None) -> Change:
    """Assign the alarm to the acting officer."""
    with conn.transaction():
        row = _lock(conn, alarm_id, expected_version)
        if row["assigned_to"] == actor:
            raise ActionRefusedError(N_("alarm {id} is already assigned to you"), id=alarm_id)
        new = update(conn, alarm_id, assigned_set=True, assigned_to=actor)
        return _done(conn, new, actor, "assigned", row["state"], details={"previous": row["assigned_to"]})


def shelve(
    conn: psycopg.Connection,
    alarm_id: int,
    actor: str,
    minutes: float,
    reason: str,
    expected_version: int | None = None,
) -> Change:
    """Hide the alarm for a bounded time, with a reason."""
    if not reason or not reason.strip():
        raise ActionRefusedError(N_("shelving needs a reason"))
    if not minutes or minutes <= 0:
        raise ActionRefusedError(N_("shelve for a positive number of minutes"))
    with conn.transaction():
        row = _lock(conn, alarm_id, expected_version)
        limit = MAX_SHELVE[row["priority"]]
        if timedelta(minutes=minutes) > limit:
            raise ActionRefusedError(
                N_("a {priority} alarm can be shelved for at most {n} minutes"), priority=row["priority"],
                n=int(limit.total_seconds() // 60)
            )
        until = datetime.now(UTC) + timedelta(minutes=minutes)
        new = update(
            conn, alarm_id, shelved_set=True, shelved_until=until, shelved_by=actor, shelve_reason=reason.strip()
        )
        return _done(conn, new, actor, "shelved", row["state"], reason.strip(), {"until": until.isoformat()})


def unshelve(conn: psycopg.Connection, alarm_id: int, actor: str, reason: str = "unshelved") -> Change:
    """Show a shelved alarm again (an officer, or the timer when the shelve expires)."""
    with conn.transaction():
        row = _lock(conn, alarm_id, None)
        if row["shelved_until"] is None:
            raise ActionRefusedError(N_("alarm {id} is not shelved"), id=alarm_id)
        new = update(conn, alarm_id, shelved_set=True, shelved_until=None, shelved_by=None, shelve_reason=None)
        return _done(conn, new, actor, reason, row["state"])


def reset(
    conn: psycopg.Connection, alarm_id: int, actor: str, note: str | None = None, expected_version: int | None = None
) -> Change:
    """Reset a latched alarm whose condition has cleared."""
    with conn.transaction():
        row = _lock(conn, alarm_id, expected_version)
        if not row["latched"]:
            raise ActionRefusedError(N_("alarm {id} is not latched; it needs no reset"), id=alarm_id)
        if row["active"]:
            raise ActionRefusedError(N_("alarm {id} cannot be reset: its condition is still present"), id=alarm_id)
        old = row["state"]
        state = _next(alarm_id, old, "reset")
        if state == "closed":
            new = update(conn, alarm_id, state=state, closed_at=datetime.now(UTC), closed_by=actor)
        else:
            new = update(conn, alarm_id, state=state)
        return _done(conn, new, actor, "reset", old, note)


def close(
    conn: psycopg.Connection,
    alarm_id: int,
    actor: str,
    disposition: str,
    note: str | None = None,
    expected_version: int | None = None,
) -> Change:
    """Close with a disposition; a real alarm with unticked procedure steps needs a reason."""
    if disposition not in DISPOSITIONS:
        raise ActionRefusedError(N_("disposition must be one of {choices}"), choices=", ".join(DISPOSITIONS))
    with conn.transaction():
        row = _lock(conn, alarm_id, expected_version)
        if row["active"]:
            raise ActionRefusedError(N_("alarm {id} cannot be closed while its condition is present"), id=alarm_id)
        open_steps = [s["step"] for s in row["procedure"] if not s.get("done")]
        if disposition == "real" and open_steps and not (note and note.strip()):
            raise ActionRefusedError(N_("{n} procedure step(s) are not done; give a reason to close anyway"),
                                     n=len(open_steps))
        now = datetime.now(UTC)
        changes: dict[str, Any] = {"state": _next(alarm_id, row["state"], "close"), "closed_at": now,
                                   "closed_by": actor, "disposition": disposition}
        if row["state"] != "active_acked" and row["acked_at"] is None:
            changes.update(acked_set=True, acked_at=now, acked_by=actor)
        new = update(conn, alarm_id, **changes)
        return _done(conn, new, actor, "closed", row["state"], note, {"disposition": disposition})


def tick_step(conn: psycopg.Connection, alarm_id: int, actor: str, index: int, done: bool = True) -> Change:
    """Tick (or untick) one step of the alarm's procedure."""
    with conn.transaction():
        row = _lock(conn, alarm_id, None)
        steps = list(row["procedure"])
        if not 0 <= index < len(steps):
            raise ActionRefusedError(N_("alarm {id} has no procedure step {n}"), id=alarm_id, n=index + 1)
        steps[index] = dict(
            steps[index], done=done, by=actor if done else None, at=datetime.now(UTC).isoformat() if done else None
        )
        new = update(conn, alarm_id, procedure=Jsonb(steps))
        return _done(
            conn,
            new,
            actor,
            "step done" if done else "step undone",
            row["state"],
            steps[index]["step"],
            {"index": index},
        )


@dataclass(frozen=True)
class GroupResult:
    """What a group action did: the alarms it changed, and those it left with the reason why
    (another officer was first, the alarm closed meanwhile...).
    """

    done: list[Change]
    refused: list[tuple[int, ActionRefusedError]]


def _each(conn: psycopg.Connection[Any], alarm_ids: list[int], act: Callable[[int], Change]) -> GroupResult:
    """``act`` on each alarm, in one transaction, each with its own journal entry.

    Rows are locked in id order, so two officers acting on overlapping groups at once wait for
    each other instead of deadlocking, and the second finds each alarm as the first left it.
    """
    done: list[Change] = []
    refused: list[tuple[int, ActionRefusedError]] = []
    with conn.transaction():
        for alarm_id in sorted(set(alarm_ids)):
            try:
                done.append(act(alarm_id))  # each is a savepoint of this transaction
            except ActionRefusedError as exc:
                refused.append((alarm_id, exc))
    return GroupResult(done, refused)


def acknowledge_group(conn: psycopg.Connection[Any], alarm_ids: list[int], actor: str,
                      note: str | None = None) -> GroupResult:
    """Acknowledge a group of alarms (a flood) with one note: each alarm acknowledged once and
    journaled on its own; those already acknowledged are left and counted.
    """
    return _each(conn, alarm_ids, lambda i: acknowledge(conn, i, actor, note))


def shelve_group(conn: psycopg.Connection[Any], alarm_ids: list[int], actor: str, minutes: float,
                 reason: str) -> GroupResult:
    """Shelve a group of alarms for a bounded time with one reason, each journaled on its own."""
    if not reason or not reason.strip():
        raise ActionRefusedError(N_("shelving needs a reason"))
    return _each(conn, alarm_ids, lambda i: shelve(conn, i, actor, minutes, reason))
