"""The duty officer's console: the alarm queue, one alarm's detail, and the actions on it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import dash
from dash import Input, Output, State, callback, ctx, html
from dash.exceptions import PreventUpdate

from dashboard import console_dispatch, console_queue, figures, floormap, lang  # noqa: F401 - their callbacks
from dashboard import queries as q
from dashboard.auth import allowed, current_user, refusal
from dashboard.console_layout import (  # noqa: F401 - frame: the page registry asks every page for it
    ACK,
    ASSIGN,
    CHART,
    CLOSE_BTN,
    CLOSE_NOTE,
    DETAIL,
    DISPOSITION,
    DONE,
    F_BUILDING,
    F_DEPARTMENT,
    F_FAMILY,
    F_PRIORITY,
    F_SHELVED,
    F_STATE,
    HIDDEN,
    JOURNAL,
    MSG,
    NEXT,
    NOTE,
    NOTE_BTN,
    PREV,
    QUEUE,
    RESET,
    SELECTED,
    SHELVE_BTN,
    SHELVE_MIN,
    SHELVE_REASON,
    STEPS,
    TICK,
    VERSION,
    frame,
)
from dashboard.db import connection
from dashboard.ids import LIVE_SIGNAL
from ingest.alarms import actions, messages
from ingest.alarms.lifecycle import SYSTEM
from ingest.core import clock
from ingest.core.i18n import N_, Translator
from ingest.core.vocabulary import (
    DISPOSITION_LABELS,
    JOURNAL_LABELS,
    PRIORITY_LABELS,
    ROLE_LABELS,
    SIGNAL_CLASS_LABELS,
    STATE_LABELS,
)

dash.register_page(__name__, path="/console", title="SafeCampus")

def layout(alarm: str | None = None, **_query: str) -> html.Div:
    """The console, for logged-in users (viewers may look, officers may act); ``?alarm=ID`` opens one."""
    _ = lang.gettext()
    user = current_user()
    if not user or user["role"] in ("kiosk", "guard"):
        return html.Div(
            [
                html.H1(_("SafeCampus console")),
                html.P(_("Duty officers log in first.")),
                html.A(_("Log in"), href="/login?next=/console" + (f"%3Falarm%3D{alarm}" if
                                                                   alarm and alarm.isdigit() else "")),
            ],
            className="sc-home",
        )
    with connection() as conn:
        choices = conn.execute(q.FILTER_CHOICES).fetchall()
    buildings = [{"label": lang.named(c), "value": c["id"]} for c in choices if c["what"] == "building"]
    departments = [{"label": lang.named(c), "value": c["id"]} for c in choices if c["what"] == "department"]
    role = _(ROLE_LABELS.get(user["role"], user["role"]))
    selected = int(alarm) if alarm and alarm.isdigit() else None
    return frame(f"{user['name']} ({role})", buildings, departments, _, lang.current(), selected)


def _age(ts: datetime, _: Translator) -> str:
    secs = int((datetime.now(UTC) - ts).total_seconds())
    if secs < 3600:
        return _("{m} min ago").format(m=secs // 60)
    return _("{h} h {m} min ago").format(h=secs // 3600, m=secs % 3600 // 60)


@callback(
    Output(SELECTED, "data"),
    Output(QUEUE, "selected_rows"),
    Input(QUEUE, "selected_rows"),
    Input(NEXT, "n_clicks"),
    Input(PREV, "n_clicks"),
    Input(QUEUE, "data"),
    State(SELECTED, "data"),
)
def select(rows, _n, _p, data, selected) -> tuple:
    """Which alarm the detail shows: the clicked row, next/previous, or the first one."""
    data = data or []
    if not data:
        return None, []
    ids = [r["id"] for r in data]
    idx = ids.index(selected) if selected in ids else None
    trig = ctx.triggered_id
    if trig == QUEUE and ctx.triggered[0]["prop_id"].endswith("selected_rows") and rows:
        idx = rows[0]
    elif trig == NEXT:
        idx = 0 if idx is None else min(idx + 1, len(ids) - 1)
    elif trig == PREV:
        idx = 0 if idx is None else max(idx - 1, 0)
    elif idx is None:
        idx = 0
    return ids[idx], [idx]


@callback(
    Output(DETAIL, "children"),
    Output(STEPS, "options"),
    Output(STEPS, "value"),
    Output(VERSION, "data"),
    Output(JOURNAL, "children"),
    Output(CHART, "figure"),
    Output(CHART, "style"),
    Input(SELECTED, "data"),
    Input(LIVE_SIGNAL, "data"),
    Input(DONE, "data"),
)
def detail(alarm_id, *_triggers) -> tuple:
    """Where, what, the procedure, the journal and the sensor's last hour."""
    _ = lang.gettext()
    if not allowed("viewer") or alarm_id is None:
        return html.P(_("No open alarms."), className="sc-calm-small"), [], [], None, [], figures.sparkline([]), HIDDEN
    with connection() as conn:
        a = conn.execute(q.DETAIL, {"id": alarm_id}).fetchone()
        if a is None:
            raise PreventUpdate
        journal = conn.execute(q.JOURNAL, {"id": alarm_id}).fetchall()
        readings = conn.execute(
            q.RECENT_READINGS, {"sensor": a["sensor_id"], "since": datetime.now(UTC) - timedelta(hours=1)}
        ).fetchall()
        place = {"building": a["building_id"], "floor": a["floor"]}
        plan = conn.execute(q.MAP_PLAN, place).fetchone() if a["floor"] is not None else None
        devices = conn.execute(q.MAP_DEVICES, place).fetchall() if plan else []
        first = conn.execute(q.MAP_FIRST_FIRE).fetchone() if plan else None
    floor = _("floor {n}").format(n=a["floor"] + 1) if a["floor"] is not None else None
    state = _(STATE_LABELS[a["state"]])
    if not a["active"]:
        state += _(", condition cleared")
    if a["latched"]:
        state += _(", latched")
    facts = [
        (_("Where"), " / ".join(str(x) for x in (lang.named(a, "building"), floor, lang.named(a, "room")) if x)),
        (_("Responsible"), lang.named(a, "department") or "?"),
        (_("Sensor"), f"{lang.named(a, 'sensor_name')} ({a['sensor_id']})"),
        (_("What"), lang.alarm_text(a)),
        (_("Priority"), f"{_(PRIORITY_LABELS[a['priority']])} · {_(SIGNAL_CLASS_LABELS[a['signal_class']])}"),
        (_("State"), state),
        (_("Raised"), f"{clock.fmt(a['raised_at'])} ({_age(a['raised_at'], _)})"),
        (_("Occurrences"), str(a["occurrences"])),
    ]
    if a["acked_by"]:
        facts.append((_("Acknowledged"), _("{who} at {time}").format(who=a["acked_by"],
                                                                    time=clock.fmt(a["acked_at"], "%H:%M:%S"))))
    if a["shelved_until"]:
        facts.append((_("Shelved"), _("until {time} by {who}: {reason}").format(
            time=clock.fmt(a["shelved_until"], "%H:%M"), who=a["shelved_by"], reason=a["shelve_reason"])))
    if a["drill"]:
        facts.append((_("Drill"), _("yes: left out of statistics")))
    box = html.Div(
        [
            html.H2(lang.alarm_text(a), className=f"sc-p-text-{a['priority']}"),
            html.Dl([x for k, v in facts for x in (html.Dt(k), html.Dd(v))]),
            *_floor_plan(a, plan, devices, first["sensor_id"] if first else None, _),
        ],
        id="console-detail-box",
    )
    steps = a["procedure"] or []
    language = lang.current()
    options = [
        {"label": f" {(s.get('texts') or {}).get(language) or s['step']}" + (f"  ✓ {s.get('by')}" if s.get("done")
                                                                            else ""), "value": i}
        for i, s in enumerate(steps)
    ]
    done = [i for i, s in enumerate(steps) if s.get("done")]
    jrows = html.Table(
        [
            html.Tr(
                [
                    html.Td(clock.fmt(j["at"], "%H:%M:%S")),
                    html.Td(_("system") if j["actor"] == SYSTEM else j["actor"]),
                    html.Td(_(JOURNAL_LABELS.get(j["action"], j["action"]))),
                    html.Td(_journal_note(j, language)),
                ]
            )
            for j in journal
        ],
        className="sc-table sc-journal-table",
    )
    chart = figures.sparkline(readings, lambda m: lang.metric_label(m, _))
    return box, options, done, a["version"], jrows, chart, ({} if readings else HIDDEN)


