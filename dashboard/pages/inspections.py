"""Inspections on a phone or the console: each plan's state (done, due, overdue), its checklist to tick
with notes, where (building and floor), and the sign-off by the inspected department's head (their
own login, or their password on this phone: 公安部令61号 art. 26). Failed items become hazards.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Any

import dash
from dash import ALL, Input, Output, State, callback, ctx, dcc, html
from dash.exceptions import PreventUpdate

from dashboard import floormap, lang
from dashboard import queries as q
from dashboard.auth import TooManyAttemptsError, check_password, current_user
from dashboard.console_layout import nav_links
from dashboard.db import connection
from dashboard.safetyviews import plan_states
from ingest.alarms.actions import ActionRefusedError
from ingest.core import clock
from ingest.core.i18n import N_, Translator
from ingest.safety import inspections
from ingest.safety import queries as sq

dash.register_page(__name__, path="/inspections", title="SafeCampus")

PLANS, FORM, MSG, PLAN, DONE, BUILDING, FLOOR, OVERALL, SUBMIT, SIGN_LIST, HEAD, HEAD_PW, LAST, TICK = (
    "insp-plans", "insp-form", "insp-msg", "insp-plan", "insp-done", "insp-building", "insp-floor", "insp-overall",
    "insp-submit", "insp-sign-list", "insp-head", "insp-head-pw", "insp-last", "insp-tick")
START, ITEM, ITEM_NOTE, SIGN, SIGN_ME = "insp-start", "insp-item", "insp-item-note", "insp-sign", "insp-sign-me"
FORM_BOX, PLAN_VIEW, XY, PHOTO = "insp-form-box", "insp-plan-view", "insp-xy", "insp-photo"
STATE_LABELS = {"done": N_("done"), "due": N_("due"), "overdue": N_("overdue")}
FREQUENCY_LABELS = {"daily": N_("daily"), "weekly": N_("weekly"), "monthly": N_("monthly"),
                    "quarterly": N_("quarterly"), "yearly": N_("yearly")}


def _user() -> dict[str, Any] | None:
    user = current_user()
    return user if user and user.get("role") != "kiosk" else None


def frame(_: Translator = str) -> html.Div:
    """The page's components (also the validation layout)."""
    return html.Div([
        html.Header([html.H1(_("Inspections")), html.Nav(nav_links(_), className="sc-nav")],
                    className="sc-console-header"),
        html.Div(id=MSG, className="sc-guard-msg", role="status"),
        html.Section(id=PLANS, className="sc-guard-card"),
        html.Section([
            html.Div(id=FORM),
            html.Div([dcc.Dropdown(id=BUILDING, options=[], placeholder=_("building"), className="sc-filter"),
                      dcc.Input(id=FLOOR, type="number", min=1, max=100, placeholder=_("floor"), className="sc-num")],
                     className="sc-guard-row"),
            html.Div(id=PLAN_VIEW, className="sc-insp-plan"),
            dcc.Textarea(id=OVERALL, placeholder=_("note"), className="sc-guard-note"),
            dcc.Upload(html.Button(_("Add a photo"), className="sc-guard-btn wide"), id=PHOTO,
                       accept="image/jpeg,image/png", max_size=3 * 1024 * 1024),
            html.Button(_("Submit the inspection"), id=SUBMIT, className="sc-guard-btn wide"),
        ], id=FORM_BOX, className="sc-guard-card", style={"display": "none"}),
        html.Section([
            html.H2(_("Sign-off by the inspected department's head")),
            html.Div(id=SIGN_LIST),
            html.P(_("Or the head signs here with their password:"), className="sc-guard-small"),
            html.Div([dcc.Input(id=HEAD, placeholder=_("department head"), className="sc-guard-code"),
                      dcc.Input(id=HEAD_PW, type="password", placeholder=_("their password"),
                                className="sc-guard-code"),
                      html.Button(_("Sign the last inspection"), id=SIGN, className="sc-guard-btn")],
                     className="sc-guard-row"),
        ], className="sc-guard-card"),
        dcc.Store(id=PLAN), dcc.Store(id=DONE), dcc.Store(id=LAST), dcc.Store(id=XY),
        dcc.Interval(id=TICK, interval=60_000),
    ], className="sc-guard sc-inspections")


