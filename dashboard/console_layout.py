"""The console's components and their ids: the page's frame, built once per visit (callbacks fill it).

Kept apart from the page's callbacks (``dashboard/pages/console.py``) so each stays small.
"""

from __future__ import annotations

from dash import dash_table, dcc, html

from dashboard import figures
from ingest.core.i18n import N_, Translator
from ingest.core.vocabulary import (
    DISPOSITION_LABELS,
    DISPOSITIONS,
    FAMILY_LABELS,
    OPEN_STATES,
    PRIORITIES,
    PRIORITY_LABELS,
    STATE_LABELS,
)

F_PRIORITY, F_STATE, F_BUILDING, F_DEPARTMENT, F_FAMILY, F_SHELVED = (
    "f-priority",
    "f-state",
    "f-building",
    "f-department",
    "f-family",
    "f-shelved",
)
QUEUE = "console-queue"
SELECTED = "console-selected"
VERSION = "console-version"
DETAIL = "console-detail"
STEPS = "console-steps"
JOURNAL = "console-journal"
CHART = "console-chart"
MSG = "console-msg"
DONE = "console-done"
ACK, ASSIGN, RESET, NEXT, PREV = "console-ack", "console-assign", "console-reset", "console-next", "console-prev"
NOTE, NOTE_BTN = "console-note", "console-note-btn"
SHELVE_MIN, SHELVE_REASON, SHELVE_BTN = "console-shelve-min", "console-shelve-reason", "console-shelve-btn"
DISPOSITION, CLOSE_NOTE, CLOSE_BTN = "console-disposition", "console-close-note", "console-close-btn"
TICK = "console-tick"
# sending a guard (callbacks in dashboard/console_dispatch.py)
DISPATCH_GUARD, DISPATCH_BTN, DISPATCH_NOTE, DISPATCHES = ("console-dispatch-guard", "console-dispatch-btn",
                                                           "console-dispatch-note", "console-dispatches")
DISPATCH_CANCEL = "console-dispatch-cancel"  # pattern id: {"type": DISPATCH_CANCEL, "id": dispatch}
HAZARD_BTN = "console-hazard-btn"  # report a hazard seen behind the alarm (dashboard/console_dispatch.py)
PAGE_SIZE = 18
F_GROUP, GROUPS, GROUP, TOTAL, GROUP_PANEL = "f-group", "console-groups", "console-group", "console-total", \
    "console-group-panel"
GROUP_NOTE, GROUP_ACK, GROUP_SHELVE_MIN, GROUP_SHELVE_REASON, GROUP_SHELVE = (
    "console-group-note", "console-group-ack", "console-group-shelve-min", "console-group-shelve-reason",
    "console-group-shelve")
GROUP_BY = ("building", "condition", "zone")
GROUP_BY_LABELS = {"building": N_("group by building"), "condition": N_("group by kind of alarm"),
                   "zone": N_("group by zone")}
HIDDEN = {"display": "none"}
STATES = OPEN_STATES
FAMILIES = ("fire", "door", "lab", "heartbeat", "patrol")



def _group_panel(_: Translator) -> html.Div:
    """A flood's groups (by building, kind or zone), and one action for a whole group."""
    return html.Div(
        [
            dash_table.DataTable(  # type: ignore[attr-defined]  # Dash generates it at import
                id=GROUPS, row_selectable="single", selected_rows=[], page_size=8,
                columns=[{"name": n, "id": i} for n, i in ((_("group"), "label"), (_("open"), "open"),
                                                           (_("unacknowledged"), "unacked"),
                                                           (_("most urgent"), "worst"), (_("first"), "first"))],
                style_as_list_view=True,
                style_header={"backgroundColor": "#35383c", "color": "#9a9ea3", "border": "none"},
                style_cell={"backgroundColor": "#2b2d30", "color": "#d8dadc", "border": "none", "textAlign": "left",
                            "fontSize": "15px", "padding": "5px"},
            ),
            html.Div(
                [
                    dcc.Input(id=GROUP_NOTE, placeholder=_("note for every alarm of the group"), className="sc-text"),
                    html.Button(_("Acknowledge the group"), id=GROUP_ACK, className="sc-primary"),
                    dcc.Input(id=GROUP_SHELVE_MIN, type="number", placeholder=_("minutes"), min=1, className="sc-num"),
                    dcc.Input(id=GROUP_SHELVE_REASON, placeholder=_("reason for shelving"), className="sc-text"),
                    html.Button(_("Shelve the group"), id=GROUP_SHELVE),
                ],
                className="sc-actions",
            ),
        ],
        id=GROUP_PANEL, className="sc-group-panel", style=HIDDEN,
    )


