"""Trends: downsampled series per sensor and building, event rates, door heat map, alarms per day."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import dash
from dash import Input, Output, callback, dcc, html
from dash.exceptions import PreventUpdate

from dashboard import figures, lang
from dashboard import queries as q
from dashboard.auth import allowed
from dashboard.db import connection
from ingest.core import clock
from ingest.core.i18n import N_, Translator
from ingest.core.vocabulary import PRIORITY_LABELS, SENSOR_KIND_LABELS
from ingest.mqtt.contract import LAB_METRICS

dash.register_page(__name__, path="/trends", title="SafeCampus")

RANGE, BUILDING, SENSOR, METRIC = "trends-range", "trends-building", "trends-sensor", "trends-metric"
SERIES, RATES, HEAT, ALARMS = "trends-series", "trends-rates", "trends-heat", "trends-alarms"
RANGES = {"1h": timedelta(hours=1), "24h": timedelta(hours=24), "7d": timedelta(days=7), "30d": timedelta(days=30)}
RANGE_LABELS = {"1h": N_("1 hour"), "24h": N_("24 hours"), "7d": N_("7 days"), "30d": N_("30 days")}
def layout(**_query: str) -> html.Div:
    """Trends, for logged-in users."""
    _ = lang.gettext()
    if not allowed("viewer"):
        return html.Div(
            [html.H1(_("SafeCampus trends")), html.A(_("Log in"), href="/login?next=/trends")], className="sc-home"
        )
    with connection() as conn:
        buildings = [
            {"label": lang.named(c), "value": c["id"]}
            for c in conn.execute(q.FILTER_CHOICES).fetchall()
            if c["what"] == "building"
        ]
    return frame(buildings, _, lang.current())


def frame(buildings: list | None = None, _: Translator = str, locale: str = "en") -> html.Div:
    """Every component of the trends page, in the language of ``_`` (charts in ``locale``)."""
    graph = {"displayModeBar": False, "locale": locale}
    return html.Div(
        [
            html.Header(
                [html.H1(_("Trends")), html.A(_("Console"), href="/console"), html.A(_("Wall"), href="/wall")],
                className="sc-console-header",
            ),
            html.Div(
                [
                    dcc.RadioItems(id=RANGE, options=[{"label": _(RANGE_LABELS[k]), "value": k} for k in RANGES],
                                   value="24h", inline=True, className="sc-range"),
                    dcc.Dropdown(
                        id=BUILDING, options=buildings or [], placeholder=_("all buildings"), className="sc-filter"
                    ),
                    dcc.Dropdown(
                        id=SENSOR, options=[], placeholder=_("sensor (else the building)"), className="sc-filter"
                    ),
                    dcc.Dropdown(
                        id=METRIC,
                        options=[{"label": lang.metric_label(m, _), "value": m} for m in LAB_METRICS],
                        value="temperature_c",
                        clearable=False,
                        className="sc-filter",
                    ),
                ],
                className="sc-filters",
            ),
            dcc.Graph(id=SERIES, config=graph),
            html.Div(
                [
                    dcc.Graph(id=RATES, config=graph, className="sc-half"),
                    dcc.Graph(id=ALARMS, config=graph, className="sc-half"),
                ],
                className="sc-row",
            ),
            dcc.Graph(id=HEAT, config=graph),
        ],
        className="sc-console sc-trends",
    )


@callback(Output(SENSOR, "options"), Input(BUILDING, "value"))
def sensors(building: str | None) -> list[dict[str, str]]:
    """Lab sensors of the chosen building."""
    if not allowed("viewer"):
        raise PreventUpdate
    with connection() as conn:
        rows = conn.execute(q.SENSOR_CHOICES, {"building": building}).fetchall()
    return [{"label": r["name"], "value": r["id"]} for r in rows]


@callback(
    Output(SERIES, "figure"),
    Output(RATES, "figure"),
    Output(ALARMS, "figure"),
    Output(HEAT, "figure"),
    Input(RANGE, "value"),
    Input(BUILDING, "value"),
    Input(SENSOR, "value"),
    Input(METRIC, "value"),
)
def charts(span: str, building: str | None, sensor: str | None, metric: str) -> tuple:
    """All four charts from the rollups (5-minute buckets up to a day, hourly beyond)."""
    if not allowed("viewer"):
        raise PreventUpdate
    _ = lang.gettext()
    since = datetime.now(UTC) - RANGES.get(span, RANGES["24h"])
    fine = span in ("1h", "24h")
    args = {"since": since, "building": building, "sensor": sensor, "metric": metric, "tz": clock.campus_zone().key}
    with connection() as conn:
        if sensor:
            rows = conn.execute(q.SERIES_SENSOR_5M if fine else q.SERIES_SENSOR_1H, args).fetchall()
            title = _("{metric} at {sensor}").format(metric=lang.metric_label(metric, _), sensor=sensor)
        elif building:
            rows = conn.execute(q.SERIES_BUILDING_5M if fine else q.SERIES_BUILDING_1H, args).fetchall()
            title = _("{metric} across {building}").format(metric=lang.metric_label(metric, _), building=building)
        else:
            rows, title = [], _("choose a building or a sensor")
        rates = conn.execute(q.EVENT_RATES, args).fetchall()
        heat = conn.execute(
            q.DOOR_HEATMAP, args | {"since": min(since, datetime.now(UTC) - timedelta(days=7))}
        ).fetchall()
        per_day = conn.execute(q.ALARMS_PER_DAY, args).fetchall()
    return (
        figures.series(rows, title, _),
        figures.stacked_counts(rates, "bucket", "kind", _("Events per hour by kind"), labels=SENSOR_KIND_LABELS, _=_),
        figures.stacked_counts(per_day, "day", "priority", _("Alarms per day by priority"), figures.PRIORITY_COLOURS,
                               labels=PRIORITY_LABELS, _=_),
        figures.week_heatmap(heat, _("Door accesses by hour of week"), _),
    )
