"""The guard's phone page: my tour and next checkpoint on its floor plan, scans, my dispatches, SOS.

For a 360-px-wide phone on a slow network: no chart library, a small page refreshed every 15 s
(and after every action), big buttons. Only users of role ``guard`` use it; every action is
checked on the server and done in one transaction (``ingest.patrol``).
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from typing import Any

import dash
from dash import ALL, Input, Output, State, callback, clientside_callback, ctx, dcc, html
from dash.exceptions import PreventUpdate
from flask import current_app

from dashboard import floormap, lang
from dashboard import queries as q
from dashboard.auth import current_user
from dashboard.db import connection
from ingest.alarms.actions import ActionRefusedError
from ingest.core import clock
from ingest.core.i18n import Translator
from ingest.core.vocabulary import DISPATCH_LABELS, PRIORITY_LABELS, TOUR_STATE_LABELS, VISIT_LABELS
from ingest.patrol import dispatch as D
from ingest.patrol.engine import PatrolEngine, Scan
from ingest.safety import hazards

dash.register_page(__name__, path="/guard", title="SafeCampus")

TOURS, DISPATCHES, MSG, CODE, METHOD, SCAN_BTN, CAMERA_BTN, SOS_BTN, SOS_ARM, REFRESH, DONE, NOTE, PHOTO = (
    "guard-tours", "guard-dispatches", "guard-msg", "guard-code", "guard-method", "guard-scan", "guard-camera",
    "guard-sos", "guard-sos-armed", "guard-refresh", "guard-done", "guard-note", "guard-photo")
TOOLS = "guard-dispatch-tools"
HAZARD, HAZARD_BTN = "guard-hazard", "guard-hazard-btn"
HIDDEN = {"display": "none"}
STEP = "guard-step"  # pattern id: {"type": STEP, "id": dispatch, "to": step}
VERDICT_MARK = {"on_time": "✓", "early": "!", "late": "!", "out_of_sequence": "!", "missed": "✗"}


def _guard() -> dict[str, Any] | None:
    user = current_user()
    return user if user and user.get("role") == "guard" else None


def frame(_: Translator = str, name: str = "") -> html.Div:
    """The page's components (also the validation layout)."""
    return html.Div(
        [
            html.Header([html.H1(_("Patrol")), html.Span(name, className="sc-guard-name"),
                         html.A(_("Log out"), href="/logout", className="sc-guard-logout")],
                        className="sc-guard-head"),
            html.Button(_("SOS"), id=SOS_BTN, className="sc-sos", n_clicks=0),
            html.P(id=SOS_ARM, className="sc-sos-hint", children=_("Press twice to call for help.")),
            html.Div(id=MSG, className="sc-guard-msg", role="status", **{"aria-live": "assertive"}),
            html.Section(
                [html.H2(_("Scan a checkpoint")),
                 html.Div([dcc.Input(id=CODE, placeholder=_("checkpoint code"), className="sc-guard-code",
                                     autoComplete="off", debounce=False),
                           html.Button(_("Record"), id=SCAN_BTN, className="sc-guard-btn")],
                          className="sc-guard-row"),
                 html.Button(_("Scan the QR code with the camera"), id=CAMERA_BTN, className="sc-guard-btn wide"),
                 html.Video(id="guard-video", className="sc-guard-video", autoPlay=True, muted=True,
                            style={"display": "none"}),
                 html.P(_("An NFC or RFID reader records itself. A QR code or a typed code is weaker proof "
                          "and is recorded as such."), className="sc-guard-small")],
                className="sc-guard-card"),
            html.Section([html.Div(id=DISPATCHES),
                          html.Div([dcc.Textarea(id=NOTE, placeholder=_("what you found and did (needed to resolve)"),
                                                 className="sc-guard-note"),
                                    dcc.Upload(html.Button(_("Add a photo"), className="sc-guard-btn wide"), id=PHOTO,
                                               accept="image/jpeg,image/png", max_size=3 * 1024 * 1024)],
                                   id=TOOLS, style=HIDDEN)],
                         className="sc-guard-card"),
            html.Section(id=TOURS, className="sc-guard-card"),
            html.Section([html.H2(_("Report a hazard here")),
                          html.Div([dcc.Input(id=HAZARD, placeholder=_("what is wrong"), className="sc-guard-code"),
                                    html.Button(_("Report"), id=HAZARD_BTN, className="sc-guard-btn")],
                                   className="sc-guard-row"),
                          html.P(_("It is reported where you last scanned a checkpoint."),
                                 className="sc-guard-small")], className="sc-guard-card"),
            dcc.Store(id=METHOD, data="typed"),
            dcc.Store(id=DONE),
            dcc.Interval(id=REFRESH, interval=15_000),
        ],
        className="sc-guard",
    )


