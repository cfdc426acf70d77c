"""Shift handover and the duty log (GB 25506 practice): what is open, timed entries, sign-off."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import dash
from dash import Input, Output, State, callback, ctx, dcc, html
from dash.exceptions import PreventUpdate
from psycopg.types.json import Jsonb

from dashboard import queries as q
from dashboard.auth import TooManyAttemptsError, allowed, check_password, current_user, refusal
from dashboard.db import connection
from dashboard.ids import LIVE_SIGNAL
from ingest.core import clock
from ingest.core.vocabulary import DUTY_LOG_ENTRY_KINDS

dash.register_page(__name__, path="/console/handover", title="SafeCampus handover")

OPEN, SHELVED, OOS, LOG, REMIND = "ho-open", "ho-shelved", "ho-oos", "ho-log", "ho-remind"
KIND, NOTE, ADD, MSG, DONE = "ho-kind", "ho-note", "ho-add", "ho-msg", "ho-done"
INCOMING, INCOMING_PW, SIGN = "ho-incoming", "ho-incoming-pw", "ho-sign"
TICK = "ho-tick"
EQUIPMENT_EVERY = timedelta(hours=2)
KINDS = DUTY_LOG_ENTRY_KINDS


def layout(**_query: str) -> html.Div:
    """The handover page, for logged-in users."""
    if not allowed("viewer"):
        return html.Div(
            [html.H1("Shift handover"), html.A("Log in", href="/login?next=/console/handover")], className="sc-home"
        )
    return frame()


def frame() -> html.Div:
    """Every component of the handover page."""
    today = clock.today().isoformat()
    return html.Div(
        [
            html.Header(
                [
                    html.H1("Shift handover and duty log"),
                    html.A("Console", href="/console"),
                    html.A("Export today's log (CSV)", href=f"/duty-log/{today}.csv", id="ho-export"),
                ],
                className="sc-console-header",
            ),
            html.Div(id=REMIND, className="sc-msg"),
            html.Div(
                [
                    html.Div(
                        [
                            html.H3("Still open"),
                            html.Div(id=OPEN),
                            html.H3("Shelved"),
                            html.Div(id=SHELVED),
                            html.H3("Out of service"),
                            html.Div(id=OOS),
                        ],
                        className="sc-half",
                    ),
                    html.Div(
                        [
                            html.H3("Duty log (today)"),
                            html.Div(id=LOG, className="sc-journal"),
                            html.Div(
                                [
                                    dcc.Dropdown(
                                        id=KIND,
                                        options=list(KINDS),
                                        value="equipment",
                                        clearable=False,
                                        className="sc-filter",
                                    ),
                                    dcc.Input(
                                        id=NOTE, placeholder="what was checked / done / seen", className="sc-text"
                                    ),
                                    html.Button("Add entry", id=ADD),
                                ],
                                className="sc-actions",
                            ),
                            html.H3("Sign off the shift"),
                            html.Div(
                                [
                                    dcc.Input(id=INCOMING, placeholder="incoming officer", className="sc-text"),
                                    dcc.Input(
                                        id=INCOMING_PW,
                                        type="password",
                                        placeholder="their password",
                                        className="sc-text",
                                    ),
                                    html.Button("Hand over", id=SIGN),
                                ],
                                className="sc-actions",
                            ),
                            html.Div(id=MSG, className="sc-msg", role="status"),
                        ],
                        className="sc-half",
                    ),
                ],
                className="sc-row",
            ),
            dcc.Store(id=DONE),
            dcc.Interval(id=TICK, interval=60_000),
        ],
        className="sc-console",
    )


def _alarm_line(a: dict) -> html.Div:
    extra = (
        f" (shelved until {clock.fmt(a['shelved_until'], '%H:%M')}: {a['shelve_reason']})" if a["shelved_until"] else ""
    )
    return html.Div(
        f"{a['priority'].upper()} {a['message']} - {a['building']} - {a['state'].replace('_', ' ')}"
        f"{' - DRILL' if a['drill'] else ''}{extra}",
        className=f"sc-p-text-{a['priority']}",
    )


def _day_bounds() -> tuple[datetime, datetime]:
    return clock.day_bounds(clock.today())


@callback(
    Output(OPEN, "children"),
    Output(SHELVED, "children"),
    Output(OOS, "children"),
    Output(LOG, "children"),
    Output(REMIND, "children"),
    Input(DONE, "data"),
    Input(TICK, "n_intervals"),
    Input(LIVE_SIGNAL, "data"),
)
def refresh(*_triggers: object) -> tuple:
    """What the next shift inherits, today's log, and the two-hour equipment reminder."""
    if not allowed("viewer"):
        raise PreventUpdate
    now = datetime.now(UTC)
    start, end = _day_bounds()
    with connection() as conn:
        alarms = conn.execute(q.HANDOVER_OPEN).fetchall()
        oos = conn.execute(q.OUT_OF_SERVICE).fetchall()
        log = conn.execute(q.DUTY_LOG_DAY, {"start": start, "end": end}).fetchall()
        last = conn.execute(q.LAST_EQUIPMENT_CHECK).fetchone()["max"]
    shelved = [a for a in alarms if a["shelved_until"] and a["shelved_until"] > now]
    open_ = [a for a in alarms if a not in shelved]
    remind = ""
    if last is None or now - last > EQUIPMENT_EVERY:
        since = "no equipment check on record" if last is None else f"last equipment check {clock.fmt(last, '%H:%M')}"
        remind = f"Reminder: record an equipment-status check (every 2 hours; {since})."
    table = html.Table(
        [
            html.Tr(
                [html.Td(clock.fmt(e["at"], "%H:%M")), html.Td(e["author"]), html.Td(e["kind"]), html.Td(e["note"])]
            )
            for e in log
        ],
        className="sc-table sc-journal-table",
    )
    return (
        [_alarm_line(a) for a in open_] or "none",
        [_alarm_line(a) for a in shelved] or "none",
        [
            html.Div(
                f"{s['id']} since {clock.fmt(s['out_of_service_since'], '%m-%d %H:%M')}: {s['out_of_service_reason']}"
            )
            for s in oos
        ]
        or "none",
        table,
        remind,
    )


