"""Notifications for admins: the channels, recipients and routes in force, how each channel
fares, the latest deliveries, and a test message per channel (sent by the notifier like any other).
"""

from __future__ import annotations

from typing import Any

import dash
from dash import Input, Output, State, callback, dash_table, dcc, html
from dash.exceptions import PreventUpdate
from flask import current_app
from psycopg.types.json import Jsonb

from dashboard import lang
from dashboard.auth import allowed, current_user, refusal
from dashboard.db import connection
from ingest.alarms.messages import step_label
from ingest.core import clock
from ingest.core.i18n import N_, Translator
from ingest.notify import config as notify_config
from ingest.notify import queries as nq

dash.register_page(__name__, path="/admin/notifications", title="SafeCampus")

CHANNEL, SEND, MSG, RECENT, CHANNELS, TICK = ("notify-channel", "notify-send", "notify-msg", "notify-recent",
                                              "notify-channels", "notify-tick")
FILE_KEY = "safecampus_notify_file"
STATUS_LABELS = {"pending": N_("waiting"), "sending": N_("sending"), "sent": N_("sent"),
                 "digested": N_("in a digest"), "failed": N_("given up")}
TABLE_STYLE: dict[str, Any] = {
    "style_as_list_view": True,
    "style_table": {"overflowX": "auto"},  # a phone scrolls a wide table instead of cutting it
    "style_header": {"backgroundColor": "#35383c", "color": "#9a9ea3", "border": "none"},
    "style_cell": {"backgroundColor": "#2b2d30", "color": "#d8dadc", "border": "none", "textAlign": "left",
                   "whiteSpace": "normal", "height": "auto"},
}


def _config() -> tuple[notify_config.NotifyConfig | None, str]:
    """The notification file in force (as ingest reads it) and what to say about it."""
    path = current_app.extensions.get(FILE_KEY)
    if not path:
        return None, "none"
    try:
        return notify_config.load(path), str(path)
    except notify_config.NotifyConfigError as exc:
        return None, str(exc)


def _table(ident: str, columns: list[tuple[str, str]], data: list[dict] | None = None) -> dash_table.DataTable:
    return dash_table.DataTable(id=ident, columns=[{"name": n, "id": i} for n, i in columns], data=data or [],
                                page_size=20, **TABLE_STYLE)


def _route_text(route: notify_config.Route, _: Translator) -> str:
    steps = []
    for n, step in enumerate(route.steps, 1):
        when = (_("at raise") if n == 1 else _("at escalation") if n == 2
                else _("{s} s later").format(s=step.after_s))
        steps.append(f"{n} ({when}): {', '.join(step.notify)}")
    return "; ".join(steps)


def _match_text(route: notify_config.Route, _: Translator) -> str:
    parts = [f"{k}: {', '.join(v)}" for k, v in route.match.model_dump(exclude={"drill"}).items() if v]
    if route.match.drill:
        parts.append(_("drills only"))
    return "; ".join(parts) or _("every alarm")


def layout(**_query: str) -> html.Div:
    """The page, for admins."""
    _ = lang.gettext()
    if not allowed("admin"):
        return html.Div([html.H1(_("Notifications")), html.P(_("Administrators log in first.")),
                         html.A(_("Log in"), href="/login?next=/admin/notifications")], className="sc-home")
    cfg, where = _config()
    return frame(_, cfg, where)


