"""The sensor registry: status, last seen, battery; admins put sensors out of service."""

from __future__ import annotations

import dash
from dash import Input, Output, State, callback, ctx, dash_table, dcc, html
from dash.exceptions import PreventUpdate
from psycopg.types.json import Jsonb

from dashboard import lang
from dashboard import queries as q
from dashboard.auth import allowed, current_user, refusal
from dashboard.db import connection
from ingest.core import clock
from ingest.core.i18n import N_, Translator
from ingest.core.sitefile import adoption, site_file_lines
from ingest.core.vocabulary import LAB_METRICS, SENSOR_KIND_LABELS, UNPLACED_BUILDING

dash.register_page(__name__, path="/sensors", title="SafeCampus")

STATUS, SEARCH, TABLE = "sensors-status", "sensors-search", "sensors-table"
OOS_ID, OOS_REASON, OOS_BTN, BACK_BTN, MSG, DONE = (
    "sensors-oos-id",
    "sensors-oos-reason",
    "sensors-oos-btn",
    "sensors-back-btn",
    "sensors-msg",
    "sensors-done",
)
ADOPT_ID, ADOPT_ROOM, ADOPT_BTN, ADOPT_MSG, ADOPT_LINES = (
    "sensors-adopt-id", "sensors-adopt-room", "sensors-adopt-btn", "sensors-adopt-msg", "sensors-adopt-lines")
STATUSES = ("online", "offline", "unregistered", "out of service", "never seen")
STATUS_LABELS = {"online": N_("online"), "offline": N_("offline"), "unregistered": N_("unregistered"),
                 "out of service": N_("out of service"), "never seen": N_("never seen")}


def layout(q: str | None = None, **_query: str) -> html.Div:
    """The registry, for logged-in users; ``?q=`` searches (the map links a device here)."""
    _ = lang.gettext()
    if not allowed("viewer"):
        return html.Div(
            [html.H1(_("SafeCampus sensors")), html.A(_("Log in"), href="/login?next=/sensors")], className="sc-home"
        )
    return frame(_, (q or "")[:64])


def frame(_: Translator = str, search: str = "") -> html.Div:
    """Every component of the sensors page."""
    return html.Div(
        [
            html.Header(
                [html.H1(_("Sensors")), html.A(_("Console"), href="/console"), html.A(_("Trends"), href="/trends")],
                className="sc-console-header",
            ),
            html.Div(
                [
                    dcc.Dropdown(id=STATUS, options=[{"label": _(STATUS_LABELS[v]), "value": v} for v in STATUSES],
                                 placeholder=_("any status"), className="sc-filter"),
                    dcc.Input(id=SEARCH, value=search, placeholder=_("search id or building"), debounce=True,
                              className="sc-text"),
                ],
                className="sc-filters",
            ),
            dash_table.DataTable(
                id=TABLE,
                page_size=25,
                sort_action="native",
                columns=[
                    {"name": n, "id": i}
                    for n, i in (
                        (_("sensor"), "id"),
                        (_("kind"), "kind"),
                        (_("building"), "building"),
                        (_("room"), "room"),
                        (_("status"), "status"),
                        (_("source"), "source"),
                        (_("last seen"), "last_seen"),
                        (_("battery %"), "battery_pct"),
                        (_("out of service because"), "out_of_service_reason"),
                    )
                ],
                style_as_list_view=True,
                style_header={"backgroundColor": "#35383c", "color": "#9a9ea3", "border": "none"},
                style_cell={"backgroundColor": "#2b2d30", "color": "#d8dadc", "border": "none", "textAlign": "left"},
                style_data_conditional=[
                    {"if": {"filter_query": "{status_raw} = 'offline'", "column_id": "status"}, "color": "#fdd835"}
                ],
            ),
            html.H3(_("Out of service (admins)")),
            html.Div(
                [
                    dcc.Input(id=OOS_ID, placeholder=_("sensor id"), className="sc-text"),
                    dcc.Input(id=OOS_REASON, placeholder=_("reason"), className="sc-text"),
                    html.Button(_("Put out of service"), id=OOS_BTN),
                    html.Button(_("Return to service"), id=BACK_BTN),
                ],
                className="sc-actions",
            ),
            html.Div(id=MSG, className="sc-msg", role="status"),
            html.H3(_("Adopt a device (admins)")),
            html.P(_("A device that spoke before anyone placed it is listed as unregistered, with the "
                     "ecosystem it came from. Put it in its room; its alarms then say where it is."),
                   className="sc-hint"),
            html.Div(
                [
                    dcc.Input(id=ADOPT_ID, placeholder=_("sensor id"), className="sc-text"),
                    dcc.Dropdown(id=ADOPT_ROOM, placeholder=_("room"), className="sc-filter"),
                    html.Button(_("Adopt"), id=ADOPT_BTN),
                ],
                className="sc-actions",
            ),
            html.Div(id=ADOPT_MSG, className="sc-msg", role="status"),
            html.Pre(id=ADOPT_LINES, className="sc-lines"),
            dcc.Store(id=DONE),
        ],
        className="sc-console",
    )