def layout(**_query: str) -> html.Div:
    """The page for a logged-in guard; others are told where to go."""
    _ = lang.gettext()
    user = _guard()
    if user is None:
        return html.Div([html.H1(_("Patrol")), html.P(_("Guards log in to see their tour.")),
                         html.A(_("Log in"), href="/login?next=/guard")], className="sc-home")
    return frame(_, user.get("name") or user["username"])


def _engine() -> PatrolEngine:
    """The process's patrol engine (its sensor directory is a short-lived cache of the registry)."""
    engine: PatrolEngine = current_app.extensions["safecampus_patrols"]
    return engine


@callback(Output(TOURS, "children"), Output(DISPATCHES, "children"), Output(TOOLS, "style"),
          Input(REFRESH, "n_intervals"), Input(DONE, "data"))
def show(*_triggers: Any) -> tuple:
    """My tour (next checkpoint on its plan) and my dispatches."""
    user = _guard()
    if user is None:
        raise PreventUpdate
    _ = lang.gettext()
    now = datetime.now(UTC)
    with connection() as conn:
        tours = conn.execute(q.GUARD_TOURS, {"u": user["username"], "now": now}).fetchall()
        if any(t["rank"] == 0 for t in tours):  # on a tour: only mine
            tours = [t for t in tours if t["rank"] == 0]
        dispatches = conn.execute(q.GUARD_DISPATCHES, {"u": user["username"]}).fetchall()
        ids = sorted({s["checkpoint"] for t in tours for s in t["stops"]})
        places = {p["id"]: p for p in conn.execute(q.CHECKPOINT_PLACES, {"ids": ids})}
        nxt = _next_stop(tours[0], places) if tours and tours[0]["rank"] < 2 else None
        plan = devices = None
        if nxt is not None and nxt["floor"] is not None:
            where = {"building": nxt["building_id"], "floor": nxt["floor"]}
            plan = conn.execute(q.MAP_PLAN, where).fetchone()
            devices = conn.execute(q.MAP_DEVICES, where).fetchall() if plan else None
    busy = any(d["state"] not in ("resolved", "cancelled") for d in dispatches)
    return _tours(tours, places, nxt, plan, devices, _), _dispatches(dispatches, _), ({} if busy else HIDDEN)


def _next_stop(tour: dict, places: dict) -> dict | None:
    visits = tour["visits"] or {}
    todo = [s for s in tour["stops"] if (visits.get(s["checkpoint"]) or {}).get("verdict") in (None, "missed")]
    if not todo:
        return None
    stop = todo[0] if tour["ordered"] else min(todo, key=lambda s: s["max_s"])
    return places.get(stop["checkpoint"]) | {"stop": stop} if stop["checkpoint"] in places else None


def _place(p: dict | None, _: Translator) -> str:
    if p is None:
        return "?"
    floor = floormap.floor_name(p["floor"], _) if p.get("floor") is not None else None
    room = lang.named(p, "room")
    if floor and room and room.casefold() == floor.casefold():
        room = ""  # a room called after its floor ("Floor 3", "3 层")
    return " · ".join(x for x in (lang.named(p, "building"), floor, room) if x)


