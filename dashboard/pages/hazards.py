"""Hazards (隐患) and their rectification: the list by deadline, one hazard's journal, the fix with its
evidence (its department), verification (security), and a new hazard. Every change is checked on the
server by ``ingest.safety.hazards``; a photo of the fix is served to logged-in users only.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Any

import dash
from dash import ALL, Input, Output, State, callback, ctx, dcc, html
from dash.exceptions import PreventUpdate
from flask import current_app

from dashboard import lang
from dashboard import queries as q
from dashboard.auth import allowed, current_user, refusal
from dashboard.console_layout import nav_links
from dashboard.db import connection
from ingest.alarms.actions import ActionRefusedError
from ingest.core import clock
from ingest.core.i18n import N_, Translator
from ingest.core.vocabulary import (
    HAZARD_ACTION_LABELS,
    HAZARD_CATEGORIES,
    HAZARD_CATEGORY_LABELS,
    HAZARD_SEVERITIES,
    HAZARD_SEVERITY_LABELS,
    HAZARD_STATE_LABELS,
)
from ingest.safety import hazards

dash.register_page(__name__, path="/hazards", title="SafeCampus")

LIST, DETAIL, MSG, SELECTED, DONE, CLOSED, NOTE, PHOTO, FIX, ACCEPT, REJECT = (
    "hz-list", "hz-detail", "hz-msg", "hz-selected", "hz-done", "hz-closed", "hz-note", "hz-photo", "hz-fix",
    "hz-accept", "hz-reject")
NEW_TITLE, NEW_CAT, NEW_SEV, NEW_DEP, NEW_BTN, TICK = ("hz-new-title", "hz-new-category", "hz-new-severity",
                                                      "hz-new-department", "hz-new", "hz-tick")
OPEN = "hz-open"  # pattern id: {"type": OPEN, "id": hazard}


def frame(_: Translator = str, selected: int | None = None) -> html.Div:
    """The page's components (also the validation layout); ``selected``: the hazard shown."""
    def opts(values: tuple[str, ...], labels: dict[str, str]) -> list[dict[str, str]]:
        return [{"label": _(labels[v]), "value": v} for v in values]

    return html.Div([
        html.Header([html.H1(_("Hazards and rectification")), html.Nav(nav_links(_), className="sc-nav")],
                    className="sc-console-header"),
        html.Div(id=MSG, className="sc-msg", role="status"),
        html.Div([
            html.Div([dcc.Checklist(id=CLOSED, options=[{"label": " " + _("show closed"), "value": "1"}], value=[]),
                      html.Div(id=LIST)], className="sc-half"),
            html.Div([
                html.Div(id=DETAIL),
                dcc.Textarea(id=NOTE, placeholder=_("what was done / why the fix is not accepted"),
                             className="sc-note"),
                dcc.Upload(html.Button(_("Add a photo of the fix")), id=PHOTO, accept="image/jpeg,image/png",
                           max_size=3 * 1024 * 1024),
                html.Div([html.Button(_("Report the fix"), id=FIX, className="sc-primary"),
                          html.Button(_("Accept the fix"), id=ACCEPT), html.Button(_("Reject the fix"), id=REJECT)],
                         className="sc-actions"),
                html.H3(_("Report a hazard")),
                dcc.Input(id=NEW_TITLE, placeholder=_("what is wrong, where"), className="sc-text"),
                html.Div([dcc.Dropdown(id=NEW_CAT, options=opts(HAZARD_CATEGORIES, HAZARD_CATEGORY_LABELS),
                                       placeholder=_("kind"), className="sc-filter"),
                          dcc.Dropdown(id=NEW_SEV, options=opts(HAZARD_SEVERITIES, HAZARD_SEVERITY_LABELS),
                                       placeholder=_("severity"), className="sc-filter"),
                          dcc.Dropdown(id=NEW_DEP, options=[], placeholder=_("responsible department"),
                                       className="sc-filter"),
                          html.Button(_("Report"), id=NEW_BTN)], className="sc-actions"),
            ], className="sc-half sc-detail"),
        ], className="sc-row"),
        dcc.Store(id=SELECTED, data=selected), dcc.Store(id=DONE), dcc.Interval(id=TICK, interval=60_000),
    ], className="sc-console")


def layout(hazard: str | None = None, **_query: str) -> html.Div:
    """For logged-in users (``?hazard=ID`` opens one)."""
    _ = lang.gettext()
    if not allowed("viewer"):
        return html.Div([html.H1(_("Hazards and rectification")),
                         html.A(_("Log in"), href="/login?next=/hazards")], className="sc-home")
    return frame(_, int(hazard) if hazard and hazard.isdigit() else None)


def place(h: dict[str, Any]) -> str:
    """Where a hazard is, in the reader's language."""
    return " · ".join(x for x in (lang.named(h, "building"), lang.named(h, "room")) if x)


@callback(Output(LIST, "children"), Output(NEW_DEP, "options"),
          Input(CLOSED, "value"), Input(DONE, "data"), Input(TICK, "n_intervals"))
