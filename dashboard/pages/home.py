"""The landing page: links to the screens."""

from __future__ import annotations

import dash
from dash import dcc, html

dash.register_page(__name__, path="/", title="SafeCampus")


def layout(**_query: str) -> html.Div:
    """Links to each screen."""
    return html.Div(
        [html.H1("SafeCampus"), html.Ul([html.Li(dcc.Link("Wall screen", href="/wall"))])],
        className="sc-home",
    )
