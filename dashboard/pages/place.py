"""The placement tool (administrators): upload a floor's plan, drag its devices onto it, save.

``/map/place?building=labs&floor=1``. Dragging is done in the browser (``assets/place.js``):
each drop sets ``place-move``; the server keeps the unsaved moves in ``place-pending`` and draws
them; Save checks every position (on the plan, not on another device's spot) and writes them in
one transaction with a duty-log entry. Every change is checked for the role on the server.
The positions go back into a site file with the export (``/map/layout.zip``).
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

import dash
from dash import Input, Output, State, callback, ctx, dcc, html
from dash.exceptions import PreventUpdate
from psycopg.types.json import Jsonb

from dashboard import floormap, lang
from dashboard import queries as q
from dashboard.auth import allowed, current_user, refusal
from dashboard.db import connection
from ingest.core.floorplan import PlanError, read_plan
from ingest.core.i18n import N_, Translator
from ingest.core.layout import Position, position_problems
from ingest.db import queries as dbq

dash.register_page(__name__, path="/map/place", title="SafeCampus")

WHERE, EDITOR, TRAY, MOVE, PENDING, SAVE, DISCARD, UPLOAD, MSG, DONE = (
    "place-where", "place-editor", "place-tray", "place-move", "place-pending", "place-save", "place-discard",
    "place-upload", "place-msg", "place-done")


def _known(conn: Any, where: dict[str, Any]) -> bool:
    """True when ``where`` names a floor of a building in service (a store's data comes from the browser)."""
    if not where or not where.get("building") or where.get("floor") is None:
        return False
    return any(f["floor"] == where["floor"] for f in conn.execute(q.MAP_FLOORS, {"building": where["building"]}))


def layout(building: str | None = None, floor: str | None = None, **_query: str) -> html.Div:
    """The tool for administrators; anyone else is told who may use it."""
    _ = lang.gettext()
    where = floormap.where_of(building, floor)
    known = False
    if allowed("admin"):
        with connection() as conn:
            known = _known(conn, where)
    if not known:
        why = (_("Only administrators place devices.") if not allowed("admin") else _("Unknown building or floor.")
               if allowed("viewer") else _("Log in first."))
        return html.Div([html.H1(_("Place devices")), html.P(why, id="place-refused"),
                         html.A(_("Map"), href="/map")], className="sc-home")
    return frame(_, where)


def frame(_: Translator = str, where: dict[str, Any] | None = None) -> html.Div:
    """Every component of the placement tool."""
    where = where or {"building": None, "floor": None}
    back = f"/map?building={where['building']}&floor={where['floor']}" if where["building"] else "/map"
    return html.Div(
        [
            html.Header([html.H1(_("Place devices")), html.A(_("Back to the map"), href=back),
                         html.A(_("Export plans and positions (site file)"), href="/map/layout.zip",
                                id="place-export")], className="sc-console-header"),
            html.P(_("Drag a device to where it is; drag one from the list below onto the plan to place it. "
                     "Nothing is stored until you save."), className="sc-hint"),
            html.Div([html.Button(_("Save positions"), id=SAVE, className="sc-primary"),
                      html.Button(_("Discard changes"), id=DISCARD),
                      dcc.Upload(html.Button(_("Upload a plan (SVG, PNG, JPEG)")), id=UPLOAD,
                                 accept=".svg,.png,.jpg,.jpeg", max_size=6 * 1024 * 1024),
                      html.Span(id=MSG, className="sc-msg")], className="sc-actions"),
            html.Div(id=EDITOR, className="sc-place-editor"),
            html.H3(_("Not placed yet")),
            html.Div(id=TRAY, className="sc-tray"),
            dcc.Store(id=WHERE, data=where),
            dcc.Store(id=MOVE),
            dcc.Store(id=PENDING, data={}),
            dcc.Store(id=DONE),
        ],
        className="sc-console sc-place",
    )


@callback(Output(PENDING, "data", allow_duplicate=True), Input(MOVE, "data"), State(PENDING, "data"),
          prevent_initial_call=True)
def moved(move: dict[str, Any] | None, pending: dict[str, Any] | None) -> dict[str, Any]:
    """A device dropped at plan coordinates (sent by assets/place.js); kept until saved or discarded."""
    if not move or not isinstance(move.get("id"), str):
        raise PreventUpdate
    try:
        x, y = round(float(move["x"]), 1), round(float(move["y"]), 1)
    except (KeyError, TypeError, ValueError):
        raise PreventUpdate from None
    return {**(pending or {}), move["id"]: [x, y]}


@callback(Output(EDITOR, "children"), Output(TRAY, "children"), Input(PENDING, "data"), Input(DONE, "data"),
          Input(WHERE, "data"))
def draw(pending: dict[str, Any] | None, _done: object, where: dict[str, Any]) -> tuple:
    """The floor's plan with its devices where they are, or where they were dropped."""
    if not allowed("admin") or not where:
        raise PreventUpdate
    _ = lang.gettext()
    pending = pending or {}
    with connection() as conn:
        plan = conn.execute(q.MAP_PLAN, where).fetchone()
        devices = conn.execute(q.MAP_DEVICES, where).fetchall()
    for d in devices:
        if d["id"] in pending:
            d["x"], d["y"], d["moved"] = *pending[d["id"]], True
    tray = [html.Div(lang.named(d) or d["id"], id=f"tray-{d['id']}", title=d["id"],
                     className=f"sc-dev sc-dev-normal sc-kind-{d['kind']}", **{"data-sensor": d["id"]})
            for d in devices if d["x"] is None]
    if plan is None:
        return html.P(_("This floor has no plan yet: upload one."), className="sc-calm-small",
                      id="place-no-plan"), tray
    return floormap.floor(plan, devices, _, links=False, ident="place-floor"), tray or _("All placed.")


@callback(Output(MSG, "children"), Output(DONE, "data"), Output(PENDING, "data"), Input(SAVE, "n_clicks"),
          Input(DISCARD, "n_clicks"), State(PENDING, "data"), State(WHERE, "data"), prevent_initial_call=True)
def save(_s: int | None, _d: int | None, pending: dict[str, Any] | None, where: dict[str, Any]) -> tuple:
    """Store the moved positions (administrators; checked; journaled in the duty log)."""
    _ = lang.gettext()
    if ctx.triggered_id == DISCARD:
        return _("Changes discarded."), dash.no_update, {}
    denied = refusal("admin", N_("move devices"), _)
    if denied:
        return denied, dash.no_update, dash.no_update
    if not pending:
        return _("Nothing to save: drag a device first."), dash.no_update, dash.no_update
    user = current_user()["username"]  # type: ignore[index]
    with connection() as conn, conn.transaction():
        if not _known(conn, where):
            return _("Unknown building or floor."), dash.no_update, dash.no_update
        plan = conn.execute(q.MAP_PLAN, where).fetchone()
        devices = {d["id"]: d for d in conn.execute(q.MAP_DEVICES, where).fetchall()}
        strangers = sorted(k for k in pending if k not in devices)
        if plan is None or strangers:
            return _("Not saved: {ids} not on this floor.").format(ids=", ".join(strangers) or "?"), \
                dash.no_update, dash.no_update
        placed = {k: Position(x=d["x"], y=d["y"]) for k, d in devices.items() if d["x"] is not None}
        placed |= {k: Position(x=v[0], y=v[1]) for k, v in pending.items()}
        problems = [_(why).format(**values) for ident, why, values
                    in position_problems(placed, plan["width"], plan["height"]) if ident in pending]
        if problems:
            return _("Not saved: {problems}").format(problems="; ".join(problems)), dash.no_update, dash.no_update
        for ident, (x, y) in sorted(pending.items()):
            conn.execute(dbq.PLACE_SENSOR, {"id": ident, "x": x, "y": y, "zone": devices[ident]["zone"]})
        conn.execute(q.DUTY_LOG_ADD, {
            "author": user, "kind": "equipment",
            "note": f"{len(pending)} device positions on floor {where['floor']} of {where['building']} saved",
            "details": Jsonb({"placed": pending, "building": where["building"], "floor": where["floor"]}),
        })
    return _("Saved {n} positions.").format(n=len(pending)), {"saved": sorted(pending)}, {}


@callback(Output(MSG, "children", allow_duplicate=True), Output(DONE, "data", allow_duplicate=True),
          Input(UPLOAD, "contents"), State(UPLOAD, "filename"), State(WHERE, "data"), prevent_initial_call=True)
def upload(contents: str | None, filename: str | None, where: dict[str, Any]) -> tuple:
    """A new plan for this floor (administrators; checked like a site file's; journaled)."""
    _ = lang.gettext()
    denied = refusal("admin", N_("upload a floor plan"), _)
    if denied:
        return denied, dash.no_update
    if not contents or not filename:
        raise PreventUpdate
    try:
        data = base64.b64decode(contents.partition(",")[2], validate=True)
        image = read_plan(data, filename)
    except (binascii.Error, ValueError) as exc:  # PlanError is a ValueError
        reason = exc.render(_) if isinstance(exc, PlanError) else _("the file did not arrive whole")
        return _("Plan refused: {reason}").format(reason=reason), dash.no_update
    user = current_user()["username"]  # type: ignore[index]
    with connection() as conn, conn.transaction():
        if not _known(conn, where):
            return _("Unknown building or floor."), dash.no_update
        outside = [r["id"] for r in conn.execute(q.PLACED_OUTSIDE, {**where, "width": image.width,
                                                                   "height": image.height})]
        if outside:
            return _("Plan refused: it is {w:g} × {h:g} and these placed devices would be off it: {ids}").format(
                w=image.width, h=image.height, ids=", ".join(outside[:10])), dash.no_update
        conn.execute(dbq.UPSERT_FLOOR_PLAN, {
            "building_id": where["building"], "floor": where["floor"], "media_type": image.media_type,
            "content": image.data, "sha256": image.sha256, "width": image.width, "height": image.height,
            "origin": "upload", "updated_by": user})
        conn.execute(q.DUTY_LOG_ADD, {
            "author": user, "kind": "equipment",
            "note": f"floor plan of floor {where['floor']} of {where['building']} uploaded ({filename})",
            "details": Jsonb({"plan": filename, "building": where["building"], "floor": where["floor"],
                              "sha256": image.sha256}),
        })
    return _("Plan saved ({w:g} × {h:g}).").format(w=image.width, h=image.height), {"plan": image.sha256}
