"""The console's queue: a page of the open alarms with the true total, a flood's groups (by
building, kind of alarm or zone), and acknowledging or shelving a whole group with one note.

Every alarm of a group action is acted on and journaled on its own, in one transaction with the
rows locked in id order (``ingest.alarms.actions.acknowledge_group``): two officers acting on
overlapping groups at once acknowledge each alarm exactly once. A group action takes only the
alarms raised by the time the officer's groups were read (nothing newer is acknowledged unseen).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import dash
from dash import Input, Output, State, callback, ctx
from dash.exceptions import PreventUpdate

from dashboard import lang
from dashboard import queries as q
from dashboard.auth import allowed, current_user, refusal
from dashboard.console_layout import (
    DONE,
    F_BUILDING,
    F_DEPARTMENT,
    F_FAMILY,
    F_GROUP,
    F_PRIORITY,
    F_SHELVED,
    F_STATE,
    GROUP,
    GROUP_ACK,
    GROUP_NOTE,
    GROUP_PANEL,
    GROUP_SHELVE,
    GROUP_SHELVE_MIN,
    GROUP_SHELVE_REASON,
    GROUPS,
    HIDDEN,
    MSG,
    PAGE_SIZE,
    QUEUE,
    TICK,
    TOTAL,
)
from dashboard.db import connection
from dashboard.ids import LIVE_SIGNAL
from ingest.alarms import actions, messages
from ingest.core import clock
from ingest.core.i18n import N_, Translator
from ingest.core.vocabulary import PRIORITIES, PRIORITY_LABELS, STATE_LABELS

FILTERS = [State(F_PRIORITY, "value"), State(F_STATE, "value"), State(F_BUILDING, "value"),
           State(F_DEPARTMENT, "value"), State(F_FAMILY, "value"), State(F_SHELVED, "value")]


def filters(priorities: Any, states: Any, building: Any, department: Any, family: Any, shelved: Any) -> dict:
    """The console's filters as query parameters."""
    return {"priorities": priorities or None, "states": states or None, "building": building or None,
            "department": department or None, "family": family or None, "shelved": bool(shelved)}


def _row(r: dict, _: Translator) -> dict[str, Any]:
    return {
        "id": r["id"], "p": r["priority"], "s": r["state"],
        "priority": _(PRIORITY_LABELS[r["priority"]]),
        "state": _(STATE_LABELS[r["state"]]),
        "what": ((_("DRILL") + " " if r["drill"] else "") + lang.alarm_text(r))[:80],
        "where": " / ".join(x for x in (lang.named(r, "building"), lang.named(r, "room")) if x) or r["sensor_id"],
        "raised": clock.fmt(r["raised_at"], "%m-%d %H:%M:%S"),
        "occurrences": r["occurrences"],
        "assigned_to": r["assigned_to"] or "",
    }


def _group_label(by: str, g: dict) -> str:
    if by == "building":
        return lang.named({"name": g["building"], "name_zh": g["building_zh"]}) or g["key"]
    if by == "condition":
        return messages.condition_label(g["key"], lang.current())
    return str(g["key"] or "?")


