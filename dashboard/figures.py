"""Pure figure builders: data in, Plotly figure out."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import plotly.graph_objects as go

from ingest.core import clock
from ingest.core.i18n import N_, Translator

PRIORITY_COLOURS = {"critical": "#e53935", "high": "#fb8c00", "medium": "#fdd835", "low": "#26c6da"}
BG = "#2b2d30"


def sparkline(rows: list[dict[str, Any]], label: Callable[[str], str] = str) -> go.Figure:
    """Recent readings of one sensor, one line per metric (named by ``label``), in campus time."""
    fig = go.Figure()
    metrics = sorted({r["metric"] for r in rows})
    for m in metrics:
        pts = [r for r in rows if r["metric"] == m]
        fig.add_trace(go.Scatter(x=[campus_time(r["time"]) for r in pts], y=[r["value"] for r in pts],
                                 mode="lines", name=label(m)))
    fig.update_layout(
        height=180,
        margin={"l": 40, "r": 8, "t": 8, "b": 24},
        paper_bgcolor=BG,
        plot_bgcolor="#33363a",
        font={"color": "#c9ccd1"},
        legend={"orientation": "h", "y": -0.25},
        xaxis={"gridcolor": "#44484d"},
        yaxis={"gridcolor": "#44484d"},
    )
    return fig


def _dark(fig: go.Figure, height: int = 260) -> go.Figure:
    fig.update_layout(
        height=height,
        margin={"l": 48, "r": 12, "t": 64, "b": 36},  # the title on top, the legend between it and the plot
        paper_bgcolor=BG,
        plot_bgcolor="#33363a",
        font={"color": "#c9ccd1"},
        title={"y": 0.97, "yanchor": "top"},
        legend={"orientation": "h", "y": 1.0, "yanchor": "bottom", "x": 0},
        xaxis={"gridcolor": "#44484d"},
        yaxis={"gridcolor": "#44484d"},
    )
    return fig


def campus_time(ts: datetime) -> datetime:
    """Plotly draws a datetime's own wall time: give it the campus's (naive, so nothing shifts it)."""
    return clock.local(ts).replace(tzinfo=None)


def series(rows: list[dict[str, Any]], title: str, _: Translator = str) -> go.Figure:
    """An average line with a min-max band (rows: bucket, avg, min, max), in campus time."""
    x = [campus_time(r["bucket"]) for r in rows]
    fig = go.Figure(
        [
            go.Scatter(
                x=x, y=[r["max"] for r in rows], mode="lines", line={"width": 0}, showlegend=False, hoverinfo="skip"
            ),
            go.Scatter(
                x=x,
                y=[r["min"] for r in rows],
                mode="lines",
                line={"width": 0},
                fill="tonexty",
                fillcolor="rgba(120,144,156,0.3)",
                name=_("min-max"),
            ),
            go.Scatter(x=x, y=[r["avg"] for r in rows], mode="lines", line={"color": "#cfd8dc"}, name=_("average")),
        ]
    )
    fig.update_layout(title={"text": title, "font": {"size": 14}})
    return _dark(fig)


def stacked_counts(
    rows: list[dict[str, Any]], x_key: str, group_key: str, title: str, colours: dict[str, str] | None = None,
    labels: dict[str, str] | None = None, _: Translator = str,
) -> go.Figure:
    """Stacked bars of counts per x and group (each group named by ``labels``, translated with ``_``)."""
    groups = sorted({r[group_key] for r in rows})
    fig = go.Figure(
        [
            go.Bar(
                x=[campus_time(r[x_key]) if isinstance(r[x_key], datetime) and r[x_key].tzinfo else r[x_key]
                   for r in rows if r[group_key] == g],
                y=[r["n"] for r in rows if r[group_key] == g],
                name=_((labels or {}).get(g, g)),
                marker_color=(colours or {}).get(g),
            )
            for g in groups
        ]
    )
    fig.update_layout(barmode="stack", title={"text": title, "font": {"size": 14}})
    return _dark(fig)


WEEKDAYS = (N_("Mon"), N_("Tue"), N_("Wed"), N_("Thu"), N_("Fri"), N_("Sat"), N_("Sun"))


def week_heatmap(rows: list[dict[str, Any]], title: str, _: Translator = str) -> go.Figure:
    """Hour-of-week heat map (rows: dow 1-7, hour 0-23, n)."""
    grid = [[0] * 24 for _ in range(7)]
    for r in rows:
        grid[r["dow"] - 1][r["hour"]] = int(r["n"])
    fig = go.Figure(
        go.Heatmap(
            z=grid,
            x=list(range(24)),
            y=[_(d) for d in WEEKDAYS],
            colorscale="Cividis",
            colorbar={"title": _("accesses")},
        )
    )
    fig.update_layout(title={"text": title, "font": {"size": 14}}, yaxis={"autorange": "reversed"})
    return _dark(fig)
