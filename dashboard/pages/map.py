"""The map: campus → building → floor, every placed device in its state, live by the alarm push.

``/map``, ``/map?building=labs``, ``/map?building=labs&floor=1``. A device links to its open
alarm (the console) or, when it has none, to its sensor. A push re-reads the floor and sends
only the devices' states (applied in the browser by ``assets/floor.js``) while the floor, its plan
and its devices stay the same.
"""

from __future__ import annotations

import time
from typing import Any

import dash
from dash import ClientsideFunction, Input, Output, State, callback, clientside_callback, ctx, dcc, html
from dash.exceptions import PreventUpdate

from dashboard import floormap, lang
from dashboard import queries as q
from dashboard.auth import allowed
from dashboard.console_layout import nav_links
from dashboard.db import connection
from dashboard.ids import LIVE_SIGNAL
from ingest.core.i18n import Translator
from ingest.core.vocabulary import DEVICE_STATE_LABELS, DEVICE_STATES

dash.register_page(__name__, path="/map", title="SafeCampus")

WHERE, CRUMBS, VIEW, SIDE, SHOWN, TICK = "map-where", "map-crumbs", "map-view", "map-side", "map-shown", "map-tick"
STATES, APPLIED = "map-states", "map-states-applied"


def layout(building: str | None = None, floor: str | None = None, **_query: str) -> html.Div:
    """The map for logged-in users."""
    _ = lang.gettext()
    if not allowed("viewer"):
        return html.Div([html.H1(_("SafeCampus map")), html.A(_("Log in"), href="/login?next=/map")],
                        className="sc-home")
    return frame(_, floormap.where_of(building, floor))


def frame(_: Translator = str, where: dict[str, Any] | None = None) -> html.Div:
    """Every component of the map page (its callback fills them)."""
    return html.Div(
        [
            html.Header([html.H1(_("Map")), html.Nav(nav_links(_), className="sc-nav")], className="sc-console-header"),
            html.Nav(id=CRUMBS, className="sc-crumbs"),
            html.Div([html.Div(id=VIEW, className="sc-map-view"), html.Aside(id=SIDE, className="sc-map-side")],
                     className="sc-map-body"),
            dcc.Store(id=WHERE, data=where or {"building": None, "floor": None}),
            dcc.Store(id=SHOWN),
            dcc.Store(id=STATES),
            dcc.Store(id=APPLIED),
            dcc.Interval(id=TICK, interval=30_000),
        ],
        className="sc-map",
    )


def _crumbs(where: dict[str, Any], building: dict[str, Any] | None, floors: list[dict[str, Any]],
            _: Translator) -> list[Any]:
    items: list[Any] = [html.A(_("Campus"), href="/map", id="crumb-campus")]
    if building:
        items += [" › ", html.A(lang.named(building), href=f"/map?building={building['id']}", id="crumb-building")]
    if where["floor"] is not None:
        items += [" › ", html.Span(floormap.floor_name(where["floor"], _), className="sc-crumb-here")]
        items.append(html.Span([html.A(floormap.floor_name(f["floor"], _), href=f"/map?building={where['building']}"
                                       f"&floor={f['floor']}", className="sc-floor-link" +
                                       (" sc-here" if f["floor"] == where["floor"] else ""))
                                for f in reversed(floors)], className="sc-floor-links"))
    return items


def _floors(building: dict[str, Any], floors: list[dict[str, Any]], _: Translator) -> html.Div:
    """A building's floors, top first, each in its worst state, with its counts."""
    rows = []
    for f in floors:
        state = f["worst"] or "normal"
        facts = [_("{n} devices").format(n=f["devices"])]
        if f["alarms"]:
            facts.append(_("{n} in alarm").format(n=f["alarms"]))
        if not f["plan"]:
            facts.append(_("no plan"))
        rows.append(html.A(
            [html.Span(floormap.floor_name(f["floor"], _), className="sc-floor-row-name"),
             html.Span(_(DEVICE_STATE_LABELS[state]), className="sc-floor-row-state"),
             html.Span(" · ".join(facts), className="sc-floor-row-facts")],
            href=f"/map?building={building['id']}&floor={f['floor']}", id=f"floor-{f['floor']}",
            className=f"sc-floor-row sc-dev-{state}" + (" sc-bldg-unacked" if f["unacked"] else "")))
    return html.Div(rows, className="sc-floor-stack")


