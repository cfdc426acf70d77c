"""The weekly review's inspections, hazards and walk tests section."""

from __future__ import annotations

import html
from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import dict_row

from dashboard.report import queries as q
from ingest.core.i18n import N_, named, translator

ROWS = (("inspections", N_("inspections done")), ("signed", N_("of them signed by the department's head")),
        ("hazards_opened", N_("hazards reported")), ("hazards_closed", N_("hazards closed after verification")),
        ("hazards_overdue", N_("hazards past their deadline at the end")),
        ("devices_tested", N_("devices in walk tests")), ("devices_passed", N_("of them signalled (passed)")))


def build(conn: psycopg.Connection[Any], start: datetime, end: datetime) -> dict[str, Any]:
    """The period's counts and the open hazards per department."""
    cur = conn.cursor(row_factory=dict_row)
    counts = cur.execute(q.SAFETY_WEEK, {"start": start, "end": end}).fetchone() or {}
    deps = cur.execute(q.HAZARDS_BY_DEPARTMENT, {"start": start, "end": end}).fetchall()
    return {"counts": counts, "departments": deps}


def tables(report: dict[str, Any], lang: str) -> str:
    """The section's tables, in ``lang``."""
    e = html.escape
    _ = translator(lang)
    counts = "".join(f"<tr><td>{e(_(label))}</td><td>{report['counts'].get(key, 0)}</td></tr>" for key, label in ROWS)
    deps = "".join(f"<tr><td>{e(named(d, 'name', lang))}</td><td>{d['open']}</td><td>{d['overdue']}</td></tr>"
                   for d in report["departments"])
    words = [e(_(w)) for w in (N_("department"), N_("hazards open"), N_("past their deadline"))]
    head = "<tr>" + "".join(f"<th>{w}</th>" for w in words) + "</tr>"
    return f"<table>{counts}</table><table>{head}{deps}</table>"