def show(closed: list[str], *_triggers: Any) -> tuple:
    """The hazards by deadline, those past it first in red."""
    if not allowed("viewer"):
        raise PreventUpdate
    _ = lang.gettext()
    now = datetime.now(UTC)
    with connection() as conn:
        rows = conn.execute(q.HAZARD_LIST, {"closed": bool(closed), "id": None}).fetchall()
        deps = conn.execute(q.DEPARTMENT_SAFETY).fetchall()
    items = []
    for h in rows:
        late = h["state"] == "open" and h["deadline"] < now
        items.append(html.Tr([
            html.Td(html.Button(f"#{h['id']}", id={"type": OPEN, "id": h["id"]}, n_clicks=0)),
            html.Td(h["title"]), html.Td(lang.named(h, "department")),
            html.Td(_(HAZARD_STATE_LABELS[h["state"]])),
            html.Td(clock.fmt(h["deadline"], "%m-%d %H:%M"), className="sc-tour-missed" if late else ""),
        ], id=f"hazard-{h['id']}"))
    table = html.Div(html.Table([html.Tr([html.Th(x) for x in ("", _("hazard"), _("department"), _("state"),
                                                               _("deadline"))]), *items],
                                className="sc-table sc-tours"), className="sc-scroll-x") if items else \
        html.P(_("No open hazards."))
    return table, [{"label": lang.named(d), "value": d["id"]} for d in deps]


@callback(Output(SELECTED, "data"), Input({"type": OPEN, "id": ALL}, "n_clicks"), prevent_initial_call=True)
def pick(_clicks: Any) -> int:
    """Open one hazard."""
    if not isinstance(ctx.triggered_id, dict) or not ctx.triggered[0]["value"]:
        raise PreventUpdate
    return int(ctx.triggered_id["id"])


@callback(Output(DETAIL, "children"), Input(SELECTED, "data"), Input(DONE, "data"))
def detail(hazard: int | None, _done: Any) -> Any:
    """One hazard: what, where, whose, by when, its fix and its journal."""
    _ = lang.gettext()
    if not allowed("viewer") or hazard is None:
        return html.P(_("Choose a hazard."), className="sc-guard-small")
    with connection() as conn:
        h = conn.execute(q.HAZARD_LIST, {"closed": True, "id": hazard}).fetchone()
        journal = conn.execute(q.HAZARD_JOURNAL_OF, {"id": hazard}).fetchall()
    if h is None:
        return html.P(_("No such hazard."))
    facts = [(_("Where"), place(h) or "-"), (_("Responsible"), lang.named(h, "department")),
             (_("Kind"), f"{_(HAZARD_CATEGORY_LABELS[h['category']])} · {_(HAZARD_SEVERITY_LABELS[h['severity']])}"),
             (_("State"), _(HAZARD_STATE_LABELS[h["state"]])), (_("Deadline"), clock.fmt(h["deadline"])),
             (_("Reported"), f"{clock.fmt(h['created_at'])} · {h['created_by']}")]
    if h["fix_note"]:
        facts.append((_("Fix"), f"{h['fix_note']} ({h['fixed_by']})"))
    photo = [html.A(_("photo of the fix"), href=f"/hazard-photo/{h['id']}", target="_blank")] if h["has_photo"] else []
    return html.Div([
        html.H2(f"#{h['id']} {h['title']}"),
        html.Dl([x for k, v in facts for x in (html.Dt(k), html.Dd(v))]), *photo,
        html.Table([html.Tr([html.Td(clock.fmt(j["at"], "%m-%d %H:%M")), html.Td(j["actor"]),
                             html.Td(_(HAZARD_ACTION_LABELS.get(j["action"], j["action"]))), html.Td(j["note"] or "")])
                    for j in journal], className="sc-table sc-journal-table", id="hz-journal"),
    ], id="hz-detail-box")


@callback(Output(MSG, "children"), Output(DONE, "data"),
          Input(FIX, "n_clicks"), Input(ACCEPT, "n_clicks"), Input(REJECT, "n_clicks"), Input(NEW_BTN, "n_clicks"),
          State(SELECTED, "data"), State(NOTE, "value"), State(PHOTO, "contents"), State(NEW_TITLE, "value"),
          State(NEW_CAT, "value"), State(NEW_SEV, "value"), State(NEW_DEP, "value"), prevent_initial_call=True)
def act(_f: Any, _a: Any, _r: Any, _n: Any, hazard: int | None, note: str | None, photo: str | None,
        title: str | None, category: str | None, severity: str | None, department: str | None) -> tuple:
    """Report a fix (its department), accept or reject it (officers), or report a new hazard."""
    _ = lang.gettext()
    trig = ctx.triggered_id
    what = {FIX: ("viewer", N_("report fixes")), ACCEPT: ("officer", N_("verify fixes")),
            REJECT: ("officer", N_("verify fixes")), NEW_BTN: ("viewer", N_("report hazards"))}[trig]
    denied = refusal(what[0], what[1], _)
    if denied:
        return denied, dash.no_update
    user = current_user()["username"]  # type: ignore[index]
    stamp = {"at": datetime.now(UTC).isoformat()}
    try:
        with connection() as conn:
            if trig == NEW_BTN:
                if not (title and category and severity and department):
                    return _("Give what, its kind, its severity and the responsible department."), dash.no_update
                hid = hazards.report(conn, title=title, category=category, severity=severity, department=department,
                                     by=user)
                return _("Hazard {id} reported.").format(id=hid), stamp
            if hazard is None:
                return _("Choose a hazard first."), dash.no_update
            if trig == FIX:
                data = base64.b64decode(photo.split(",", 1)[1]) if photo else None
                engine = current_app.extensions["safecampus_patrols"].alarms
                hazards.fix(conn, hazard, user, note or "", data, engine=engine)
                return _("Fix reported; security will verify it."), stamp
            state = hazards.verify(conn, hazard, user, trig == ACCEPT, note)
            return (_("Fix accepted: hazard closed.") if state == "closed"
                    else _("Fix not accepted: the hazard is open again.")), stamp
    except ActionRefusedError as exc:
        return exc.render(_), stamp
    except (ValueError, IndexError):
        return _("The photo could not be read."), dash.no_update