def _tours(tours: list[dict], places: dict, nxt: dict | None, plan: dict | None, devices: list | None,
           _: Translator) -> list:
    out: list = [html.H2(_("My tour"))]
    if not tours:
        return out + [html.P(_("No tour planned now."), className="sc-guard-small")]
    head = tours[0]
    if head["rank"] == 2:
        out.append(html.P(_("Next tour: {route} at {time}").format(route=lang.named(head),
                                                                  time=clock.fmt(head["due_at"], "%H:%M")),
                          id="guard-next-tour"))
        return out
    for t in [x for x in tours if x["rank"] < 2][:2]:
        visits = t["visits"] or {}
        state = _(TOUR_STATE_LABELS[t["state"]])
        out.append(html.H3(f"{lang.named(t)} · {clock.fmt(t['due_at'], '%H:%M')}–{clock.fmt(t['ends_at'], '%H:%M')}"
                           f" · {state}", className="sc-guard-tour"))
        rows = []
        for i, s in enumerate(t["stops"], 1):
            v = visits.get(s["checkpoint"]) or {}
            verdict = v.get("verdict")
            window = (f"{clock.fmt(t['due_at'] + _delta(s['min_s']), '%H:%M')}–"
                      f"{clock.fmt(t['due_at'] + _delta(s['max_s']), '%H:%M')}")
            mark = VERDICT_MARK.get(verdict or "", "·")
            name = lang.named(places.get(s["checkpoint"]) or {"name": s["checkpoint"]})
            rows.append(html.Li([html.Span(mark, className=f"sc-v sc-v-{verdict or 'todo'}"),
                                 html.Span(f"{i}. {name}"),
                                 html.Span(_(VISIT_LABELS[verdict]) if verdict else window,
                                           className="sc-guard-small")],
                                className="sc-guard-stop"))
        out.append(html.Ol(rows, className="sc-guard-stops"))
    if nxt is not None:
        out.insert(1, html.Div([html.Strong(_("Next checkpoint") + ": "),
                                html.Span(lang.named(nxt) or nxt["id"], id="guard-next-name"),
                                html.Div(_place(nxt, _), className="sc-guard-small"),
                                html.Div(_("scan by {time}").format(
                                    time=clock.fmt(head["due_at"] + _delta(nxt["stop"]["max_s"]), "%H:%M")),
                                    className="sc-guard-small")],
                               className="sc-guard-next", id="guard-next"))
        if plan is not None:
            out.insert(2, floormap.floor(plan, devices or [], _, links=False, focus=nxt["id"], ident="guard-floor"))
    return out


def _delta(seconds: int) -> timedelta:
    return timedelta(seconds=seconds)


def _dispatches(rows: list[dict], _: Translator) -> list:
    out: list = [html.H2(_("Sent to"))]
    if not rows:
        return out + [html.P(_("Nothing for you now."), className="sc-guard-small", id="guard-no-dispatch")]
    for d in rows:
        done = d["state"] in ("resolved", "cancelled")
        buttons = [] if done else [
            html.Button(_(DISPATCH_LABELS[to]), id={"type": STEP, "id": d["id"], "to": to},
                        className=f"sc-guard-btn step-{to}", n_clicks=0)
            for to in D.NEXT.get(d["state"], ()) if to != "cancelled"]
        out.append(html.Div(
            [html.Div(f"{_(PRIORITY_LABELS[d['priority']])} · {lang.alarm_text(d)}",
                      className=f"sc-guard-alarm sc-p-text-{d['priority']}"),
             html.Div(_place(d, _), className="sc-guard-small"),
             html.Div(_("{step} · sent by {who} at {time}").format(
                 step=_(DISPATCH_LABELS[d["state"]]), who=d["dispatched_by"],
                 time=clock.fmt(d["dispatched_at"], "%H:%M")), className="sc-guard-small sc-guard-state"),
             html.Div(d["note"] or "", className="sc-guard-small"),
             html.Div(buttons, className="sc-guard-row")],
            className="sc-guard-dispatch" + (" done" if done else ""), id=f"guard-dispatch-{d['id']}"))
    return out