def frame(_: Translator = str, cfg: notify_config.NotifyConfig | None = None, where: str = "") -> html.Div:
    """Every component of the page."""
    channels = [{"name": n, "type": c.type, "label": c.label, "limit": c.limit_per_min}
                for n, c in (cfg.channels.items() if cfg else [])]
    recipients = [{"name": n, "channel": r.channel, "language": r.language, "label": r.label}
                  for n, r in (cfg.recipients.items() if cfg else [])]
    routes = [{"name": r.name, "match": _match_text(r, _), "steps": _route_text(r, _),
               "remind": f"{r.remind_every_s} s" if r.remind_every_s else "–",
               "quiet": f"{r.quiet_hours.start:%H:%M}–{r.quiet_hours.end:%H:%M}" if r.quiet_hours else "–"}
              for r in (cfg.routes if cfg else [])]
    state = (_("Notification file: {path}").format(path=where) if cfg else
             _("No notification file: nobody is notified (set SAFECAMPUS_NOTIFY_FILE).") if where in ("", "none")
             else _("The notification file is wrong: {error}").format(error=where))
    return html.Div(
        [
            html.Header([html.H1(_("Notifications")), html.A(_("Console"), href="/console")],
                        className="sc-console-header"),
            html.P(state, id="notify-file", className="sc-msg" if cfg else "sc-bad"),
            html.H3(_("Channels")),
            _table(CHANNELS, [(_("channel"), "name"), (_("type"), "type"), (_("label"), "label"),
                              (_("per minute"), "limit"), (_("last attempt"), "last"), (_("answer"), "answer")],
                   channels),
            html.Div([dcc.Dropdown(id=CHANNEL, options=[c["name"] for c in channels], placeholder=_("channel"),
                                   className="sc-filter"),
                      html.Button(_("Send a test message"), id=SEND)], className="sc-actions"),
            html.Div(id=MSG, className="sc-msg", role="status"),
            html.H3(_("Recipients")),
            _table("notify-recipients", [(_("recipient"), "name"), (_("channel"), "channel"),
                                         (_("language"), "language"), (_("label"), "label")], recipients),
            html.H3(_("Routes")),
            _table("notify-routes", [(_("route"), "name"), (_("alarms"), "match"), (_("steps"), "steps"),
                                     (_("reminders"), "remind"), (_("quiet hours"), "quiet")], routes),
            html.H3(_("Latest notifications")),
            _table(RECENT, [(_("created"), "created"), (_("alarm"), "alarm_id"), (_("step"), "step"),
                            (_("recipient"), "recipient"), (_("channel"), "channel"), (_("status"), "status"),
                            (_("attempts"), "attempts"), (_("sent"), "sent"), (_("error"), "error")]),
            dcc.Interval(id=TICK, interval=5000),
        ],
        className="sc-console",
    )


@callback(Output(RECENT, "data"), Output(CHANNELS, "data"), Input(TICK, "n_intervals"), Input(MSG, "children"),
          State(CHANNELS, "data"))
def refresh(_n: int | None, _msg: object, channels: list[dict] | None) -> tuple[list[dict], list[dict]]:
    """The latest deliveries and each channel's last attempt."""
    if not allowed("admin"):
        raise PreventUpdate
    _ = lang.gettext()
    with connection() as conn:
        recent = conn.execute(nq.RECENT, {"limit": 100}).fetchall()
        last = {r["channel"]: r for r in conn.execute(nq.CHANNEL_STATE).fetchall()}
    rows = [{"created": clock.fmt(r["created_at"], "%m-%d %H:%M:%S"), "alarm_id": r["alarm_id"] or "",
             "step": step_label(r["step"], lang.current()), "recipient": r["recipient"], "channel": r["channel"],
             "status": _(STATUS_LABELS.get(r["status"], r["status"])) + (" ↻" if r["in_doubt"] else ""),
             "attempts": r["attempts"], "sent": clock.fmt(r["sent_at"], "%H:%M:%S"), "error": r["last_error"] or ""}
            for r in recent]
    ok, failed = _("ok"), _("failed")
    chans = []
    for c in channels or []:
        seen = last.get(c["name"])
        chans.append(c | ({"last": f"{clock.fmt(seen['at'], '%m-%d %H:%M:%S')} {ok if seen['ok'] else failed}",
                           "answer": f"{seen['status']} {seen['response'] or ''}"[:120]}
                          if seen else {"last": "–", "answer": ""}))
    return rows, chans


@callback(Output(MSG, "children"), Input(SEND, "n_clicks"), State(CHANNEL, "value"), prevent_initial_call=True)
def send_test(_n: int | None, channel: str | None) -> str:
    """Queue a test message on one channel; the notifier sends it and the table shows how it went."""
    _ = lang.gettext()
    denied = refusal("admin", N_("send a test notification"), _)
    if denied:
        return denied
    cfg, _where = _config()
    if not cfg or not channel or channel not in cfg.channels:
        return _("Choose a channel first.")
    user = current_user()["username"]  # type: ignore[index]
    with connection() as conn, conn.transaction():
        row = conn.execute(nq.ADD_TEST, {"recipient": user, "channel": channel, "language": lang.current(),
                                         "body": Jsonb({"requested_by": user})}).fetchone()
        conn.execute(nq.WAKE)
    return _("Test message {id} queued for {channel}; its result shows below within seconds.").format(
        id=row["id"] if row else "?", channel=channel)
