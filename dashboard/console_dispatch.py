"""The console's "send a guard" (the guards to choose from, each dispatch's steps and times, cancel) and
"report a hazard behind this alarm".

The components are in ``console_layout``; the steps themselves are ``ingest.patrol.dispatch``
(one locked transaction each, journaled on the alarm). Officers dispatch and cancel; only the guard
sent moves a dispatch on (from the phone page, ``pages/guard.py``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import dash
from dash import ALL, Input, Output, State, callback, ctx, html
from dash.exceptions import PreventUpdate

from dashboard import lang
from dashboard import queries as q
from dashboard.auth import allowed, current_user, refusal
from dashboard.console_layout import (
    DISPATCH_BTN,
    DISPATCH_CANCEL,
    DISPATCH_GUARD,
    DISPATCH_NOTE,
    DISPATCHES,
    DONE,
    HAZARD_BTN,
    MSG,
    SELECTED,
)
from dashboard.db import connection
from dashboard.ids import LIVE_SIGNAL
from ingest.alarms.actions import ActionRefusedError
from ingest.core import clock
from ingest.core.i18n import N_, Translator
from ingest.core.vocabulary import DISPATCH_LABELS
from ingest.patrol import dispatch as D
from ingest.safety import hazards

STEP_TIMES = (("dispatched", "dispatched_at"), ("on_the_way", "on_the_way_at"), ("on_scene", "on_scene_at"),
              ("resolved", "resolved_at"), ("cancelled", "cancelled_at"))


def minutes(a: datetime | None, b: datetime | None) -> str:
    """Whole minutes from a to b ("" when either is missing)."""
    if a is None or b is None:
        return ""
    return f"{max((b - a).total_seconds(), 0) / 60:.0f}"


def _row(d: dict[str, Any], raised: datetime, _: Translator) -> html.Tr:
    steps = []
    for step, col in STEP_TIMES:
        if d[col] is None:
            continue
        since = raised if step == "dispatched" else d["dispatched_at"]
        took = minutes(since, d[col])
        later = " (+" + _("{n} min").format(n=took) + ")" if took else ""
        steps.append(f"{_(DISPATCH_LABELS[step])} {clock.fmt(d[col], '%H:%M')}{later}")
    cancel = (html.Button(_("Cancel"), id={"type": DISPATCH_CANCEL, "id": d["id"]}, n_clicks=0)
              if d["state"] not in ("resolved", "cancelled") else "")
    return html.Tr([html.Td(d["display_name"] or d["guard"]),
                    html.Td(_(DISPATCH_LABELS[d["state"]]), className=f"sc-dispatch-{d['state']}"),
                    html.Td(" · ".join(steps)),
                    html.Td(d["note"] or ""),
                    html.Td(html.A(_("photo"), href=f"/dispatch-photo/{d['id']}", target="_blank")
                            if d["has_photo"] else ""),
                    html.Td(cancel)], id=f"console-dispatch-{d['id']}")


@callback(Output(DISPATCHES, "children"), Output(DISPATCH_GUARD, "options"),
          Input(SELECTED, "data"), Input(LIVE_SIGNAL, "data"), Input(DONE, "data"))
def show(alarm_id: int | None, *_triggers: Any) -> tuple:
    """The selected alarm's dispatches, and the guards to choose from (on a tour, already busy)."""
    if not allowed("viewer") or alarm_id is None:
        return [], []
    _ = lang.gettext()
    with connection() as conn:
        rows = conn.execute(q.ALARM_DISPATCHES, {"id": alarm_id}).fetchall()
        guards = conn.execute(q.GUARD_LIST).fetchall()
        alarm = conn.execute(q.DETAIL, {"id": alarm_id}).fetchone()
    options = []
    for g in guards:
        label = g["display_name"] or g["username"]
        if g["on_route"]:
            label += " · " + _("on tour {route}").format(route=g["on_route"])
        if g["open_dispatches"]:
            label += " · " + _("{n} open dispatches").format(n=g["open_dispatches"])
        options.append({"label": label, "value": g["username"]})
    if not rows or alarm is None:
        return [], options
    return html.Table([_row(d, alarm["raised_at"], _) for d in rows], className="sc-table sc-dispatch-table"), options


@callback(Output(MSG, "children", allow_duplicate=True), Output(DONE, "data", allow_duplicate=True),
          Input(DISPATCH_BTN, "n_clicks"), Input({"type": DISPATCH_CANCEL, "id": ALL}, "n_clicks"),
          State(SELECTED, "data"), State(DISPATCH_GUARD, "value"), State(DISPATCH_NOTE, "value"),
          prevent_initial_call=True)
def act(_send: Any, _cancels: Any, alarm_id: int | None, guard: str | None, note: str | None) -> tuple:
    """Dispatch the chosen guard, or cancel a dispatch (officers only, checked here)."""
    trig = ctx.triggered_id
    if trig is None or (isinstance(trig, dict) and not ctx.triggered[0]["value"]):
        raise PreventUpdate
    _ = lang.gettext()
    denied = refusal("officer", N_("send guards"), _)
    if denied:
        return denied, dash.no_update
    actor = current_user()["username"]  # type: ignore[index]
    stamp = {"at": datetime.now(UTC).isoformat(), "id": alarm_id}
    try:
        with connection() as conn:
            if trig == DISPATCH_BTN:
                if alarm_id is None:
                    return _("Select an alarm first."), dash.no_update
                if not guard:
                    return _("Choose a guard to send."), dash.no_update
                D.dispatch(conn, alarm_id, guard, actor, note)
                return _("{who} dispatched.").format(who=guard), stamp
            assert isinstance(trig, dict)
            D.step(conn, int(trig["id"]), actor, "cancelled", officer=True)
            return _("Dispatch cancelled."), stamp
    except ActionRefusedError as exc:
        return exc.render(_), stamp


@callback(Output(MSG, "children", allow_duplicate=True), Input(HAZARD_BTN, "n_clicks"), State(SELECTED, "data"),
          prevent_initial_call=True)
def report_hazard(_click: Any, alarm_id: int | None) -> Any:
    """A hazard from the selected alarm: its place and responsible department (officers)."""
    _ = lang.gettext()
    denied = refusal("officer", N_("report hazards"), _)
    if denied:
        return denied
    if alarm_id is None:
        return _("Select an alarm first.")
    try:
        with connection() as conn:
            hid = hazards.from_alarm(conn, alarm_id, current_user()["username"])  # type: ignore[index]
    except ActionRefusedError as exc:
        return exc.render(_)
    if hid is None:
        return _("A hazard from this alarm is already open.")
    return html.Span([_("Hazard {id} reported.").format(id=hid) + " ",
                      html.A(_("open it"), href=f"/hazards?hazard={hid}", id="console-hazard-link")])