@callback(Output(TABLE, "data"), Input(STATUS, "value"), Input(SEARCH, "value"), Input(DONE, "data"))
def load(status: str | None, search: str | None, _done: object) -> list[dict]:
    """The registry, worst status first."""
    if not allowed("viewer"):
        raise PreventUpdate
    _ = lang.gettext()
    with connection() as conn:
        rows = conn.execute(q.SENSORS, {"status": status, "search": (search or "").strip() or None}).fetchall()
    return [
        r
        | {
            "status_raw": r["status"],
            "building": _("not placed") if r["building"] == UNPLACED_BUILDING else lang.named(r, "building"),
            "room": lang.named(r, "room"),
            "status": _(STATUS_LABELS.get(r["status"], r["status"])),
            "kind": _(SENSOR_KIND_LABELS.get(r["kind"], r["kind"])),
            "last_seen": clock.fmt(r["last_seen"]),
            "battery_pct": round(r["battery_pct"]) if r["battery_pct"] is not None else "",
            "source": f"{r['adapter']}: {r['device']}" if r["adapter"] else "",  # a site-file source, or found
        }
        for r in rows
    ]


@callback(
    Output(MSG, "children"),
    Output(DONE, "data"),
    Input(OOS_BTN, "n_clicks"),
    Input(BACK_BTN, "n_clicks"),
    State(OOS_ID, "value"),
    State(OOS_REASON, "value"),
    prevent_initial_call=True,
)
def change(_oos: int | None, _back: int | None, sensor: str | None, reason: str | None) -> tuple:
    """Put a sensor out of service (with a reason) or back; admins only; logged in the duty log."""
    _ = lang.gettext()
    denied = refusal("admin", N_("change a sensor's service state"), _)
    if denied:
        return denied, dash.no_update
    sensor = (sensor or "").strip()
    if not sensor:
        return _("Give the sensor id."), dash.no_update
    out = ctx.triggered_id == OOS_BTN
    if out and not (reason or "").strip():
        return _("Say why it goes out of service."), dash.no_update
    user = current_user()["username"]  # type: ignore[index]
    with connection() as conn, conn.transaction():
        cur = conn.execute(
            q.SET_OUT_OF_SERVICE if out else q.SET_IN_SERVICE, {"id": sensor, "reason": (reason or "").strip()}
        )
        if cur.rowcount == 0:
            told = (_("No change: {sensor} is unknown, retired, or already out of service.") if out
                    else _("No change: {sensor} is unknown, retired, or already in service."))
            return told.format(sensor=sensor), dash.no_update
        note = f"{sensor} {'out of service: ' + reason.strip() if out else 'back in service'}"  # type: ignore[union-attr]
        conn.execute(
            q.DUTY_LOG_ADD,
            {
                "author": user,
                "kind": "equipment",
                "note": note,
                "details": Jsonb({"sensor": sensor, "out_of_service": out, "reason": (reason or "").strip()}),
            },
        )
    done = (_("Done: {sensor} out of service: {reason}.").format(sensor=sensor, reason=(reason or "").strip()) if out
            else _("Done: {sensor} back in service.").format(sensor=sensor))
    return done, {"sensor": sensor, "out": out}


@callback(Output(ADOPT_ROOM, "options"), Input(DONE, "data"))
def rooms(_done: object) -> list[dict]:
    """Every room, as '<building> / <room>'."""
    if not allowed("admin"):
        return []
    with connection() as conn:
        rows = conn.execute(q.ROOM_CHOICES).fetchall()
    return [{"label": f"{lang.named(r, 'building')} / {lang.named(r)} ({r['id']})", "value": r["id"]} for r in rows]


@callback(
    Output(ADOPT_MSG, "children"),
    Output(ADOPT_LINES, "children"),
    Output(DONE, "data", allow_duplicate=True),
    Input(ADOPT_BTN, "n_clicks"),
    State(ADOPT_ID, "value"),
    State(ADOPT_ROOM, "value"),
    prevent_initial_call=True,
)
def adopt(_n: int | None, sensor: str | None, room: str | None) -> tuple:
    """Register an unregistered device in a room; admins only; logged in the duty log."""
    _ = lang.gettext()
    denied = refusal("admin", N_("adopt a device"), _)
    if denied:
        return denied, "", dash.no_update
    sensor = (sensor or "").strip()
    if not sensor or not room:
        return _("Give the sensor id and its room."), "", dash.no_update
    user = current_user()["username"]  # type: ignore[index]
    with connection() as conn, conn.transaction():
        found = conn.execute(q.SENSOR_KIND_SOURCE, {"id": sensor}).fetchone()
        if found is None:
            return _("No change: {sensor} is unknown, retired or already registered.").format(sensor=sensor), "", \
                dash.no_update
        metrics = [r["metric"] for r in conn.execute(q.SENSOR_METRICS_SEEN, {"id": sensor})
                   if r["metric"] in LAB_METRICS]
        interval, thresholds = adoption(found["kind"], found["source"], metrics)
        row = conn.execute(q.ADOPT_SENSOR, {"id": sensor, "room": room, "name": None, "interval_s": interval,
                                            "thresholds": Jsonb(thresholds)}).fetchone()
        if row is None:
            return _("No change: {sensor} is unknown, retired or already registered.").format(sensor=sensor), "", \
                dash.no_update
        conn.execute(q.DUTY_LOG_ADD, {
            "author": user, "kind": "equipment", "note": f"{sensor} adopted into {room}",
            "details": Jsonb({"sensor": sensor, "adopted": True, "room": room, "source": row["source"]}),
        })
    lines = site_file_lines(sensor, row["kind"], row["source"], metrics)
    told = _("Done: {sensor} is in {room}. Add these lines to that room's sensors in the site file, "
             "or the next site load retires it:").format(sensor=sensor, room=room)
    return told, lines, {"sensor": sensor, "adopted": room}
