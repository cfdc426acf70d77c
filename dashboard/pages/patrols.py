"""Guard tours for officers: today's tours and how each went, the routes, an extra round now (加巡);
administrators edit a route (the site file's shape, checked as a site load checks it) or retire one.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import dash
import yaml
from dash import ALL, Input, Output, State, callback, ctx, dcc, html
from dash.exceptions import PreventUpdate
from flask import current_app
from pydantic import ValidationError

from dashboard import lang
from dashboard import queries as q
from dashboard.auth import allowed, current_user, refusal
from dashboard.console_layout import nav_links
from dashboard.db import connection
from dashboard.tourviews import tours_table
from ingest.core.i18n import N_, Translator
from ingest.core.patrols import Route
from ingest.db.registry import save_route
from ingest.patrol.engine import PatrolEngine

dash.register_page(__name__, path="/patrols", title="SafeCampus")

TOURS, ROUTES, MSG, PICK, TEXT, SAVE, RETIRE, TICK, DONE = (
    "patrols-tours", "patrols-routes", "patrols-msg", "patrols-pick", "patrols-text", "patrols-save",
    "patrols-retire", "patrols-tick", "patrols-done")
EXTRA = "patrols-extra"  # pattern id: {"type": EXTRA, "route": id}
NEW = "__new__"
TEMPLATE = """id: new-route
name: New route
name_zh: 新路线
ordered: true
schedule: {start: "22:00", end: "06:00", every_min: 120}
limit_min: 40
silent_after_min: 20
priority: medium
stops:
- {checkpoint: CHECKPOINT-ID, min: 0, max: 10}
"""


def frame(_: Translator = str, admin: bool = True) -> html.Div:
    """The page's components (also the validation layout); the route editor for administrators."""
    editor = []
    if admin:
        editor = [html.H2(_("Edit a route")),
                  dcc.Dropdown(id=PICK, options=[], placeholder=_("patrol route"), className="sc-filter"),
                  dcc.Textarea(id=TEXT, className="sc-route-text", spellCheck=False),
                  html.Div([html.Button(_("Save route"), id=SAVE, className="sc-primary"),
                            html.Button(_("Retire route"), id=RETIRE)], className="sc-actions"),
                  html.P(_("A route as the site file gives it (docs/patrols.md). A route from the site file is "
                           "written again at the next site load."), className="sc-guard-small")]
    else:
        editor = [dcc.Dropdown(id=PICK, style={"display": "none"}), dcc.Textarea(id=TEXT, style={"display": "none"}),
                  html.Button(id=SAVE, style={"display": "none"}), html.Button(id=RETIRE, style={"display": "none"})]
    return html.Div(
        [
            html.Header([html.H1(_("Guard tours")), html.Nav(nav_links(_), className="sc-nav")],
                        className="sc-console-header"),
            html.P([html.A(_("Report and CSV"), href="/reports/patrols")]),
            html.Div(id=MSG, className="sc-msg", role="status"),
            html.H2(_("Tours today")),
            html.Div(id=TOURS),
            html.H2(_("Patrol routes")),
            html.Div(id=ROUTES),
            *editor,
            dcc.Store(id=DONE),
            dcc.Interval(id=TICK, interval=30_000),
        ],
        className="sc-patrols",
    )


def layout(**_query: str) -> html.Div:
    """For logged-in viewers, officers and admins."""
    _ = lang.gettext()
    if not allowed("viewer"):
        return html.Div([html.H1(_("Guard tours")), html.P(_("Duty officers log in first.")),
                         html.A(_("Log in"), href="/login?next=/patrols")], className="sc-home")
    return frame(_, allowed("admin"))


