"""Safety by department, and walk tests: per department the inspections overdue, detectors not tested
within a year and hazards past their deadline; officers put a zone, a floor or some devices into
test for a while (``ingest.alarms.walktest``) and follow each device's result.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import dash
from dash import ALL, Input, Output, State, callback, ctx, dcc, html
from dash.exceptions import PreventUpdate

from dashboard import lang
from dashboard import queries as q
from dashboard.auth import allowed, current_user, refusal
from dashboard.console_layout import nav_links
from dashboard.db import connection
from dashboard.safetyviews import plan_states
from ingest.alarms import walktest
from ingest.alarms.actions import ActionRefusedError
from ingest.core import clock
from ingest.core.i18n import N_, Translator

dash.register_page(__name__, path="/safety", title="SafeCampus")

DEPS, TESTS, MSG, ZONE, BUILDING, FLOOR, DEVICES, MINUTES, REASON, START, DONE, TICK = (
    "safety-departments", "safety-tests", "safety-msg", "safety-zone", "safety-building", "safety-floor",
    "safety-devices", "safety-minutes", "safety-reason", "safety-start", "safety-done", "safety-tick")
END = "safety-end"  # pattern id: {"type": END, "id": session}


def frame(_: Translator = str) -> html.Div:
    """The page's components (also the validation layout)."""
    return html.Div([
        html.Header([html.H1(_("Safety by department")), html.Nav(nav_links(_), className="sc-nav")],
                    className="sc-console-header"),
        html.P([html.A(_("Inspections"), href="/inspections"), " · ", html.A(_("Hazards"), href="/hazards")]),
        html.Div(id=MSG, className="sc-msg", role="status"),
        html.Div(id=DEPS),
        html.H2(_("Walk tests")),
        html.P(_("Devices in a walk test raise test alarms: shown as tests, never escalated or notified, left out of "
                 "every statistic. The test ends by itself; a device still signalling then is a real alarm."),
               className="sc-guard-small"),
        html.Div([dcc.Dropdown(id=ZONE, options=[], placeholder=_("zone"), className="sc-filter"),
                  dcc.Dropdown(id=BUILDING, options=[], placeholder=_("or a building"), className="sc-filter"),
                  dcc.Input(id=FLOOR, type="number", min=1, placeholder=_("floor"), className="sc-num"),
                  dcc.Input(id=DEVICES, placeholder=_("or device ids, comma separated"), className="sc-text")],
                 className="sc-actions"),
        html.Div([dcc.Input(id=MINUTES, type="number", min=walktest.MIN_MINUTES, max=walktest.MAX_MINUTES, value=60,
                            className="sc-num"), html.Span(_("minutes")),
                  dcc.Input(id=REASON, placeholder=_("reason (e.g. yearly detector test)"), className="sc-text"),
                  html.Button(_("Start the walk test"), id=START, className="sc-primary")], className="sc-actions"),
        html.Div(id=TESTS),
        dcc.Store(id=DONE), dcc.Interval(id=TICK, interval=10_000),
    ], className="sc-console sc-patrols")


def layout(**_query: str) -> html.Div:
    """For logged-in viewers, officers and admins."""
    _ = lang.gettext()
    if not allowed("viewer"):
        return html.Div([html.H1(_("Safety by department")), html.A(_("Log in"), href="/login?next=/safety")],
                        className="sc-home")
    return frame(_)


@callback(Output(DEPS, "children"), Output(TESTS, "children"), Output(ZONE, "options"), Output(BUILDING, "options"),
          Input(DONE, "data"), Input(TICK, "n_intervals"))
