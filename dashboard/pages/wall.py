"""The wall screen: what is wrong, where, how bad, what is new. Read-only, no mouse needed."""

from __future__ import annotations

from datetime import UTC, datetime

import dash
from dash import ClientsideFunction, Input, Output, State, callback, clientside_callback, dcc, html
from flask import current_app

from dashboard import floormap, lang
from dashboard import queries as q
from dashboard.auth import allowed
from dashboard.db import connection
from dashboard.ids import LIVE_SIGNAL
from dashboard.report import kpis
from dashboard.report import queries as report_q
from dashboard.safetyviews import plan_states
from ingest.alarms import messages
from ingest.core import clock
from ingest.core.i18n import N_, Translator

dash.register_page(__name__, path="/wall", title="SafeCampus")

SLOW_TICK = "wall-slow-tick"
CLOCK_TICK = "wall-clock-tick"
CLOCK = "wall-clock"
CLOCK_ZONE = "wall-clock-zone"
COUNTS = "wall-counts"
ALARMS = "wall-alarms"
PLAN = "wall-plan"
STREAKS = "wall-streaks"
FLOW = "wall-flow"
STATUS = "wall-status"


def layout(**_query: str) -> html.Div:
    """The wall for kiosks and logged-in users; a pointer to the kiosk link for anyone else."""
    _ = lang.gettext()
    if not allowed("kiosk"):
        return html.Div(
            [
                html.H1(_("SafeCampus wall screen")),
                html.P(_("Open this screen with its kiosk link, or log in.")),
                html.A(_("Log in"), href="/login?next=/wall"),
            ],
            className="sc-home",
        )
    return frame(_)


def frame(_: Translator = str) -> html.Div:
    """Every component of the wall (callbacks fill them)."""
    return html.Div(
        [
            html.Header(
                [
                    html.H1("SafeCampus"),
                    html.Div(id=STATUS, className="sc-status"),
                    html.Div(id=FLOW, className="sc-flow"),
                    html.Div(id=CLOCK, className="sc-clock"),
                ],
                className="sc-header",
            ),
            html.Section(id=COUNTS, className="sc-counts"),
            html.Div(
                [
                    html.Div(id=PLAN, className="sc-plan"),
                    html.Section(id=ALARMS, className="sc-alarms"),
                ],
                className="sc-wall-main",
            ),
            html.Footer(
                [
                    html.Span(_("Days without a real incident:"), className="sc-streak-title"),
                    html.Div(id=STREAKS, className="sc-streak-list"),
                ],
                className="sc-streaks",
            ),
            dcc.Interval(id=SLOW_TICK, interval=15_000),
            dcc.Interval(id=CLOCK_TICK, interval=1_000),
            # The clock shows campus time wherever the browser is (a screen in another zone too).
            dcc.Store(id=CLOCK_ZONE, data=clock.campus_zone().key),
        ],
        className="sc-wall",
    )


clientside_callback(
    ClientsideFunction("safecampus", "clock"), Output(CLOCK, "children"), Input(CLOCK_TICK, "n_intervals"),
    State(CLOCK_ZONE, "data"),
)