@callback(
    Output(MSG, "children"),
    Output(DONE, "data"),
    Input(ADD, "n_clicks"),
    Input(SIGN, "n_clicks"),
    State(KIND, "value"),
    State(NOTE, "value"),
    State(INCOMING, "value"),
    State(INCOMING_PW, "value"),
    prevent_initial_call=True,
)
def write(
    _add: int | None, _sign: int | None, kind: str, note: str | None, incoming: str | None, incoming_pw: str | None
) -> tuple:
    """Add a log entry, or sign the handover off (both officers authenticated)."""
    denied = refusal("officer", "write the duty log")
    if denied:
        return denied, dash.no_update
    me = current_user()["username"]  # type: ignore[index]
    if ctx.triggered_id == ADD:
        if kind not in KINDS or not (note or "").strip():
            return "Write what was checked, done or seen.", dash.no_update
        entry = {"author": me, "kind": kind, "note": note.strip()[:2000], "details": None}  # type: ignore[union-attr]
        msg = "Entry added."
    else:
        other = (incoming or "").strip()
        try:
            user = check_password(other, incoming_pw or "") if other else None
        except TooManyAttemptsError as exc:
            return str(exc), dash.no_update
        if not user or user["role"] not in ("officer", "admin"):
            return "The incoming officer's name or password is wrong.", dash.no_update
        if other == me:
            return "The incoming officer must be someone else.", dash.no_update
        with connection() as conn:
            rows = conn.execute(q.HANDOVER_OPEN).fetchall()
            oos = conn.execute(q.OUT_OF_SERVICE).fetchall()
        now = datetime.now(UTC)
        details = {
            "outgoing": me,
            "incoming": other,
            "open": [r["id"] for r in rows if not r["shelved_until"] or r["shelved_until"] <= now],
            "shelved": [r["id"] for r in rows if r["shelved_until"] and r["shelved_until"] > now],
            "out_of_service": [s["id"] for s in oos],
        }
        entry = {
            "author": me,
            "kind": "handover",
            "details": Jsonb(details),
            "note": f"Shift handed over from {me} to {other}: {len(details['open'])} open, "
            f"{len(details['shelved'])} shelved, {len(details['out_of_service'])} out of service",
        }
        msg = entry["note"] + "."
    with connection() as conn, conn.transaction():
        conn.execute(q.DUTY_LOG_ADD, entry)
    return msg, {"at": datetime.now(UTC).isoformat()}
