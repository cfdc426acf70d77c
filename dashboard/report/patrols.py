"""Guard tours and dispatch in a period: per route and per guard (completion, missed 漏检, wrong point
or time 误点, late), the tours as CSV, and how fast dispatched guards got there (page, CSV, weekly review).
"""

from __future__ import annotations

import csv
import html
import io
from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import dict_row

from dashboard.report import kpis as K
from dashboard.report import queries as q
from dashboard.report.page import PAGE_STYLE, nav
from dashboard.report.spreadsheet import csv_cell
from ingest.core import clock
from ingest.core.i18n import N_, Translator, named, translator
from ingest.core.vocabulary import TOUR_STATE_LABELS

VERDICTS = ("on_time", "early", "late", "out_of_sequence", "missed")


def counts(tour: dict[str, Any]) -> dict[str, int]:
    """A tour's visits per verdict, and 'todo': checkpoints with no verdict yet (a tour under way)."""
    out = dict.fromkeys(VERDICTS, 0)
    for v in (tour["visits"] or {}).values():
        out[v["verdict"]] = out.get(v["verdict"], 0) + 1
    out["todo"] = max(len(tour["stops"]) - sum(out.values()), 0)
    return out


def _group(tours: list[dict[str, Any]], key: str) -> list[dict[str, Any]]:
    groups: dict[str, dict[str, Any]] = {}
    for t in tours:
        k = t[key] or ""
        g = groups.setdefault(k, {"key": k, "tours": 0, "completed": 0, "checkpoints": 0} | dict.fromkeys(VERDICTS, 0))
        g.setdefault("row", t)
        c = counts(t)
        g["tours"] += 1
        g["completed"] += t["state"] == "completed"
        g["checkpoints"] += len(t["stops"])
        for v in VERDICTS:
            g[v] += c[v]
    for g in groups.values():
        g["completion"] = round(100 * g["completed"] / g["tours"], 1) if g["tours"] else None
        g["wrong"] = g["early"] + g["out_of_sequence"]  # 误点: the wrong point or the wrong time
    return sorted(groups.values(), key=lambda g: g["key"])


def build(conn: psycopg.Connection[Any], start: datetime, end: datetime) -> dict[str, Any]:
    """The period's tours, per route and per guard, and the dispatch times."""
    cur = conn.cursor(row_factory=dict_row)
    tours = cur.execute(q.PATROL_TOURS, {"start": start, "end": end}).fetchall()
    sent = cur.execute(q.PATROL_DISPATCHES, {"start": start, "end": end}).fetchall()
    return {
        "start": start, "end": end, "tours": tours,
        "routes": _group(tours, "route_id"),
        "guards": _group(tours, "guard_name"),
        "dispatch": {
            "n": len(sent),
            "to_dispatch": K.spread([(d["dispatched_at"] - d["raised_at"]).total_seconds() for d in sent]),
            "to_arrive": K.spread([(d["on_scene_at"] - d["dispatched_at"]).total_seconds()
                                   for d in sent if d["on_scene_at"]]),
            "to_resolve": K.spread([(d["resolved_at"] - d["on_scene_at"]).total_seconds()
                                    for d in sent if d["resolved_at"] and d["on_scene_at"]]),
        },
    }


def _minutes(s: float | None) -> str:
    return "-" if s is None else f"{s / 60:.1f}"


LABELS = {"tours": N_("tours"), "completed": N_("completed"), "checkpoints": N_("checkpoints"),
          "on_time": N_("on time"), "late": N_("late"), "wrong": N_("wrong point or time"),
          "missed": N_("missed"), "none": N_("no tours"), "per_route": N_("per route"),
          "per_guard": N_("per guard"), "nobody": N_("nobody (not started)"),
          "sent": N_("Guards sent to alarms (minutes)"), "median": N_("median"), "worst": N_("worst"),
          "title": N_("Guard tours and dispatch"), "from": N_("from"), "until": N_("until"), "show": N_("Show"),
          "csv": N_("CSV of the tours")}