@callback(
    Output(QUEUE, "data"),
    Output(QUEUE, "page_count"),
    Output(QUEUE, "page_current"),
    Output(TOTAL, "children"),
    Output(GROUPS, "data"),
    Output(GROUPS, "selected_rows"),
    Output(GROUP_PANEL, "style"),
    Input(F_PRIORITY, "value"),
    Input(F_STATE, "value"),
    Input(F_BUILDING, "value"),
    Input(F_DEPARTMENT, "value"),
    Input(F_FAMILY, "value"),
    Input(F_SHELVED, "value"),
    Input(F_GROUP, "value"),
    Input(GROUP, "data"),
    Input(QUEUE, "page_current"),
    Input(LIVE_SIGNAL, "data"),
    Input(DONE, "data"),
    Input(TICK, "n_intervals"),
)
def load_queue(priorities: Any, states: Any, building: Any, department: Any, family: Any, shelved: Any,
               group_by: str | None, group: dict | None, page: int | None, *_triggers: Any) -> tuple:
    """One page of the open alarms (unacknowledged first, then by priority and age), the true
    total, and the groups when the officer groups them.
    """
    if not allowed("viewer"):
        raise PreventUpdate
    _ = lang.gettext()
    where = filters(priorities, states, building, department, family, shelved)
    in_group = group if group and group.get("by") == group_by and group_by else None
    args = where | {"group_by": group_by, "group_key": in_group["key"] if in_group else None, "limit": PAGE_SIZE}
    page = max(int(page or 0), 0)
    asked = page
    with connection() as conn:
        rows = conn.execute(q.QUEUE, args | {"offset": page * PAGE_SIZE}).fetchall()
        if not rows and page:  # the page emptied (alarms acknowledged or closed): the last one there is
            one = conn.execute(q.QUEUE, args | {"limit": 1, "offset": 0}).fetchone()
            page = max(((one["total"] if one else 0) - 1) // PAGE_SIZE, 0)
            rows = conn.execute(q.QUEUE, args | {"offset": page * PAGE_SIZE}).fetchall()
        groups = conn.execute(q.QUEUE_GROUPS, where | {"group_by": group_by}).fetchall() if group_by else []
    total = rows[0]["total"] if rows else 0
    first = page * PAGE_SIZE + 1
    shown = (_("Alarms {a}–{b} of {n}").format(a=first, b=first + len(rows) - 1, n=total) if total
             else _("No open alarms."))
    if in_group:
        shown += " · " + _("group: {group}").format(group=in_group["label"])
    data = [{"key": g["key"], "label": _group_label(group_by or "", g), "open": g["open"], "unacked": g["unacked"],
             "worst": _(PRIORITY_LABELS[PRIORITIES[g["worst"] - 1]]), "first": clock.fmt(g["first_at"], "%H:%M:%S"),
             "read_at": g["read_at"].isoformat()} for g in groups]
    selected = [i for i, g in enumerate(data) if in_group and g["key"] == in_group["key"]]
    pages = max(-(-total // PAGE_SIZE), 1)
    # The page number is the browser's own unless it had to move (a page emptied): setting it on
    # every refresh would undo an officer's click that crossed a refresh in a flood.
    return ([_row(r, _) for r in rows], pages, page if page != asked else dash.no_update, shown, data, selected,
            {} if group_by else HIDDEN)


@callback(Output(GROUP, "data"), Input(GROUPS, "selected_rows"), Input(F_GROUP, "value"), State(GROUPS, "data"),
          State(GROUP, "data"))
def choose_group(rows: list[int] | None, group_by: str | None, data: list[dict] | None, group: dict | None) -> Any:
    """The group the officer picked (the queue then shows only it); none when grouping changes."""
    if ctx.triggered_id == F_GROUP or not group_by:
        return None
    if not rows or not data or rows[0] >= len(data):
        raise PreventUpdate
    chosen = {"by": group_by, "key": data[rows[0]]["key"], "label": data[rows[0]]["label"]}
    if group == chosen:
        raise PreventUpdate
    return chosen


@callback(
    Output(MSG, "children", allow_duplicate=True),
    Output(DONE, "data", allow_duplicate=True),
    Input(GROUP_ACK, "n_clicks"),
    Input(GROUP_SHELVE, "n_clicks"),
    State(GROUP, "data"),
    State(GROUPS, "data"),
    State(GROUP_NOTE, "value"),
    State(GROUP_SHELVE_MIN, "value"),
    State(GROUP_SHELVE_REASON, "value"),
    *FILTERS,
    prevent_initial_call=True,
)
def act_on_group(_a: Any, _s: Any, group: dict | None, groups: list[dict] | None, note: str | None, minutes: Any,
                 reason: str | None, *filter_values: Any) -> tuple:
    """Acknowledge or shelve every alarm of the chosen group (officers; each journaled on its own)."""
    _ = lang.gettext()
    shelving = ctx.triggered_id == GROUP_SHELVE
    denied = refusal("officer", N_("shelve alarms") if shelving else N_("acknowledge alarms"), _)
    if denied:
        return denied, dash.no_update
    row = next((g for g in groups or [] if group and g["key"] == group.get("key")), None)
    if row is None or group is None:
        return _("Choose a group first."), dash.no_update
    try:
        minutes = float(minutes) if shelving else None
    except (TypeError, ValueError):
        return _("Minutes must be a number."), dash.no_update
    actor = current_user()["username"]  # type: ignore[index]
    args = filters(*filter_values) | {"group_by": group["by"], "group_key": group["key"], "unacked": not shelving,
                                      "seen": datetime.fromisoformat(row["read_at"])}
    try:
        with connection() as conn:
            ids = [r["id"] for r in conn.execute(q.GROUP_MEMBERS, args)]
            if shelving:
                result = actions.shelve_group(conn, ids, actor, minutes or 0, reason or "")
            else:
                result = actions.acknowledge_group(conn, ids, actor, (note or "").strip() or None)
    except actions.ActionRefusedError as exc:
        return exc.render(_), dash.no_update
    told = (_("Shelved {n} alarms of {group}.") if shelving else _("Acknowledged {n} alarms of {group}.")).format(
        n=len(result.done), group=row["label"])
    if result.refused:
        told += " " + _("{n} left: {reason}").format(n=len(result.refused), reason=result.refused[0][1].render(_))
    return told, {"group": group["key"], "done": len(result.done)}
