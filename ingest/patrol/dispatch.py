"""Sending a guard to an alarm, and the guard's steps: each a locked transaction, each journaled.

dispatched → on the way → on scene → resolved (a guard may go straight to "on scene"); an officer
may cancel a dispatch that is not resolved. Only the guard sent takes its steps. Every step goes
into the alarm's journal with its time, and wakes the dashboards (NOTIFY), like officer actions.
"""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg.rows import dict_row

from ingest.alarms import lifecycle
from ingest.alarms import queries as aq
from ingest.alarms.actions import ActionRefusedError
from ingest.core import photos
from ingest.core.i18n import N_
from ingest.core.vocabulary import DISPATCH_STEPS
from ingest.patrol import queries as q

NEXT: dict[str, tuple[str, ...]] = {
    "dispatched": ("on_the_way", "on_scene", "cancelled"),
    "on_the_way": ("on_scene", "cancelled"),
    "on_scene": ("resolved", "cancelled"),
}
MAX_NOTE = 2000


class DispatchRefusedError(ActionRefusedError):
    """A dispatch or step that may not happen; the message says why, in each reader's language."""


def photo_type(data: bytes) -> str:
    """The media type of a photo (JPEG or PNG), or DispatchRefusedError saying why not."""
    try:
        return photos.photo_type(data)
    except photos.PhotoError as exc:
        raise DispatchRefusedError(exc.template, **exc.params) from exc


def _alarm(conn: psycopg.Connection[Any], alarm_id: int) -> dict[str, Any]:
    with conn.cursor(row_factory=dict_row) as cur:
        row = cur.execute(aq.BY_ID_FOR_UPDATE, {"id": alarm_id}).fetchone()
    if row is None:
        raise DispatchRefusedError(N_("alarm {id} does not exist"), id=alarm_id)
    return row


def dispatch(conn: psycopg.Connection[Any], alarm_id: int, guard: str, by: str, note: str | None = None) -> int:
    """Send ``guard`` to an open alarm; the dispatch's id. Refused for a closed alarm or a guard already sent."""
    note = (note or "").strip()[:MAX_NOTE] or None
    with conn.transaction():
        alarm = _alarm(conn, alarm_id)
        if alarm["state"] == "closed":
            raise DispatchRefusedError(N_("alarm {id} is closed: nobody needs to go"), id=alarm_id)
        if q.first(conn, q.GUARD_USER, {"u": guard}) is None:
            raise DispatchRefusedError(N_("{who} is not a guard"), who=guard)
        row = q.first(conn, q.ADD_DISPATCH, {"alarm": alarm_id, "guard": guard, "by": by, "note": note})
        if row is None:
            raise DispatchRefusedError(N_("{who} is already on the way to this alarm"), who=guard)
        lifecycle.journal(conn, alarm, by, "dispatched", from_state=alarm["state"],
                          note=f"{guard}" + (f": {note}" if note else ""), details={"guard": guard, "dispatch": row[0]})
        lifecycle.notify(conn, lifecycle.Change(alarm, "dispatched"))
        return int(row[0])


def step(conn: psycopg.Connection[Any], dispatch_id: int, actor: str, to: str, note: str | None = None,
         photo: bytes | None = None, *, officer: bool = False) -> str:
    """Move a dispatch on (the guard sent, or an officer cancelling); the new state."""
    if to not in DISPATCH_STEPS or to == "dispatched":
        raise DispatchRefusedError(N_("unknown step {step}"), step=to)
    note = (note or "").strip()[:MAX_NOTE] or None
    media = photo_type(photo) if photo else None
    with conn.transaction():
        with conn.cursor(row_factory=dict_row) as cur:
            found = cur.execute(q.DISPATCH_FOR_UPDATE, {"id": dispatch_id}).fetchone()
        if found is None:
            raise DispatchRefusedError(N_("dispatch {id} does not exist"), id=dispatch_id)
        alarm = _alarm(conn, found["alarm_id"])
        with conn.cursor(row_factory=dict_row) as cur:  # again, now that the alarm's lock is held (lock order)
            d = cur.execute(q.DISPATCH_FOR_UPDATE, {"id": dispatch_id}).fetchone()
        assert d is not None
        if officer and to != "cancelled":
            raise DispatchRefusedError(N_("only the guard sent takes this step"))
        if not officer and d["guard"] != actor:
            raise DispatchRefusedError(N_("this dispatch is another guard's"))
        if to not in NEXT.get(d["state"], ()):
            raise DispatchRefusedError(N_("a dispatch that is {now} cannot go to {step}"), now=d["state"], step=to)
        if to == "resolved" and not note:
            raise DispatchRefusedError(N_("say what you found and did"))
        conn.execute(q.DISPATCH_STEP, {"id": dispatch_id, "step": to, "note": note, "photo": photo,
                                       "photo_type": media})
        lifecycle.journal(conn, alarm, actor, to, from_state=alarm["state"],
                          note=f"{d['guard']}" + (f": {note}" if note else ""),
                          details={"guard": d["guard"], "dispatch": dispatch_id, "photo": bool(photo)})
        lifecycle.notify(conn, lifecycle.Change(alarm, to))
        return to
