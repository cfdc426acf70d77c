"""The landing page: links to the screens."""

from __future__ import annotations

import dash
from dash import html

dash.register_page(__name__, path="/", title="SafeCampus")


def layout(**_query: str) -> html.Div:
    """Links to each screen."""
    return html.Div(
        [
            html.H1("SafeCampus"),
            html.Ul(
                [
                    html.Li(html.A(label, href=href))
                    for label, href in (
                        ("Wall screen", "/wall"),
                        ("Alarm console", "/console"),
                        ("Shift handover and duty log", "/console/handover"),
                        ("Trends", "/trends"),
                        ("Sensors", "/sensors"),
                        ("Weekly review (last week)", "/reports/weekly"),
                        ("Alarm-system health for any period", "/reports/health"),
                        ("Log in", "/login"),
                    )
                ]
            ),
        ],
        className="sc-home",
    )
