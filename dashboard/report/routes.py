"""``/reports/weekly`` (printable HTML) and ``/reports/weekly.csv`` for logged-in users."""

from __future__ import annotations

from flask import Flask, abort, request

from dashboard.auth import allowed
from dashboard.db import connection
from dashboard.report import weekly


def install(server: Flask, tz: str) -> None:
    """Add the report routes."""

    def _report():  # type: ignore[no-untyped-def]
        if not allowed("viewer"):
            abort(401)
        week = request.args.get("week") or None
        try:
            weekly.week_bounds(week, tz)
        except (ValueError, TypeError):
            abort(400, "week must look like 2026-W48")
        with connection() as conn:
            return weekly.build(conn, week, include_drills=request.args.get("drills") == "1", tz=tz)

    @server.route("/reports/weekly")
    def weekly_html():  # type: ignore[no-untyped-def]
        return weekly.to_html(_report()), 200, {"Content-Type": "text/html; charset=utf-8"}

    @server.route("/reports/weekly.csv")
    def weekly_csv():  # type: ignore[no-untyped-def]
        report = _report()
        return weekly.to_csv(report), 200, {
            "Content-Type": "text/csv; charset=utf-8",
            "Content-Disposition": f"attachment; filename=weekly-{report['week']}.csv"}
