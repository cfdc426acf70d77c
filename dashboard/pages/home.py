"""The landing page: links to the screens."""

from __future__ import annotations

import dash
from dash import html

from dashboard import lang

dash.register_page(__name__, path="/", title="SafeCampus")


def layout(**_query: str) -> html.Div:
    """Links to each screen."""
    _ = lang.gettext()
    return html.Div(
        [
            html.H1("SafeCampus"),
            html.Ul(
                [
                    html.Li(html.A(label, href=href))
                    for label, href in (
                        (_("Wall screen"), "/wall"),
                        (_("Alarm console"), "/console"),
                        (_("Shift handover and duty log"), "/console/handover"),
                        (_("Trends"), "/trends"),
                        (_("Sensors"), "/sensors"),
                        (_("Weekly review (last week)"), "/reports/weekly"),
                        (_("Alarm-system health for any period"), "/reports/health"),
                        (_("Notifications (administrators)"), "/admin/notifications"),
                        (_("Log in"), "/login"),
                    )
                ]
            ),
        ],
        className="sc-home",
    )