@callback(Output(MSG, "children"), Output(DONE, "data"), Output(CODE, "value"), Output(SOS_ARM, "children"),
          Input(SCAN_BTN, "n_clicks"), Input(CODE, "n_submit"), Input(SOS_BTN, "n_clicks"),
          Input({"type": STEP, "id": ALL, "to": ALL}, "n_clicks"), Input(HAZARD_BTN, "n_clicks"),
          State(CODE, "value"), State(METHOD, "data"), State(NOTE, "value"), State(PHOTO, "contents"),
          State(SOS_ARM, "children"), State(HAZARD, "value"), prevent_initial_call=True)
def act(_scan: Any, _submit: Any, sos: int, _steps: Any, _hazard: Any, code: str | None, method: str | None,
        note: str | None, photo: str | None, armed: str | None, hazard: str | None) -> tuple:
    """A scan, an SOS (second press), or a step of a dispatch, for the logged-in guard only."""
    _ = lang.gettext()
    user = _guard()
    trig = ctx.triggered_id
    if trig is None or (isinstance(trig, dict) and not ctx.triggered[0]["value"]):
        raise PreventUpdate
    if user is None:
        return _("Only a logged-in guard may do this."), dash.no_update, dash.no_update, dash.no_update
    me = user["username"]
    now = datetime.now(UTC)
    stamp = {"at": now.isoformat()}
    hint = _("Press twice to call for help.")
    armed_text = _("Press SOS again to call for help now.")
    try:
        if trig == HAZARD_BTN:
            if not (hazard or "").strip():
                return _("Say what is wrong first."), dash.no_update, dash.no_update, hint
            with connection() as conn:
                hid = hazards.from_patrol(conn, me, hazard or "")
            return _("Hazard {id} reported.").format(id=hid), stamp, dash.no_update, hint
        if trig == SOS_BTN:
            if armed != armed_text:
                return dash.no_update, dash.no_update, dash.no_update, armed_text
            with connection() as conn, conn.transaction():
                alarm_id = _engine().sos(conn, me, now)
            return (_("SOS sent (alarm {id}). Help is coming; stay where you are if you can.").format(id=alarm_id),
                    stamp, dash.no_update, hint)
        if trig in (SCAN_BTN, CODE):
            text = (code or "").strip()
            if not text or len(text) > 64:
                return _("Type the checkpoint's code first."), dash.no_update, dash.no_update, hint
            how = "qr" if method == "qr" else "typed"
            with connection() as conn, conn.transaction():
                result = _engine().record_scan(conn, Scan(at=now, tag=text, reader=None, card=None, guard=me,
                                                          method=how, source="phone"))
            if result.checkpoint is None:
                return (_("No checkpoint has the code {code}: recorded, but it counts for no tour.").format(code=text),
                        stamp, "", hint)
            if result.verdict is None:
                return _("Recorded: this checkpoint is on no tour now."), stamp, "", hint
            if result.verdict == "repeat":
                return _("Already recorded for this tour."), stamp, "", hint
            return (_("Recorded: {verdict}.").format(verdict=_(VISIT_LABELS.get(result.verdict, result.verdict))),
                    stamp, "", hint)
        assert isinstance(trig, dict)
        data = None
        if photo:
            try:
                data = base64.b64decode(photo.split(",", 1)[1], validate=True)
            except (ValueError, IndexError):
                return _("The photo could not be read."), dash.no_update, dash.no_update, hint
        with connection() as conn:
            D.step(conn, int(trig["id"]), me, str(trig["to"]), note, data)
        return _("Done: {step}.").format(step=_(DISPATCH_LABELS[trig["to"]])), stamp, dash.no_update, hint
    except ActionRefusedError as exc:
        return exc.render(_), stamp, dash.no_update, hint


# The camera: the browser's own QR reader (BarcodeDetector) where it has one; the code goes into the
# field as a QR scan and is recorded. Cameras need HTTPS (or localhost).
clientside_callback(
    "function(n) { return window.scGuard ? window.scGuard.camera(n) : window.dash_clientside.no_update; }",
    Output(METHOD, "data"),
    Input(CAMERA_BTN, "n_clicks"),
    prevent_initial_call=True,
)
