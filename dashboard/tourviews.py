"""Guard tours as officers see them in pages (the patrol page and the handover): one table."""

from __future__ import annotations

from typing import Any

from dash import html

from dashboard import lang
from dashboard.report import patrols as report
from ingest.core import clock
from ingest.core.i18n import Translator
from ingest.core.vocabulary import TOUR_STATE_LABELS


def tours_table(tours: list[dict[str, Any]], _: Translator) -> html.Div | html.P:
    """Tours with their state, guard and counts (the handover shows the night's with this too)."""
    if not tours:
        return html.P(_("No tours."), className="sc-guard-small")
    head = html.Tr([html.Th(x) for x in (_("patrol route"), _("start"), _("state"), _("guard"), _("scanned"),
                                          _("late"), _("wrong point or time"), _("missed"))])
    rows = []
    for t in tours:
        c = report.counts(t)
        rows.append(html.Tr([
            html.Td(lang.named(t)),
            html.Td(f"{clock.fmt(t['due_at'], '%m-%d %H:%M')}–{clock.fmt(t['ends_at'], '%H:%M')}"),
            html.Td(_(TOUR_STATE_LABELS[t["state"]]), className=f"sc-tour-{t['state']}"),
            html.Td(t["guard_name"] or ""),
            html.Td(f"{len(t['stops']) - c['missed'] - c['todo']}/{len(t['stops'])}"),
            html.Td(c["late"] or ""), html.Td((c["early"] + c["out_of_sequence"]) or ""),
            html.Td(c["missed"] or "", className="sc-tour-missed" if c["missed"] else ""),
        ], id=f"tour-{t['id']}"))
    return html.Div(html.Table([head, *rows], className="sc-table sc-tours"), className="sc-scroll-x")