def _buildings_in_alarm(buildings: list[dict[str, Any]], _: Translator) -> html.Div:
    """The buildings with open alarms, the most serious first, each with its counts."""
    order = {s: i for i, s in enumerate(DEVICE_STATES)}
    rows = sorted((b for b in buildings if b["alarms"]), key=lambda b: (order[b["worst"]], -b["alarms"]))
    items = [html.A([html.Span(className=f"sc-dev sc-dev-{b['worst']} sc-legend-dot"),
                     html.Span(lang.named(b) + " · " + _("{n} alarms, {u} unacknowledged").format(
                         n=b["alarms"], u=b["unacked"]))],
                    href=f"/map?building={b['id']}", className="sc-map-alarm") for b in rows]
    return html.Div([html.H3(_("Buildings in alarm")), *(items or [html.P(_("None."), className="sc-muted")])],
                    id="map-buildings-in-alarm")


def _device_list(devices: list[dict[str, Any]], _: Translator) -> html.Div:
    alarming = [d for d in devices if d.get("alarm_id")]
    items = [html.A([html.Span(className=f"sc-dev sc-dev-{floormap.device_state(d)} sc-legend-dot"),
                     html.Span(lang.named(d) or d["id"])],
                    href=f"/console?alarm={d['alarm_id']}", className="sc-map-alarm") for d in alarming]
    unplaced = sum(1 for d in devices if d.get("x") is None)
    out: list[Any] = [html.H3(_("In alarm on this floor")), *(items or [html.P(_("None."), className="sc-muted")])]
    if unplaced:
        out.append(html.P(_("{n} devices of this floor are not placed on its plan.").format(n=unplaced),
                          className="sc-muted", id="map-unplaced"))
    return html.Div(out)


clientside_callback(ClientsideFunction("safecampus_floor", "markers"), Output(APPLIED, "data"),
                    Input(STATES, "data"))


@callback(
    Output(CRUMBS, "children"),
    Output(VIEW, "children"),
    Output(SIDE, "children"),
    Output(SHOWN, "data"),
    Output(STATES, "data"),
    Input(WHERE, "data"),
    Input(LIVE_SIGNAL, "data"),
    Input(TICK, "n_intervals"),
    State(SHOWN, "data"),
)
def refresh(where: dict[str, Any] | None, _signal: object, _n: int | None, shown: str | None) -> tuple:
    """Re-read the place shown; on a push to the same floor, send only the devices' states."""
    if not allowed("viewer") or not where:
        raise PreventUpdate
    _ = lang.gettext()
    legend = floormap.legend(_)
    with connection() as conn:
        buildings = conn.execute(q.MAP_BUILDINGS).fetchall()
        building = next((b for b in buildings if b["id"] == where["building"]), None)
        if building is None:
            side = [legend, _buildings_in_alarm(buildings, _)]
            if where["building"]:
                side.insert(1, html.P(_("Unknown building."), className="sc-bad"))
            return _crumbs(where, None, [], _), floormap.campus(buildings, _, links=True), side, "", None
        floors = conn.execute(q.MAP_FLOORS, {"building": building["id"]}).fetchall()
        if where["floor"] is None or where["floor"] >= building["floors"]:
            where = {**where, "floor": None}
            return (_crumbs(where, building, floors, _), _floors(building, floors, _),
                    [legend, floormap.campus(buildings, _, links=True, highlight=building["id"], ident="map-mini")], "",
                    None)
        args = {"building": building["id"], "floor": where["floor"]}
        plan = conn.execute(q.MAP_PLAN, args).fetchone()
        devices = conn.execute(q.MAP_DEVICES, args).fetchall()
        first_row = conn.execute(q.MAP_FIRST_FIRE).fetchone()
    crumbs, side = _crumbs(where, building, floors, _), [legend, _device_list(devices, _)]
    if plan is None:
        note = [html.P(_("This floor has no plan yet."), className="sc-calm-small", id="map-no-plan")]
        if allowed("admin"):
            note.append(html.A(_("Upload a plan and place its devices"),
                               href=f"/map/place?building={building['id']}&floor={where['floor']}"))
        return crumbs, html.Div(note), side, "", None
    first = first_row["sensor_id"] if first_row else None
    sig = floormap.signature(plan, devices)
    if allowed("admin"):
        side.append(html.A(_("Move devices on this plan"), href=f"/map/place?building={building['id']}"
                           f"&floor={where['floor']}", id="map-place-link"))
    states = {"v": time.time(), "s": floormap.marker_states(devices, _, first=first)}
    if sig == shown and ctx.triggered_id in (LIVE_SIGNAL, TICK):
        return crumbs, dash.no_update, side, sig, states
    return crumbs, floormap.floor(plan, devices, _, links=True, first=first), side, sig, states