def _floor_plan(a: dict, plan: dict | None, devices: list[dict], first: str | None, _: Translator) -> list:
    """The alarm's floor with its device marked (and the incident's first fire alarm, 首警, if it is
    there), and the floor's other devices in alarm.
    """
    if plan is None:
        return []
    others = [d for d in devices if d.get("alarm_id") and d["id"] != a["sensor_id"]]
    items: list = [html.A(lang.named(d) or d["id"], href=f"/console?alarm={d['alarm_id']}",
                          className="sc-floor-link") for d in others[:12]]
    if len(others) > 12:
        items.append(_("+{n} more").format(n=len(others) - 12))
    return [
        html.H3(_("On the floor plan")),
        floormap.floor(plan, devices, _, links=True, focus=a["sensor_id"], first=first, ident="console-floor"),
        html.P([_("Other devices of this floor in alarm:") + " ", *(items or [_("none")])], id="console-floor-others"),
    ]


def _journal_note(entry: dict, language: str) -> str:
    """A journal entry's note; the system's own (an alarm's text) in the reader's language."""
    details = entry.get("details") or {}
    if entry["actor"] == SYSTEM and details.get("message_key"):
        return messages.render(details["message_key"], details.get("message_params"), language, entry["note"] or "")
    return entry["note"] or ""


