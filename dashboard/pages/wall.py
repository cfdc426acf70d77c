"""The wall screen: what is happening on campus, readable from across the room."""

from __future__ import annotations

from datetime import UTC, datetime

import dash
from dash import Input, Output, callback, dcc, html

from dashboard import queries as q
from dashboard.db import connection

dash.register_page(__name__, path="/wall", title="SafeCampus wall")

TICK = "wall-tick"
CLOCK = "wall-clock"
COUNTS = "wall-counts"
EVENTS = "wall-events"


def layout(**_query: str) -> html.Div:
    """The page frame; the callback fills it and refreshes it."""
    return html.Div(
        [
            html.Header(
                [html.H1("SafeCampus"), html.Div(id=CLOCK, className="sc-clock")],
                className="sc-header",
            ),
            html.Section(id=COUNTS, className="sc-counts"),
            html.Section(id=EVENTS, className="sc-events"),
            dcc.Interval(id=TICK, interval=2000),
        ],
        className="sc-wall",
    )


def _age(ts: datetime, now: datetime) -> str:
    secs = max(int((now - ts).total_seconds()), 0)
    if secs < 60:
        return f"{secs} s"
    if secs < 3600:
        return f"{secs // 60} min"
    return f"{secs // 3600} h"


def _count(label: str, value: int, tone: str = "") -> html.Div:
    return html.Div([html.Div(str(value), className="sc-count-value"), html.Div(label)],
                    className=f"sc-count {tone}".strip())


@callback(Output(CLOCK, "children"), Output(COUNTS, "children"), Output(EVENTS, "children"),
          Input(TICK, "n_intervals"))
def refresh(_n: int | None) -> tuple[str, list[html.Div], html.Table]:
    """Re-read counts and the newest events."""
    now = datetime.now(UTC)
    with connection() as conn:
        counts = conn.execute(q.WALL_COUNTS).fetchone() or {}
        events = conn.execute(q.LATEST_EVENTS, {"limit": 15}).fetchall()
    tiles = [
        _count("sensors", counts.get("sensors", 0)),
        _count("offline", counts.get("offline", 0), "sc-warn" if counts.get("offline") else ""),
        _count("events, last 5 min", counts.get("events_5m", 0)),
        _count("rejected, last hour", counts.get("dead_letters_1h", 0)),
    ]
    rows = [
        html.Tr(
            [
                html.Td(_age(e["time"], now)),
                html.Td(e["building"] or "?"),
                html.Td(e["room"] or e["sensor_id"]),
                html.Td(e["kind"]),
                html.Td((e["state"] or "").replace("_", " ") + (" (drill)" if e["drill"] else "")),
            ],
            className="sc-event",
        )
        for e in events
    ]
    table = html.Table(
        [html.Thead(html.Tr([html.Th(h) for h in ("age", "building", "where", "kind", "what")])),
         html.Tbody(rows)],
        className="sc-table",
    )
    return now.astimezone().strftime("%H:%M:%S"), tiles, table