def layout(**_query: str) -> html.Div:
    """For anyone logged in (inspectors are officers, guards or department staff)."""
    _ = lang.gettext()
    if _user() is None:
        return html.Div([html.H1(_("Inspections")), html.A(_("Log in"), href="/login?next=/inspections")],
                        className="sc-home")
    return frame(_)


@callback(Output(PLANS, "children"), Output(SIGN_LIST, "children"), Input(DONE, "data"), Input(TICK, "n_intervals"))
def show(*_triggers: Any) -> tuple:
    """The plans, overdue first, and the inspections waiting for a signature."""
    user = _user()
    if user is None:
        raise PreventUpdate
    _ = lang.gettext()
    now = datetime.now(UTC)
    with connection() as conn:
        plans = conn.execute(q.SAFETY_PLANS).fetchall()
        unsigned = conn.execute(q.INSPECTIONS_TO_SIGN).fetchall()
        me = conn.execute(q.SESSION_USER, {"u": user["username"]}).fetchone()
    states = sorted(plan_states(plans, now, clock.campus_zone().key),
                    key=lambda ps: (("overdue", "due", "done").index(ps[1].state), ps[0]["name"]))
    rows = [html.H2(_("What to inspect"))]
    for p, st in states:
        when = (_("by {time}").format(time=clock.fmt(st.period_end, "%m-%d")) if st.state == "due" else
                _("overdue since {time}").format(time=clock.fmt(st.overdue_since, "%m-%d")) if st.state == "overdue"
                else "")
        rows.append(html.Div([
            html.Div([html.Strong(lang.named(p)), html.Span(f" · {_(FREQUENCY_LABELS[p['frequency']])}")]),
            html.Div(f"{lang.named(p, 'department')} · {when or _(STATE_LABELS[st.state])}",
                     className=f"sc-guard-small sc-insp-{st.state}"),
            html.Button(_("Inspect"), id={"type": START, "plan": p["id"]}, n_clicks=0, className="sc-guard-btn"),
        ], className="sc-guard-dispatch" + (" done" if st.state == "done" else ""), id=f"plan-{p['id']}"))
    mine = [i for i in unsigned if me and me.get("department_head") and me.get("department_id") == i["department_id"]]
    sign = [html.Div([html.Span(f"#{i['id']} {lang.named(i)} · {i['inspector']} · "
                                f"{clock.fmt(i['inspected_at'], '%m-%d %H:%M')} "),
                      html.Button(_("Sign as head of the department"), id={"type": SIGN_ME, "id": i["id"]},
                                  n_clicks=0, className="sc-guard-btn")], className="sc-guard-row")
            for i in mine] or [html.P(_("Nothing for you to sign."), className="sc-guard-small")]
    return rows, sign


@callback(Output(PLAN, "data"), Input({"type": START, "plan": ALL}, "n_clicks"), prevent_initial_call=True)
def start(_clicks: Any) -> str:
    """Open a plan's checklist."""
    if not isinstance(ctx.triggered_id, dict) or not ctx.triggered[0]["value"]:
        raise PreventUpdate
    return str(ctx.triggered_id["plan"])


@callback(Output(FORM, "children"), Output(FORM_BOX, "style"), Output(BUILDING, "options"), Output(BUILDING, "value"),
          Input(PLAN, "data"))
def form(plan_id: str | None) -> tuple:
    """The checklist: each item passed or failed (a failed one needs a note); where, a note, submit."""
    if _user() is None or not plan_id:
        raise PreventUpdate
    _ = lang.gettext()
    language = lang.current()
    with connection() as conn:
        plan = conn.execute(sq.PLAN, {"id": plan_id}).fetchone()
        buildings = conn.execute(q.FILTER_CHOICES).fetchall()
    if plan is None:
        return html.P(_("No such plan.")), {}, [], None
    items = [html.Div([
        html.Div(i["text"].get(language) or i["text"]["en"], className="sc-insp-item"),
        dcc.RadioItems(id={"type": ITEM, "item": i["id"]}, options=[{"label": " " + _("passed"), "value": "ok"},
                                                                      {"label": " " + _("failed"), "value": "fail"}],
                       inline=True, className="sc-insp-radio", inputStyle={"width": "22px", "height": "22px"}),
        dcc.Input(id={"type": ITEM_NOTE, "item": i["id"]}, placeholder=_("what is wrong (if failed)"),
                  className="sc-guard-code"),
    ], className="sc-insp-row") for i in plan["items"]]
    where = [{"label": lang.named(b), "value": b["id"]} for b in buildings if b["what"] == "building"]
    return [html.H2(lang.named(plan)), *items], {}, where, plan["building_id"]