SPREADS = (("to_dispatch", N_("alarm to dispatch")), ("to_arrive", N_("dispatch to on scene")),
           ("to_resolve", N_("on scene to resolved")))


def tables(report: dict[str, Any], lang: str) -> str:
    """The per-route, per-guard and dispatch tables (the report page and the weekly review show them)."""
    e = html.escape
    _ = translator(lang)
    t = {k: e(_(v)) for k, v in LABELS.items()}
    head = (f"<tr><th></th><th>{t['tours']}</th><th>{t['completed']}</th><th>{t['checkpoints']}</th>"
            f"<th>{t['on_time']}</th><th>{t['late']}</th><th>{t['wrong']}</th><th>{t['missed']}</th></tr>")

    def rows(groups: list[dict[str, Any]], label: Any) -> str:
        if not groups:
            return f"<tr><td colspan=8>{t['none']}</td></tr>"
        return "".join(
            f"<tr><td>{e(label(g))}</td><td>{g['tours']}</td><td>{g['completed']} ({g['completion']} %)</td>"
            f"<td>{g['checkpoints']}</td><td>{g['on_time']}</td><td>{g['late']}</td><td>{g['wrong']}</td>"
            f"<td>{g['missed']}</td></tr>" for g in groups)

    d = report["dispatch"]
    spread = "".join(
        f"<tr><td>{e(_(name))}</td><td>{d[k]['n']}</td><td>{_minutes(d[k]['median'])}</td>"
        f"<td>{_minutes(d[k]['p90'])}</td><td>{_minutes(d[k]['worst'])}</td></tr>" for k, name in SPREADS)
    nobody = _(LABELS["nobody"])
    return (f"<h3>{t['per_route']}</h3><table>{head}"
            f"{rows(report['routes'], lambda g: named(g['row'], 'name', lang))}</table>"
            f"<h3>{t['per_guard']}</h3><table>{head}"
            f"{rows(report['guards'], lambda g: g['key'] or nobody)}</table>"
            f"<h3>{t['sent']}</h3><table><tr><th></th><th>n</th>"
            f"<th>{t['median']}</th><th>p90</th><th>{t['worst']}</th></tr>{spread}</table>")


def page(report: dict[str, Any] | None, since: str, until: str, error: str = "", lang: str = "en") -> str:
    """The patrol report for a period, with its form and CSV link."""
    e = html.escape
    _ = translator(lang)
    t = {k: e(_(v)) for k, v in LABELS.items()}
    body = f'<p class="error">{e(error)}</p>' if error else ""
    if report is not None:
        body += tables(report, lang)
    return f"""<!doctype html><html lang="{lang}"><head><meta charset="utf-8"><title>{t["title"]}</title>
{PAGE_STYLE}</head><body>{nav(_)}<h1>{t["title"]}</h1>
<form class="pick" method="get" action="/reports/patrols">
<label>{t["from"]} <input type="datetime-local" name="since" value="{e(since)}"></label>
<label>{t["until"]} <input type="datetime-local" name="until" value="{e(until)}"></label>
<button type="submit">{t["show"]}</button>
<a href="/reports/patrols.csv?since={e(since)}&amp;until={e(until)}">{t["csv"]}</a></form>
{body}</body></html>"""


def to_csv(report: dict[str, Any], lang: str = "en") -> str:
    """One row per tour, words in ``lang``, times in campus time."""
    _: Translator = translator(lang)
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow([_("patrol route"), _("start"), _("limit"), _("state"), _("guard"), _("checkpoints"), _("on time"),
                _("early"), _("late"), _("out of sequence"), _("missed")])
    for t in report["tours"]:
        c = counts(t)
        w.writerow([csv_cell(named(t, "name", lang)), clock.local(t["due_at"]).isoformat(),
                    clock.local(t["ends_at"]).isoformat(), _(TOUR_STATE_LABELS[t["state"]]),
                    csv_cell(t["guard_name"] or ""), len(t["stops"]), *(c[v] for v in VERDICTS)])
    return buf.getvalue()
