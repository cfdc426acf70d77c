"""Exports for logged-in users: the weekly review (HTML, CSV) and a day's duty log (CSV)."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from flask import Flask, abort, request

from dashboard import lang
from dashboard import queries as q
from dashboard.auth import allowed
from dashboard.db import connection
from dashboard.report import health, patrols, weekly
from dashboard.report.spreadsheet import csv_cell
from ingest.core import clock
from ingest.core.vocabulary import DUTY_LOG_LABELS


def install(server: Flask, tz: str, escalation_s: dict[str, float] | None = None, retention_days: int = 400) -> None:
    """Add the report routes (``escalation_s``: the configured limits the review measures against;
    a report covers any period up to ``retention_days``, all the history there is).
    """
    most = timedelta(days=retention_days)

    def _report():  # type: ignore[no-untyped-def]
        if not allowed("viewer"):
            abort(401)
        week = request.args.get("week") or None
        try:
            weekly.week_bounds(week, tz)
        except (ValueError, TypeError):
            _ = lang.gettext()
            abort(400, _("week must look like {example}").format(example="2026-W48"))
        with connection() as conn:
            return weekly.build(
                conn, week, include_drills=request.args.get("drills") == "1", tz=tz, escalation_s=escalation_s
            )

    @server.route("/reports/weekly")
    def weekly_html():  # type: ignore[no-untyped-def]
        return weekly.to_html(_report(), lang.current()), 200, {"Content-Type": "text/html; charset=utf-8"}

    @server.route("/duty-log/<day>.csv")
    def duty_log_csv(day: str):  # type: ignore[no-untyped-def]
        if not allowed("viewer"):
            abort(401)
        try:
            # The same local day as the handover page shows.
            start, end = clock.day_bounds(date.fromisoformat(day))
        except ValueError:
            abort(400)
        with connection() as conn:
            rows = conn.execute(q.DUTY_LOG_DAY, {"start": start, "end": end}).fetchall()
        buf = io.StringIO()
        w = csv.writer(buf)
        _ = lang.gettext()
        w.writerow([_("time"), _("author"), _("kind"), _("note")])
        for r in rows:
            w.writerow([clock.local(r["at"]).isoformat(timespec="seconds"), r["author"],
                        _(DUTY_LOG_LABELS.get(r["kind"], r["kind"])), csv_cell(lang.duty_note(r, _))])
        return (
            buf.getvalue(),
            200,
            {
                "Content-Type": "text/csv; charset=utf-8",
                "Content-Disposition": f"attachment; filename=duty-log-{day}.csv",
            },
        )

    def _period() -> tuple[str, str, datetime | None, datetime | None, str]:
        """The period asked for as (since, until) form values, the parsed bounds, and an error."""
        _ = lang.gettext()
        now = datetime.now(ZoneInfo(tz)).replace(second=0, microsecond=0)
        since = request.args.get("since") or (now - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
        until = request.args.get("until") or now.strftime("%Y-%m-%dT%H:%M")
        bounds = []
        for name, value in ((_("from"), since), (_("until"), until)):
            try:
                t = datetime.fromisoformat(value[:40])
            except ValueError:
                return since, until, None, None, _("'{name}' must be a date and time like {example}").format(
                    name=name, example="2026-11-23T08:00")
            bounds.append(t if t.tzinfo else t.replace(tzinfo=ZoneInfo(tz)))
        start, end = bounds
        if end <= start:
            return since, until, None, None, _("'until' must be after 'from'")
        if end - start > most:
            return since, until, None, None, _("a period can be at most {n} days (the history kept)").format(
                n=most.days)
        return since, until, start, end, ""

    @server.route("/reports/health")
    def health_html():  # type: ignore[no-untyped-def]
        if not allowed("viewer"):
            abort(401)
        since, until, start, end, error = _period()
        kpis = None
        if start and end:
            with connection() as conn:
                kpis = health.health(conn, start, end)
        return (
            health.health_page(kpis, since, until, error, lang.current()),
            400 if error else 200,
            {"Content-Type": "text/html; charset=utf-8"},
        )

    @server.route("/reports/health.csv")
    def health_csv():  # type: ignore[no-untyped-def]
        if not allowed("viewer"):
            abort(401)
        _, _, start, end, error = _period()
        if not (start and end):
            abort(400, error)
        with connection() as conn:
            kpis = health.health(conn, start, end)
        return (
            health.health_to_csv(kpis, lang.current()),
            200,
            {
                "Content-Type": "text/csv; charset=utf-8",
                "Content-Disposition": f"attachment; filename=alarm-health-{start:%Y%m%d%H%M}-{end:%Y%m%d%H%M}.csv",
            },
        )

    @server.route("/reports/patrols")
    def patrols_html():  # type: ignore[no-untyped-def]
        if not allowed("viewer"):
            abort(401)
        since, until, start, end, error = _period()
        report = None
        if start and end:
            with connection() as conn:
                report = patrols.build(conn, start, end)
        return (patrols.page(report, since, until, error, lang.current()), 400 if error else 200,
                {"Content-Type": "text/html; charset=utf-8"})

    @server.route("/reports/patrols.csv")
    def patrols_csv():  # type: ignore[no-untyped-def]
        if not allowed("viewer"):
            abort(401)
        _, _, start, end, error = _period()
        if not (start and end):
            abort(400, error)
        with connection() as conn:
            report = patrols.build(conn, start, end)
        return (patrols.to_csv(report, lang.current()), 200, {
            "Content-Type": "text/csv; charset=utf-8",
            "Content-Disposition": f"attachment; filename=patrols-{start:%Y%m%d%H%M}-{end:%Y%m%d%H%M}.csv"})

    @server.route("/reports/weekly.csv")
    def weekly_csv():  # type: ignore[no-untyped-def]
        report = _report()
        return (
            weekly.to_csv(report, lang.current()),
            200,
            {
                "Content-Type": "text/csv; charset=utf-8",
                "Content-Disposition": f"attachment; filename=weekly-{report['week']}.csv",
            },
        )