@callback(Output(PLAN_VIEW, "children"), Input(BUILDING, "value"), Input(FLOOR, "value"))
def plan_view(building: str | None, floor: Any) -> Any:
    """The chosen floor's plan: tap where the inspection was (``assets/inspect.js`` keeps the point)."""
    _ = lang.gettext()
    if _user() is None or not building or floor in (None, ""):
        return []
    try:
        level = int(floor) - 1
    except (TypeError, ValueError):
        return []
    with connection() as conn:
        plan = conn.execute(q.MAP_PLAN, {"building": building, "floor": level}).fetchone()
    if plan is None:
        return html.P(_("This floor has no plan."), className="sc-guard-small")
    return [html.P(_("Tap the plan where you are."), className="sc-guard-small"),
            floormap.floor(plan, [], _, links=False, ident="insp-floorplan")]


@callback(Output(MSG, "children"), Output(DONE, "data"), Output(LAST, "data"),
          Input(SUBMIT, "n_clicks"), Input(SIGN, "n_clicks"), Input({"type": SIGN_ME, "id": ALL}, "n_clicks"),
          State(PLAN, "data"), State({"type": ITEM, "item": ALL}, "value"), State({"type": ITEM, "item": ALL}, "id"),
          State({"type": ITEM_NOTE, "item": ALL}, "value"), State(BUILDING, "value"), State(FLOOR, "value"),
          State(OVERALL, "value"), State(LAST, "data"), State(HEAD, "value"), State(HEAD_PW, "value"),
          State(XY, "data"), State(PHOTO, "contents"), prevent_initial_call=True)
def act(_submit: Any, _sign: Any, _sign_me: Any, plan_id: str | None, ticks: list, ids: list, notes: list,
        building: str | None, floor: Any, overall: str | None, last: int | None, head: str | None,
        head_pw: str | None, xy: list | None, photo: str | None) -> tuple:
    """Submit the checklist, or sign: the head with their own login, or with their password here."""
    _ = lang.gettext()
    user = _user()
    trig = ctx.triggered_id
    if trig is None or (isinstance(trig, dict) and not ctx.triggered[0]["value"]):
        raise PreventUpdate
    if user is None:
        return _("Log in first."), dash.no_update, dash.no_update
    stamp = {"at": datetime.now(UTC).isoformat()}
    try:
        with connection() as conn:
            if trig == SUBMIT:
                if not plan_id:
                    raise PreventUpdate
                results = {i["item"]: {"ok": None if t is None else t == "ok", "note": n}
                           for i, t, n in zip(ids, ticks, notes, strict=True)}
                try:
                    level = int(floor) - 1 if floor not in (None, "") else None
                except (TypeError, ValueError):
                    return _("The floor must be a number."), dash.no_update, dash.no_update
                point = xy if isinstance(xy, list) and len(xy) == 2 and level is not None else [None, None]
                try:
                    data = base64.b64decode(photo.split(",", 1)[1], validate=True) if photo else None
                except (ValueError, IndexError):
                    return _("The photo could not be read."), dash.no_update, dash.no_update
                inspection, opened = inspections.submit(conn, plan_id, user["username"], results, overall, building,
                                                        level, point[0], point[1], data)
                text = _("Inspection {id} submitted; the department's head signs it.").format(id=inspection)
                if opened:
                    text += " " + _("{n} hazards opened for the failed items.").format(n=len(opened))
                return text, stamp, inspection
            if trig == SIGN:
                if not last:
                    return _("Submit an inspection first."), dash.no_update, dash.no_update
                name = (head or "").strip()
                try:
                    ok = check_password(name, head_pw or "") if name else None
                except TooManyAttemptsError as exc:
                    return exc.render(_), dash.no_update, dash.no_update
                if not ok:
                    return _("Wrong user or password."), dash.no_update, dash.no_update
                inspections.sign(conn, last, name)
                return _("Inspection {id} signed by {who}.").format(id=last, who=name), stamp, dash.no_update
            assert isinstance(trig, dict)
            inspections.sign(conn, int(trig["id"]), user["username"])
            return _("Inspection {id} signed by {who}.").format(id=trig["id"], who=user["username"]), stamp, \
                dash.no_update
    except ActionRefusedError as exc:
        return exc.render(_), stamp, dash.no_update