@callback(
    Output(MSG, "children"),
    Output(DONE, "data"),
    Input(ACK, "n_clicks"),
    Input(ASSIGN, "n_clicks"),
    Input(RESET, "n_clicks"),
    Input(NOTE_BTN, "n_clicks"),
    Input(SHELVE_BTN, "n_clicks"),
    Input(CLOSE_BTN, "n_clicks"),
    Input(STEPS, "value"),
    State(SELECTED, "data"),
    State(VERSION, "data"),
    State(NOTE, "value"),
    State(SHELVE_MIN, "value"),
    State(SHELVE_REASON, "value"),
    State(DISPOSITION, "value"),
    State(CLOSE_NOTE, "value"),
    State(STEPS, "options"),
    prevent_initial_call=True,
)
def act(*args) -> tuple:
    """Do the officer's action on the server, after checking the role; say what happened."""
    alarm_id, version, note, minutes, reason, disposition, close_note, step_options = args[7:]
    steps_value = args[6]
    trig = ctx.triggered_id
    if trig == STEPS:
        # The detail view sets the checklist too; only a difference from the stored steps is a tick.
        done_before = {o["value"] for o in step_options or [] if "✓" in o["label"]}
        changed = done_before ^ set(steps_value or [])
        if alarm_id is None or not changed:
            raise PreventUpdate
    _ = lang.gettext()
    if alarm_id is None:
        return _("Select an alarm first."), dash.no_update
    what = {
        ACK: N_("acknowledge alarms"),
        ASSIGN: N_("take alarms"),
        RESET: N_("reset alarms"),
        NOTE_BTN: N_("add notes"),
        SHELVE_BTN: N_("shelve alarms"),
        CLOSE_BTN: N_("close alarms"),
        STEPS: N_("tick procedure steps"),
    }[trig]
    denied = refusal("officer", what, _)
    if denied:
        return denied, dash.no_update
    actor = current_user()["username"]  # type: ignore[index]
    try:
        minutes = float(minutes) if minutes not in (None, "") else None
    except (TypeError, ValueError):
        return _("Minutes must be a number."), dash.no_update
    try:
        with connection() as conn:
            if trig == ACK:
                actions.acknowledge(conn, alarm_id, actor, note or None, expected_version=version)
                msg = _("Acknowledged.")
            elif trig == ASSIGN:
                actions.assign(conn, alarm_id, actor, expected_version=version)
                msg = _("Assigned to you.")
            elif trig == RESET:
                actions.reset(conn, alarm_id, actor, note or None, expected_version=version)
                msg = _("Reset.")
            elif trig == NOTE_BTN:
                actions.add_note(conn, alarm_id, actor, note or "")
                msg = _("Note added.")
            elif trig == SHELVE_BTN:
                actions.shelve(conn, alarm_id, actor, minutes or 0, reason or "", expected_version=version)
                msg = _("Shelved for {n} minutes.").format(n=f"{minutes:g}") if minutes else _("Shelved.")
            elif trig == CLOSE_BTN:
                if not disposition:
                    return _("Choose a disposition to close."), dash.no_update
                actions.close(conn, alarm_id, actor, disposition, close_note or None, expected_version=version)
                msg = _("Closed as {what}.").format(what=_(DISPOSITION_LABELS.get(disposition, disposition)))
            else:
                now_done = set(steps_value or [])
                for i in sorted(changed):
                    actions.tick_step(conn, alarm_id, actor, i, i in now_done)
                msg = _("Procedure updated.")
    except actions.ActionRefusedError as exc:
        return exc.render(_), {"at": datetime.now(UTC).isoformat()}
    return msg, {"at": datetime.now(UTC).isoformat(), "id": alarm_id}
