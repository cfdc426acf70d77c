"""Shift handover and the duty log (GB 25506 practice): what is open, timed entries, sign-off."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import dash
from dash import Input, Output, State, callback, ctx, dcc, html
from dash.exceptions import PreventUpdate
from psycopg.types.json import Jsonb

from dashboard import lang
from dashboard import queries as q
from dashboard.auth import TooManyAttemptsError, allowed, check_password, current_user, refusal
from dashboard.db import connection
from dashboard.ids import LIVE_SIGNAL
from dashboard.tourviews import tours_table
from ingest.core import clock
from ingest.core.i18n import N_, Translator
from ingest.core.vocabulary import DUTY_LOG_ENTRY_KINDS, DUTY_LOG_LABELS, PRIORITY_LABELS, STATE_LABELS

dash.register_page(__name__, path="/console/handover", title="SafeCampus")

OPEN, SHELVED, OOS, LOG, REMIND = "ho-open", "ho-shelved", "ho-oos", "ho-log", "ho-remind"
KIND, NOTE, ADD, MSG, DONE = "ho-kind", "ho-note", "ho-add", "ho-msg", "ho-done"
INCOMING, INCOMING_PW, SIGN = "ho-incoming", "ho-incoming-pw", "ho-sign"
TICK, TOURS = "ho-tick", "ho-tours"
EQUIPMENT_EVERY = timedelta(hours=2)
KINDS = DUTY_LOG_ENTRY_KINDS


def layout(**_query: str) -> html.Div:
    """The handover page, for logged-in users."""
    _ = lang.gettext()
    if not allowed("viewer"):
        return html.Div(
            [html.H1(_("Shift handover")), html.A(_("Log in"), href="/login?next=/console/handover")],
            className="sc-home",
        )
    return frame(_)


def frame(_: Translator = str) -> html.Div:
    """Every component of the handover page."""
    today = clock.today().isoformat()
    return html.Div(
        [
            html.Header(
                [
                    html.H1(_("Shift handover and duty log")),
                    html.A(_("Console"), href="/console"),
                    html.A(_("Export today's log (CSV)"), href=f"/duty-log/{today}.csv", id="ho-export"),
                ],
                className="sc-console-header",
            ),
            html.Div(id=REMIND, className="sc-msg"),
            html.Div(
                [
                    html.Div(
                        [
                            html.H3(_("Still open")),
                            html.Div(id=OPEN),
                            html.H3(_("Shelved")),
                            html.Div(id=SHELVED),
                            html.H3(_("Out of service")),
                            html.Div(id=OOS),
                            html.H3(_("Guard tours, last 12 hours")),
                            html.Div(id=TOURS),
                        ],
                        className="sc-half",
                    ),
                    html.Div(
                        [
                            html.H3(_("Duty log (today)")),
                            html.Div(id=LOG, className="sc-journal"),
                            html.Div(
                                [
                                    dcc.Dropdown(
                                        id=KIND,
                                        options=[{"label": _(DUTY_LOG_LABELS[k]), "value": k} for k in KINDS],
                                        value="equipment",
                                        clearable=False,
                                        className="sc-filter",
                                    ),
                                    dcc.Input(
                                        id=NOTE, placeholder=_("what was checked / done / seen"), className="sc-text"
                                    ),
                                    html.Button(_("Add entry"), id=ADD),
                                ],
                                className="sc-actions",
                            ),
                            html.H3(_("Sign off the shift")),
                            html.Div(
                                [
                                    dcc.Input(id=INCOMING, placeholder=_("incoming officer"), className="sc-text"),
                                    dcc.Input(
                                        id=INCOMING_PW,
                                        type="password",
                                        placeholder=_("their password"),
                                        className="sc-text",
                                    ),
                                    html.Button(_("Hand over"), id=SIGN),
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


def _alarm_line(a: dict, _: Translator) -> html.Div:
    extra = (
        " (" + _("shelved until {time}: {reason}").format(time=clock.fmt(a["shelved_until"], "%H:%M"),
                                                         reason=a["shelve_reason"]) + ")"
        if a["shelved_until"] else ""
    )
    drill = " - " + _("DRILL") if a["drill"] else ""
    return html.Div(
        f"{_(PRIORITY_LABELS[a['priority']])} {lang.alarm_text(a)} - {lang.named(a, 'building')} - "
        f"{_(STATE_LABELS[a['state']])}{drill}{extra}",
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
    Output(TOURS, "children"),
    Input(DONE, "data"),
    Input(TICK, "n_intervals"),
    Input(LIVE_SIGNAL, "data"),
)
def refresh(*_triggers: object) -> tuple:
    """What the next shift inherits, today's log, and the two-hour equipment reminder."""
    if not allowed("viewer"):
        raise PreventUpdate
    _ = lang.gettext()
    now = datetime.now(UTC)
    start, end = _day_bounds()
    with connection() as conn:
        alarms = conn.execute(q.HANDOVER_OPEN).fetchall()
        oos = conn.execute(q.OUT_OF_SERVICE).fetchall()
        log = conn.execute(q.DUTY_LOG_DAY, {"start": start, "end": end}).fetchall()
        last = conn.execute(q.LAST_EQUIPMENT_CHECK).fetchone()["max"]
        tours = [t for t in conn.execute(q.PATROL_TOURS_AROUND, {"since": now - timedelta(hours=12), "now": now})
                 if t["due_at"] <= now]
    shelved = [a for a in alarms if a["shelved_until"] and a["shelved_until"] > now]
    open_ = [a for a in alarms if a not in shelved]
    remind = ""
    if last is None or now - last > EQUIPMENT_EVERY:
        since = (_("no equipment check on record") if last is None
                 else _("last equipment check {time}").format(time=clock.fmt(last, "%H:%M")))
        remind = _("Reminder: record an equipment-status check (every 2 hours; {since}).").format(since=since)
    table = html.Table(
        [
            html.Tr(
                [html.Td(clock.fmt(e["at"], "%H:%M")), html.Td(e["author"]),
                 html.Td(_(DUTY_LOG_LABELS.get(e["kind"], e["kind"]))), html.Td(lang.duty_note(e, _))]
            )
            for e in log
        ],
        className="sc-table sc-journal-table",
    )
    none = _("none")
    return (
        [_alarm_line(a, _) for a in open_] or none,
        [_alarm_line(a, _) for a in shelved] or none,
        [
            html.Div(_("{sensor} since {time}: {reason}").format(
                sensor=s["id"], time=clock.fmt(s["out_of_service_since"], "%m-%d %H:%M"),
                reason=s["out_of_service_reason"]))
            for s in oos
        ]
        or none,
        table,
        remind,
        tours_table(tours, _),
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
    _ = lang.gettext()
    denied = refusal("officer", N_("write the duty log"), _)
    if denied:
        return denied, dash.no_update
    me = current_user()["username"]  # type: ignore[index]
    if ctx.triggered_id == ADD:
        if kind not in KINDS or not (note or "").strip():
            return _("Write what was checked, done or seen."), dash.no_update
        entry = {"author": me, "kind": kind, "note": note.strip()[:2000], "details": None}  # type: ignore[union-attr]
        msg = _("Entry added.")
    else:
        other = (incoming or "").strip()
        try:
            user = check_password(other, incoming_pw or "") if other else None
        except TooManyAttemptsError as exc:
            return exc.render(_), dash.no_update
        if not user or user["role"] not in ("officer", "admin"):
            return _("The incoming officer's name or password is wrong."), dash.no_update
        if other == me:
            return _("The incoming officer must be someone else."), dash.no_update
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
        msg = _("Shift handed over from {me} to {other}: {open} open, {shelved} shelved, {oos} out of service.").format(
            me=me, other=other, open=len(details["open"]), shelved=len(details["shelved"]),
            oos=len(details["out_of_service"]))
    with connection() as conn, conn.transaction():
        conn.execute(q.DUTY_LOG_ADD, entry)
    return msg, {"at": datetime.now(UTC).isoformat()}