def show(*_triggers: Any) -> tuple:
    """The departments' table and the walk tests of the last week."""
    if not allowed("viewer"):
        raise PreventUpdate
    _ = lang.gettext()
    now = datetime.now(UTC)
    with connection() as conn:
        deps = conn.execute(q.DEPARTMENT_SAFETY).fetchall()
        plans = conn.execute(q.SAFETY_PLANS).fetchall()
        sessions = conn.execute(q.TEST_SESSIONS).fetchall()
        zones = [r["zone"] for r in conn.execute(q.ZONES)]
        buildings = [b for b in conn.execute(q.FILTER_CHOICES).fetchall() if b["what"] == "building"]
    overdue: dict[str, int] = {}
    for p, st in plan_states(plans, now, clock.campus_zone().key):
        if st.state == "overdue":
            overdue[p["department_id"]] = overdue.get(p["department_id"], 0) + 1
    head = html.Tr([html.Th(x) for x in (_("department"), _("responsibility letter"),
                                          _("days without a real incident"), _("inspections overdue"),
                                          _("hazards open"), _("hazards past their deadline"),
                                          _("detectors not tested within a year"))])
    rows = [html.Tr([html.Td(lang.named(d)), _letter(d.get("letter"), now, _),
                     html.Td(str((now - d["last_real"]).days) if d["last_real"] else _("none on record")),
                     html.Td(overdue.get(d["id"], 0) or "", className="sc-tour-missed" if overdue.get(d["id"]) else ""),
                     html.Td(d["open_hazards"] or ""),
                     html.Td(d["overdue_hazards"] or "", className="sc-tour-missed" if d["overdue_hazards"] else ""),
                     html.Td(f"{d['untested_detectors']} / {d['detectors']}" if d["detectors"] else "")],
                    id=f"safety-dep-{d['id']}") for d in deps]
    table = html.Div(html.Table([head, *rows], className="sc-table sc-tours"), className="sc-scroll-x")
    tests = []
    for s in sessions:
        live = s["ended_at"] is None
        state = (_("under way until {time}").format(time=clock.fmt(s["ends_at"], "%H:%M")) if live
                 else _("ended {time} ({who})").format(time=clock.fmt(s["ended_at"], "%m-%d %H:%M"), who=s["ended_by"]))
        facts = _("{ok} of {n} devices signalled").format(ok=s["signalled"], n=s["devices"])
        waiting = ", ".join(s["waiting"][:12]) + (" …" if len(s["waiting"]) > 12 else "")
        tests.append(html.Div([
            html.Strong(f"#{s['id']} {s['reason']}"), html.Span(f" · {s['started_by']} · {state}"),
            html.Div(facts, className="sc-guard-small"),
            html.Div((_("not signalled yet: {ids}") if live else _("not signalled: {ids}")).format(ids=waiting)
                     if s["waiting"] else "", className="sc-guard-small"),
            html.Button(_("End the test now"), id={"type": END, "id": s["id"]}, n_clicks=0) if live else "",
        ], className="sc-route", id=f"walk-test-{s['id']}"))
    return (table, tests or html.P(_("No walk test this week."), className="sc-guard-small"),
            [{"label": z, "value": z} for z in zones], [{"label": lang.named(b), "value": b["id"]} for b in buildings])


def _letter(letter: dict[str, Any] | None, now: datetime, _: Translator) -> html.Td:
    """A department's responsibility letter: its title, who signed it and when; missing or lapsed in red."""
    if not letter:
        return html.Td(_("none"), className="sc-tour-missed")
    title = letter.get("title_zh") if lang.current() == "zh-CN" and letter.get("title_zh") else letter["title"]
    text = _("{title}, signed by {who} on {day}").format(title=title, who=letter["signed_by"], day=letter["signed"])
    lapsed = bool(letter.get("valid_until")) and str(letter["valid_until"]) < clock.local(now).date().isoformat()
    return html.Td(text + (" · " + _("lapsed") if lapsed else ""), className="sc-tour-missed" if lapsed else "")


@callback(Output(MSG, "children"), Output(DONE, "data"),
          Input(START, "n_clicks"), Input({"type": END, "id": ALL}, "n_clicks"),
          State(ZONE, "value"), State(BUILDING, "value"), State(FLOOR, "value"), State(DEVICES, "value"),
          State(MINUTES, "value"), State(REASON, "value"), prevent_initial_call=True)
def act(_start: Any, _end: Any, zone: str | None, building: str | None, floor: Any, devices: str | None,
        minutes: Any, reason: str | None) -> tuple:
    """Start a walk test or end one (officers, checked here)."""
    trig = ctx.triggered_id
    if trig is None or (isinstance(trig, dict) and not ctx.triggered[0]["value"]):
        raise PreventUpdate
    _ = lang.gettext()
    denied = refusal("officer", N_("run walk tests"), _)
    if denied:
        return denied, dash.no_update
    user = current_user()["username"]  # type: ignore[index]
    stamp = {"at": datetime.now(UTC).isoformat()}
    try:
        with connection() as conn:
            if isinstance(trig, dict):
                walktest.end(conn, int(trig["id"]), user)
                return _("Walk test {id} ended.").format(id=trig["id"]), stamp
            try:
                length = float(minutes)
                level = int(floor) - 1 if floor not in (None, "") else None
            except (TypeError, ValueError):
                return _("Minutes and floor must be numbers."), dash.no_update
            if zone:
                scope: dict[str, Any] = {"zone": zone}
            elif building and level is not None:
                scope = {"building": building, "floor": level}
            elif devices and devices.strip():
                scope = {"sensors": [d.strip() for d in devices.split(",") if d.strip()][:walktest.MAX_DEVICES]}
            else:
                return _("Choose a zone, a building and floor, or devices."), dash.no_update
            session = walktest.start(conn, scope, length, reason or "", user)
            return _("Walk test {id} started.").format(id=session), stamp
    except ActionRefusedError as exc:
        return exc.render(_), stamp