def _schedule(r: dict[str, Any], _: Translator) -> str:
    s = r["schedule"]
    return _("every {n} min from {start} to {end}, limit {limit} min").format(
        n=s["every_min"], start=s["start"][:5], end=s["end"][:5], limit=r["limit_s"] // 60)


@callback(Output(TOURS, "children"), Output(ROUTES, "children"), Output(PICK, "options"),
          Input(TICK, "n_intervals"), Input(DONE, "data"))
def show(*_triggers: Any) -> tuple:
    """Today's tours and the routes."""
    if not allowed("viewer"):
        raise PreventUpdate
    _ = lang.gettext()
    now = datetime.now(UTC)
    with connection() as conn:
        tours = conn.execute(q.PATROL_TOURS_AROUND, {"since": now - timedelta(hours=14), "now": now}).fetchall()
        routes = conn.execute(q.PATROL_ROUTES).fetchall()
    items = []
    for r in routes:
        stops = " → ".join(lang.named(s) or s["checkpoint"] for s in r["stops"]) if r["ordered"] else \
            " · ".join(lang.named(s) or s["checkpoint"] for s in r["stops"])
        extra = (html.Button(_("Start an extra round now"), id={"type": EXTRA, "route": r["id"]}, n_clicks=0)
                 if allowed("officer") else "")
        items.append(html.Div([html.H3(lang.named(r)), html.P(_schedule(r, _)),
                               html.P((_("in this order") if r["ordered"] else _("in any order")) + ": " + stops,
                                      className="sc-guard-small"), extra],
                              className="sc-route", id=f"route-{r['id']}"))
    options = [{"label": lang.named(r), "value": r["id"]} for r in routes] + [{"label": _("new route"), "value": NEW}]
    return tours_table(tours, _), items or html.P(_("No routes.")), options


@callback(Output(TEXT, "value"), Input(PICK, "value"), prevent_initial_call=True)
def edit(route_id: str | None) -> str:
    """A route in the site file's shape, to edit."""
    if not allowed("admin") or not route_id:
        raise PreventUpdate
    if route_id == NEW:
        return TEMPLATE
    with connection() as conn:
        r = next((x for x in conn.execute(q.PATROL_ROUTES).fetchall() if x["id"] == route_id), None)
    if r is None:
        raise PreventUpdate
    data = {"id": r["id"], "name": r["name"], "name_zh": r["name_zh"], "ordered": r["ordered"],
            "schedule": r["schedule"], "limit_min": r["limit_s"] // 60, "silent_after_min": r["silent_after_s"] // 60,
            "priority": r["priority"],
            "stops": [{"checkpoint": s["checkpoint"], "min": s["min"], "max": s["max"]} for s in r["stops"]]}
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False, default_flow_style=None, width=100)


def _problems(exc: ValidationError) -> str:
    return "; ".join(f"{'.'.join(str(x) for x in e['loc'])}: {e['msg']}".lstrip(": ") for e in exc.errors()[:4])


@callback(Output(MSG, "children"), Output(DONE, "data"),
          Input(SAVE, "n_clicks"), Input(RETIRE, "n_clicks"), Input({"type": EXTRA, "route": ALL}, "n_clicks"),
          State(TEXT, "value"), State(PICK, "value"), prevent_initial_call=True)
def act(_save: Any, _retire: Any, _extra: Any, text: str | None, picked: str | None) -> tuple:
    """Save or retire a route (admins), or start an extra round (officers); checked here."""
    trig = ctx.triggered_id
    if trig is None or (isinstance(trig, dict) and not ctx.triggered[0]["value"]):
        raise PreventUpdate
    _ = lang.gettext()
    stamp = {"at": datetime.now(UTC).isoformat()}
    if isinstance(trig, dict):
        denied = refusal("officer", N_("start extra rounds"), _)
        if denied:
            return denied, dash.no_update
        engine: PatrolEngine = current_app.extensions["safecampus_patrols"]
        with connection() as conn, conn.transaction():
            made = engine.extra_tour(conn, str(trig["route"]), datetime.now(UTC).replace(microsecond=0))
        return (_("Extra round started: a guard scans its first checkpoint now.") if made
                else _("That route has no checkpoints or is retired.")), stamp
    denied = refusal("admin", N_("edit patrol routes"), _)
    if denied:
        return denied, dash.no_update
    user = current_user()["username"]  # type: ignore[index]
    if trig == RETIRE:
        if not picked or picked == NEW:
            return _("Choose a route first."), dash.no_update
        with connection() as conn:
            conn.execute(q.RETIRE_ROUTE, {"id": picked, "by": user})
        return _("Route {id} retired: no more tours are planned for it.").format(id=picked), stamp
    try:
        data = yaml.safe_load(text or "")
        route = Route.model_validate(data)
    except yaml.YAMLError:
        return _("The route is not valid YAML."), dash.no_update
    except ValidationError as exc:
        return _("The route is not valid: {problems}").format(problems=_problems(exc)), dash.no_update
    with connection() as conn:
        known = {r["id"] for r in conn.execute(q.CHECKPOINT_IDS)}
        unknown = [s.checkpoint for s in route.stops if s.checkpoint not in known]
        if unknown:
            return _("Not checkpoints of this site: {ids}").format(ids=", ".join(unknown)), dash.no_update
        with conn.transaction(), conn.cursor() as cur:
            save_route(cur, route, "admin", user)
    return _("Route {id} saved; tours from now on follow it.").format(id=route.id), stamp