def _age(ts: datetime, now: datetime, _: Translator) -> str:
    secs = max(int((now - ts).total_seconds()), 0)
    if secs < 60:
        return _("{n} s").format(n=secs)
    if secs < 3600:
        return _("{n} min").format(n=secs // 60)
    if secs < 86400:
        return _("{h} h {m} min").format(h=secs // 3600, m=secs % 3600 // 60)
    return _("{n} d").format(n=secs // 86400)


def _tile(label: str, value: int, tone: str) -> html.Div:
    cls = f"sc-count sc-{tone}" if value else "sc-count"
    return html.Div([html.Div(str(value), className="sc-count-value"), html.Div(label)], className=cls)


def _alarm_row(a: dict, now: datetime, _: Translator, first: bool = False) -> html.Div:
    where = " / ".join(x for x in (lang.named(a, "building"), lang.named(a, "room")) if x) or a["sensor_id"]
    tags = [html.Span(_("FIRST ALARM"), className="sc-tag sc-tag-first")] if first else []
    if a["drill"]:
        tags.append(html.Span(_("DRILL"), className="sc-tag sc-tag-drill"))
    if a["confirmed"]:
        tags.append(html.Span(_("CONFIRMED"), className="sc-tag sc-tag-confirmed"))
    if a["occurrences"] > 1:
        tags.append(html.Span(f"×{a['occurrences']}", className="sc-tag"))
    cls = f"sc-alarm sc-p-{a['priority']}" + (" sc-unacked" if a["state"] == "active_unacked" else "")
    if a["state"] == "rtn_unacked":
        cls += " sc-rtn"
    return html.Div(
        [
            html.Span(_(PRIORITY_BADGES[a["priority"]]), className="sc-badge"),
            html.Div(
                [html.Div(lang.alarm_text(a), className="sc-what"), html.Div(where, className="sc-where")],
                className="sc-alarm-text",
            ),
            html.Div(tags, className="sc-tags"),
            html.Span(_age(a["raised_at"], now, _), className="sc-age"),
        ],
        className=cls,
        id=f"wall-alarm-{a['id']}",
    )


ROWS, FLOOD_ROWS, FLOOD_BUILDINGS = 7, 4, 5  # what fits at 16:9 (1080p and 2160p alike: sizes are in vw)


def _read(now: datetime) -> tuple:
    """Everything the wall shows, the same for every screen."""
    with connection() as conn:
        focus = conn.execute(q.MAP_FOCUS).fetchone()
        first = conn.execute(q.MAP_FIRST_FIRE).fetchone()
        place = {"building": focus["building_id"], "floor": focus["floor"]} if focus and focus["plan"] else None
        flood = kpis.flood_now([r["at"] for r in conn.execute(q.WALL_FLOOD_TIMES)], now)
        return (
            conn.execute(q.WALL_COUNTS).fetchone() or {},
            conn.execute(q.WALL_ALARMS, {"limit": FLOOD_ROWS if flood else ROWS,
                                         "pin": first["id"] if first else None}).fetchall(),
            conn.execute(q.MAP_BUILDINGS).fetchall(),
            conn.execute(q.INGEST_HEALTH).fetchall(),
            [r for r in conn.execute(report_q.STREAKS, {"end": now}).fetchall() if r["level"] != "building"],
            (focus, first,
             conn.execute(q.MAP_PLAN, place).fetchone() if place else None,
             conn.execute(q.MAP_DEVICES, place).fetchall() if place else []),
            (flood, conn.execute(q.WALL_FLOOD_GROUPS).fetchall() if flood else []),
            (conn.execute(q.WALL_OVERDUE).fetchone() or {},
             sum(1 for _p, st in plan_states(conn.execute(q.SAFETY_PLANS).fetchall(), now, clock.campus_zone().key)
                 if st.state == "overdue")),
        )


def _where(row: dict, _: Translator) -> str:
    return " · ".join(x for x in (lang.named(row, "building"), floormap.floor_name(row["floor"], _),
                                  lang.named(row, "room")) if x)


def _plan(buildings: list[dict], focus: dict | None, first: dict | None, plan: dict | None, devices: list[dict],
          _: Translator) -> list:
    """The campus when all is normal; else the floor of the most urgent alarm, its device marked,
    and the first fire alarm of the incident (首警) marked wherever it is.
    """
    caption: list = []
    if first:
        caption.append(html.Div([html.Span(_("First fire alarm") + ": ", className="sc-muted"), _where(first, _),
                                 html.Span(" " + clock.fmt(first["raised_at"], "%H:%M:%S"), className="sc-muted")],
                                className="sc-plan-caption", id="wall-first-alarm"))
    if focus and plan:
        caption.insert(0, html.Div(_where(focus, _), className="sc-plan-caption", id="wall-plan-where"))
        view = floormap.floor(plan, devices, _, links=False, focus=focus["sensor_id"],
                              first=first["sensor_id"] if first else None, ident="wall-floor")
        return [*caption, view]
    highlight = focus["building_id"] if focus else None
    return [*caption, floormap.campus(buildings, _, links=False, highlight=highlight, ident="wall-campus")]


def _services(ingest: list[dict], _: Translator) -> html.Span:
    """Ingest and broker health as the ingestors last reported it (they write it every 5 s)."""
    live = [r for r in ingest if r["fresh"]]
    if not live:
        return html.Span(" · " + _("ingest: not running"), className="sc-bad", id="wall-services")
    failed = [r for r in live if r["status"].get("status") in ("failed", "stalled")]
    bad_db = [r for r in live if r["status"].get("database") != "ok"]
    bad_broker = [r for r in live if r["status"].get("broker") != "connected"]
    if failed or bad_db or bad_broker:
        what = (_("ingest: stalled, nothing stored") if failed else _("ingest: database unavailable") if bad_db
                else _("ingest: broker disconnected"))
        return html.Span(f" · {what}", className="sc-bad", id="wall-services")
    failing = sorted({c for r in live for c in (r["status"].get("notify") or {}).get("failing", [])})
    ok = " · " + _("ingest ×{n} ok · broker ok").format(n=len(live))
    if failing:  # nobody away from the screens hears of alarms on these channels
        return html.Span(ok + " · " + _("notifications failing: {channels}").format(channels=", ".join(failing)),
                         className="sc-bad", id="wall-services")
    return html.Span(ok, className="sc-ok", id="wall-services")


@callback(
    Output(COUNTS, "children"),
    Output(ALARMS, "children"),
    Output(PLAN, "children"),
    Output(STREAKS, "children"),
    Output(FLOW, "children"),
    Output(STATUS, "children"),
    Input(LIVE_SIGNAL, "data"),
    Input(SLOW_TICK, "n_intervals"),
)
def refresh(_signal: object, _n: int | None) -> tuple:
    """Re-read the open alarms; runs when an alarm changes (push) and every 15 s."""
    if not allowed("kiosk"):
        raise dash.exceptions.PreventUpdate
    feed, cache = current_app.extensions["safecampus_feed"], current_app.extensions["safecampus_wall_cache"]
    # Every screen shows the same thing: build it once per change (or per second) per worker.
    language = lang.current()
    return cache.get(feed.version, lambda: _render(datetime.now(UTC), lang.gettext()), key=language)


PRIORITY_BADGES = {"critical": N_("CRITICAL"), "high": N_("HIGH"), "medium": N_("MEDIUM"), "low": N_("LOW")}
WORST = {"critical": N_("CRITICAL ALARM"), "high": N_("HIGH ALARM"), "medium": N_("MEDIUM ALARM"),
         "low": N_("LOW ALARM")}


def _rows(alarms: list[dict], first: int | None, flood: kpis.Flood | None, groups: list[dict], now: datetime,
          _: Translator) -> list:
    """The alarm rows that fit, the first fire alarm pinned on top, and a line for those that do not;
    in a flood, a banner and the open alarms counted by building and kind instead of more rows.
    """
    if not alarms:
        return [html.Div(_("All normal"), className="sc-calm")]
    out: list = []
    if flood:
        out.append(html.Div(_("ALARM FLOOD since {time} · {n} alarms · {rate}/min").format(
            time=clock.fmt(flood.since, "%H:%M:%S"), n=flood.count, rate=f"{flood.per_minute:g}"),
            className="sc-flood-banner", id="wall-flood"))
    out += [_alarm_row(a, now, _, first=a["id"] == first) for a in alarms]
    if flood:
        per: dict[str, dict] = {}
        for g in groups:
            b = per.setdefault(g["building_id"], {"row": g, "n": 0, "kinds": []})
            b["n"] += g["n"]
            b["kinds"].append(f"{g['n']} {messages.condition_label(g['condition'], lang.current())}")
        top = sorted(per.values(), key=lambda b: -b["n"])
        lines = [html.Div([html.Span(lang.named(b["row"], "building"), className="sc-flood-where"),
                           html.Span(f"{b['n']}", className="sc-flood-n"),
                           html.Span(" · ".join(b["kinds"][:3]), className="sc-flood-kinds")],
                          className="sc-flood-line") for b in top[:FLOOD_BUILDINGS]]
        if len(top) > FLOOD_BUILDINGS:
            lines.append(html.Div(_("+{n} more buildings").format(n=len(top) - FLOOD_BUILDINGS), className="sc-more"))
        out.append(html.Div(lines, className="sc-flood-groups", id="wall-flood-groups"))
    hidden = alarms[0]["total"] - len(alarms)
    if hidden > 0:
        out.append(html.Div(_("+{n} more alarms: the console lists them all").format(n=hidden), className="sc-more",
                            id="wall-more"))
    return out


def _render(now: datetime, _: Translator) -> tuple:
    """The wall's outputs at ``now``, in the language of ``_``."""
    c, alarms, buildings, ingest, streaks, (focus, first, plan, devices), (flood, groups), (due, plans_late) = \
        _read(now)
    tiles = [
        _tile(_("critical"), c["critical"], "critical"),
        _tile(_("high"), c["high"], "high"),
        _tile(_("medium"), c["medium"], "medium"),
        _tile(_("low"), c["low"], "low"),
        _tile(_("unacknowledged"), c["unacked"], "unacked"),
        _tile(_("sensors offline"), c["offline"], "medium"),
        _tile(_("shelved"), c["shelved"], "muted"),
        _tile(_("drills"), c["drills"], "muted"),
    ]
    rows = _rows(alarms, first["id"] if first else None, flood, groups, now, _)
    streak_items = []
    for s in streaks:
        days = (now - s["last_real"]).days if s["last_real"] else None
        text = _("{n} d").format(n=days) if days is not None else _("none on record")
        streak_items.append(
            html.Div(
                [html.Span(_("whole campus") if s["level"] == "campus" else lang.named(s), className="sc-streak-name"),
                 html.Span(text, className="sc-streak-days")],
                className="sc-streak sc-streak-campus" if s["level"] == "campus" else "sc-streak",
            )
        )
    last = c.get("last_event")
    lag = int((now - last).total_seconds()) if last else None
    flow = [
        html.Span(_("data: live"), className="sc-ok")
        if lag is not None and lag < 120
        else html.Span(
            _("data: stalled {n} min").format(n=lag // 60) if lag else _("data: none yet"), className="sc-bad"
        ),
        _services(ingest, _),
    ]
    quiet = [x for x in (
        _("{n} inspections overdue").format(n=plans_late) if plans_late else "",
        _("{n} hazards past their deadline").format(n=due.get("hazards")) if due.get("hazards") else "",
        _("walk test under way") if due.get("tests") else "") if x]
    if quiet:  # a quiet line: nothing here is an alarm, but someone should see to it
        flow.append(html.Span(" · " + " · ".join(quiet), className="sc-quiet", id="wall-quiet"))
    worst = next((p for p in ("critical", "high", "medium", "low") if c.get(p)), None)
    status = html.Span(
        _("NORMAL") if not worst else _(WORST[worst]), className=f"sc-state sc-state-{worst or 'normal'}"
    )
    return tiles, rows, _plan(buildings, focus, first, plan, devices, _), streak_items, flow, status