def nav_links(_: Translator) -> list[html.A]:
    """The links between the officer's pages."""
    return [
        html.A(_("Wall"), href="/wall"),
        html.A(_("Console"), href="/console"),
        html.A(_("Map"), href="/map"),
        html.A(_("Patrols"), href="/patrols"),
        html.A(_("Safety"), href="/safety"),
        html.A(_("Handover"), href="/console/handover"),
        html.A(_("Trends"), href="/trends"),
        html.A(_("Sensors"), href="/sensors"),
        html.A(_("Weekly review"), href="/reports/weekly"),
        html.A(_("Alarm health"), href="/reports/health"),
        html.A(_("Log out"), href="/logout"),
    ]


def _dropdown(ident: str, options: list, placeholder: str, multi: bool = False) -> dcc.Dropdown:
    return dcc.Dropdown(id=ident, options=options, multi=multi, placeholder=placeholder, className="sc-filter")


def _options(values: tuple[str, ...], labels: dict[str, str], _: Translator) -> list[dict[str, str]]:
    return [{"label": _(labels[v]), "value": v} for v in values]


def frame(user_label: str = "", buildings: list | None = None, departments: list | None = None,
          _: Translator = str, locale: str = "en", selected: int | None = None) -> html.Div:
    """Every component of the console (callbacks fill them), in the language of ``_``.

    ``selected``: the alarm to open first (a notification's link, ``/console?alarm=ID``).
    """
    return html.Div(
        [
            html.Header(
                [
                    html.H1(_("Alarm console")),
                    html.Span(user_label, className="sc-user", id="console-user"),
                    *nav_links(_),
                ],
                className="sc-console-header",
            ),
            html.Div(
                [
                    _dropdown(F_PRIORITY, _options(PRIORITIES, PRIORITY_LABELS, _), _("priority"), multi=True),
                    _dropdown(F_STATE, _options(STATES, STATE_LABELS, _), _("state"), multi=True),
                    _dropdown(F_BUILDING, buildings or [], _("building")),
                    _dropdown(F_DEPARTMENT, departments or [], _("department")),
                    _dropdown(F_FAMILY, _options(FAMILIES, FAMILY_LABELS, _), _("kind")),
                    dcc.Checklist(id=F_SHELVED, options=[{"label": " " + _("show shelved"), "value": "yes"}],
                                  value=[]),
                    _dropdown(F_GROUP, _options(GROUP_BY, GROUP_BY_LABELS, _), _("no groups")),
                ],
                className="sc-filters",
            ),
            _group_panel(_),
            html.Div(
                [
                    html.Div(
                        [
                            dash_table.DataTable(  # type: ignore[attr-defined]  # Dash generates it at import
                                id=QUEUE,
                                row_selectable="single",
                                selected_rows=[],
                                sort_action="none",  # the server orders: unacknowledged, priority, age
                                page_action="custom",  # pages come from the server, with the true total
                                page_current=0,
                                page_size=PAGE_SIZE,
                                page_count=1,
                                columns=[
                                    {"name": n, "id": i}
                                    for n, i in (
                                        (_("priority"), "priority"),
                                        (_("state"), "state"),
                                        (_("what"), "what"),
                                        (_("where"), "where"),
                                        (_("raised"), "raised"),
                                        ("×", "occurrences"),
                                        (_("assigned"), "assigned_to"),
                                    )
                                ],
                                style_as_list_view=True,
                                style_table={"overflowX": "auto", "width": "100%"},
                                style_cell_conditional=[
                                    {
                                        "if": {"column_id": c},
                                        "maxWidth": w,
                                        "overflow": "hidden",
                                        "textOverflow": "ellipsis",
                                    }
                                    for c, w in (("what", "300px"), ("where", "260px"))
                                ],
                                style_header={"backgroundColor": "#35383c", "color": "#9a9ea3", "border": "none"},
                                style_cell={
                                    "backgroundColor": "#2b2d30",
                                    "color": "#d8dadc",
                                    "border": "none",
                                    "textAlign": "left",
                                    "fontSize": "15px",
                                    "padding": "6px",
                                },
                                style_data_conditional=[
                                    {
                                        "if": {"filter_query": f"{{p}} = '{p}'", "column_id": "priority"},
                                        "color": c,
                                        "fontWeight": "bold",
                                    }
                                    for p, c in figures.PRIORITY_COLOURS.items()
                                ]
                                + [{"if": {"filter_query": "{s} = 'active_unacked'"}, "fontWeight": "bold"}],
                            ),
                            html.Div(
                                [html.Button("◀ " + _("previous (k)"), id=PREV),
                                 html.Button(_("next (j)") + " ▶", id=NEXT),
                                 html.Span(id=TOTAL, className="sc-total", role="status")],
                                className="sc-nav",
                            ),
                        ],
                        className="sc-queue",
                    ),
                    html.Div(
                        [
                            html.Div(id=MSG, className="sc-msg", role="status"),
                            html.Div(id=DETAIL),
                            dcc.Graph(id=CHART, config={"displayModeBar": False, "locale": locale},
                                      className="sc-chart"),
                            html.H3(_("Procedure")),
                            dcc.Checklist(id=STEPS, options=[], value=[], className="sc-steps"),
                            html.Div(
                                [
                                    html.Button(_("Acknowledge (a)"), id=ACK, className="sc-primary"),
                                    html.Button(_("Assign to me"), id=ASSIGN),
                                    html.Button(_("Reset"), id=RESET),
                                ],
                                className="sc-actions",
                            ),
                            html.Div(
                                [
                                    dcc.Textarea(id=NOTE, placeholder=_("note"), className="sc-note"),
                                    html.Button(_("Add note"), id=NOTE_BTN),
                                ],
                                className="sc-actions",
                            ),
                            html.Div(
                                [
                                    dcc.Input(id=SHELVE_MIN, type="number", placeholder=_("minutes"), min=1,
                                              className="sc-num"),
                                    dcc.Input(id=SHELVE_REASON, placeholder=_("reason for shelving"),
                                              className="sc-text"),
                                    html.Button(_("Shelve"), id=SHELVE_BTN),
                                ],
                                className="sc-actions",
                            ),
                            html.Div(
                                [
                                    dcc.Dropdown(
                                        id=DISPOSITION,
                                        options=_options(DISPOSITIONS, DISPOSITION_LABELS, _),
                                        placeholder=_("disposition"),
                                        className="sc-filter",
                                    ),
                                    dcc.Input(id=CLOSE_NOTE, placeholder=_("reason / note"), className="sc-text"),
                                    html.Button(_("Close"), id=CLOSE_BTN),
                                ],
                                className="sc-actions",
                            ),
                            html.H3(_("Send a guard")),
                            html.Div(
                                [
                                    dcc.Dropdown(id=DISPATCH_GUARD, options=[], placeholder=_("guard"),
                                                 className="sc-filter"),
                                    dcc.Input(id=DISPATCH_NOTE, placeholder=_("what to check"), className="sc-text"),
                                    html.Button(_("Dispatch"), id=DISPATCH_BTN),
                                ],
                                className="sc-actions",
                            ),
                            html.Div(id=DISPATCHES, className="sc-dispatches"),
                            html.Div([html.Button(_("Report a hazard behind this alarm"), id=HAZARD_BTN)],
                                     className="sc-actions"),
                            html.H3(_("Journal")),
                            html.Div(id=JOURNAL, className="sc-journal"),
                        ],
                        className="sc-detail",
                    ),
                ],
                className="sc-console-main",
            ),
            dcc.Store(id=SELECTED, data=selected),
            dcc.Store(id=GROUP),
            dcc.Store(id=VERSION),
            dcc.Store(id=DONE),
            dcc.Interval(id=TICK, interval=30_000),
        ],
        className="sc-console",
    )
