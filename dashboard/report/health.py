"""The alarm-system health report (ISA-18.2 / EEMUA 191) for any period: figures, page and CSV."""

from __future__ import annotations

import csv
import html
import io
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

import psycopg
from psycopg.rows import dict_row

from dashboard.report import kpis as K
from dashboard.report import queries as q
from dashboard.report.page import PAGE_STYLE, bars, nav
from ingest.alarms.messages import source_label
from ingest.core import clock
from ingest.core.i18n import translator


def health(conn: psycopg.Connection[Any], start: datetime, end: datetime) -> K.Kpis:
    """Alarm-system health for any period [start, end) widened to 10-minute boundaries, drills left
    out. Counts per 10 minutes come from the rollup (a continuous aggregate on TimescaleDB).
    """
    start, end = K.align(start), K.align(end, up=True)
    args = {"start": start, "end": end}
    cur = conn.cursor(row_factory=dict_row)
    acts = [
        K.Activation(r["at"], r["source"], r["priority"], r["cleared_after_s"])
        for r in cur.execute(q.ACTIVATIONS, args).fetchall()
    ]
    counted = {r["bucket"]: r["n"] for r in cur.execute(q.ACTIVITY_10M, args).fetchall()}
    tens = [counted.get(start + i * K.TEN_MIN, 0) for i in range(max(1, int((end - start) / K.TEN_MIN)))]
    stale, shelves, oos = (_one(cur, sql, args) for sql in (q.STALE, q.SHELVES, q.OUT_OF_SERVICE))
    return K.compute(
        acts,
        start,
        end,
        tens=tens,
        stale=stale["n"],
        shelved=shelves["n"],
        shelved_hours=float(shelves["hours"]),
        out_of_service=oos["n"],
        out_of_service_hours=float(oos["hours"]),
    )


def _one(cur: psycopg.Cursor[dict[str, Any]], sql: str, args: dict[str, Any]) -> dict[str, Any]:
    """The one row of an aggregate query (always one: counts and sums)."""
    row = cur.execute(sql, args).fetchone()
    assert row is not None
    return row


def health_rows(h: K.Kpis, lang: str = "en") -> list[tuple[str, str, str]]:
    """(measure, value, target) for each alarm-system health figure, in ``lang``."""
    _ = translator(lang)
    return [
        (_("alarms per 10 min (average / peak)"), f"{h.per_10min_avg} / {h.per_10min_max}", "≤ 1 / ≤ 2"),
        (_("alarms per hour (average / peak)"), f"{h.per_hour_avg} / {h.per_hour_max}", "≤ 6"),
        (_("time in flood (>10 in 10 min)"),
         _("{pct} % in {n} episode(s)").format(pct=h.flood_pct, n=h.flood_episodes), "< 1 %"),
        (_("chattering sources (≥3 in 60 s)"), str(len(h.chattering)), "0"),
        (_("fleeting alarms (cleared < 10 s)"), str(h.fleeting), _("few")),
        (_("stale alarms (active ≥ 24 h)"), str(h.stale), "0"),
        (_("top-10 sources' share"), f"{h.top10_share_pct} %", "≤ 5 %"),
        (
            _("priority mix low / medium / high"),
            " / ".join(f"{h.priority_pct[p]} %" for p in ("low", "medium", "high")),
            "80 / 15 / 5 %",
        ),
        (_("shelved"), _("{n} ({hours} h)").format(n=h.shelved, hours=h.shelved_hours), ""),
        (_("out of service"), _("{n} ({hours} h)").format(n=h.out_of_service, hours=h.out_of_service_hours), ""),
    ]


def health_to_csv(h: K.Kpis, lang: str = "en") -> str:
    """The health figures of one period as CSV rows (measure, value, target), in ``lang``."""
    _ = translator(lang)
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow([_("measure"), _("value"), _("target")])
    w.writerow([_("period"), _("{start} to {end}").format(start=clock.local(h.start).isoformat(),
                                                         end=clock.local(h.end).isoformat()), ""])
    w.writerow([_("alarms"), h.total, ""])
    w.writerows(health_rows(h, lang))
    w.writerows([_("top source {i}: {source}").format(i=i, source=source_label(src, lang)), n, ""]
                for i, (src, n) in enumerate(h.top10, 1))
    w.writerows([_("chattering source"), source_label(src, lang), ""] for src in h.chattering)
    return buf.getvalue()


def health_page(h: K.Kpis | None, since: str, until: str, error: str = "", lang: str = "en") -> str:
    """The alarm-system health of a chosen period: a form to pick it and the figures beside their targets."""
    e = html.escape
    _ = translator(lang)
    t = [e(x) for x in (
        _("SafeCampus alarm-system health"),
        _("Alarm-system health (ISA-18.2 / EEMUA 191)"),
        _("from"),
        _("until"),
        _("Show"),
        _("measure"),
        _("target"),
        _("this period"),
        _("Top sources"),
        _("Chattering sources"),
        _("none"),
    )]
    body = f'<p class="error" role="alert">{e(error)}</p>' if error else ""
    if h is not None:
        q_args = e(urlencode({"since": since, "until": until}))
        period = _("{start} to {end}: {n} alarm activations (drills left out).").format(
            start=clock.fmt(h.start, "%Y-%m-%d %H:%M"), end=clock.fmt(h.end, "%Y-%m-%d %H:%M"), n=h.total)
        body += (
            f"<p>{e(period)} "
            f'<a href="/reports/health.csv?{q_args}">CSV</a></p>'
            f"<table><tr><th>{t[5]}</th><th>{t[7]}</th><th>{t[6]}</th></tr>"
            + "".join(f"<tr><td>{e(a)}</td><td>{e(b)}</td><td>{e(c)}</td></tr>" for a, b, c in health_rows(h, lang))
            + "</table>"
            f"<h2>{t[8]}</h2>"
            + bars([(source_label(s, lang), n) for s, n in h.top10], "#ef6c00", _("unclassified"))
            + f"<h2>{t[9]}</h2>"
            + ("<ul>" + "".join(f"<li>{e(source_label(s, lang))}</li>" for s in h.chattering) + "</ul>" if h.chattering
               else f"<p>{t[10]}</p>")
        )
    return f"""<!doctype html><html lang="{lang}"><head><meta charset="utf-8">
<title>{t[0]}</title>{PAGE_STYLE}</head><body>{nav(_)}
<h1>{t[1]}</h1>
<form class="pick" method="get" action="/reports/health">
<label>{t[2]} <input type="datetime-local" name="since" value="{e(since)}" required></label>
<label>{t[3]} <input type="datetime-local" name="until" value="{e(until)}" required></label>
<button type="submit">{t[4]}</button></form>
{body}</body></html>"""
