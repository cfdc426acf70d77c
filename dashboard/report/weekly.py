"""The weekly review (复盘): last week's alarms, response times, noisy sensors, drills, trends."""

from __future__ import annotations

import csv
import html
import io
from collections import Counter
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
from psycopg.rows import dict_row

from dashboard.report import kpis as K
from dashboard.report import patrols, safety
from dashboard.report import queries as q
from dashboard.report.health import health, health_rows
from dashboard.report.page import PAGE_STYLE, bars, nav
from dashboard.report.spreadsheet import csv_cell
from ingest.alarms.messages import condition_label
from ingest.core import clock
from ingest.core.i18n import N_, Translator, translator
from ingest.core.vocabulary import (
    DISPOSITION_LABELS,
    ESCALATION_DEFAULT_S,
    FAMILY_LABELS,
    PRIORITY_LABELS,
    STATE_LABELS,
)
from ingest.notify import queries as nq

CSV_HEADERS = {"id": N_("id"), "raised_at": N_("raised at"), "sensor_id": N_("sensor"), "building": N_("building"),
               "department": N_("department"), "condition": N_("condition"), "family": N_("kind"),
               "priority": N_("priority"), "state": N_("state"), "disposition": N_("disposition"),
               "drill": N_("drill"), "acked_at": N_("acknowledged at"), "closed_at": N_("closed at")}
LEVEL_LABELS = {"campus": N_("campus"), "department": N_("department"), "building": N_("building")}
CSV_FIELDS = (
    "id",
    "raised_at",
    "sensor_id",
    "building",
    "department",
    "condition",
    "family",
    "priority",
    "state",
    "disposition",
    "drill",
    "acked_at",
    "closed_at",
)


def week_bounds(
    week: str | None, tz: str = "Asia/Shanghai", today: date | None = None
) -> tuple[str, datetime, datetime]:
    """ISO week label and its [Monday 00:00, next Monday 00:00) in local time; default last week."""
    if week:
        year, num = week.upper().split("-W")
        monday = date.fromisocalendar(int(year), int(num), 1)
    else:
        today = today or datetime.now(ZoneInfo(tz)).date()
        monday = today - timedelta(days=today.weekday() + 7)
    start = datetime.combine(monday, datetime.min.time(), ZoneInfo(tz))
    iso = monday.isocalendar()
    return f"{iso.year}-W{iso.week:02d}", start, start + timedelta(days=7)


def build(
    conn: psycopg.Connection[Any],
    week: str | None = None,
    *,
    include_drills: bool = False,
    tz: str = "Asia/Shanghai",
    escalation_s: dict[str, float] | None = None,
) -> dict[str, Any]:
    """Every figure of the weekly review, as plain data (late: past the configured escalation limits)."""
    limits_s = {**ESCALATION_DEFAULT_S, **(escalation_s or {})}
    label, start, end = week_bounds(week, tz)
    args = {"start": start, "end": end}
    cur = conn.cursor(row_factory=dict_row)
    alarms_all = cur.execute(q.WEEK_ALARMS, args).fetchall()
    drills = [a for a in alarms_all if a["drill"]]
    alarms = alarms_all if include_drills else [a for a in alarms_all if not a["drill"]]
    kpis = health(conn, start, end)
    response = {}
    for p in ("critical", "high", "medium", "low"):
        mine = [a for a in alarms if a["priority"] == p]
        response[p] = {
            "ack": K.spread([(a["acked_at"] - a["raised_at"]).total_seconds() for a in mine if a["acked_at"]]),
            "close": K.spread([(a["closed_at"] - a["raised_at"]).total_seconds() for a in mine if a["closed_at"]]),
            "limit_s": limits_s[p],
            "late": sum(1 for a in mine if (a["acked_at"] or end) - a["raised_at"] > timedelta(seconds=limits_s[p])),
        }
    open_end = cur.execute(q.OPEN_AT_END, args).fetchone()
    previous = []
    for i in range(4, 0, -1):
        s = start - timedelta(days=7 * i)
        previous.append(
            {
                "week": f"{s.isocalendar().year}-W{s.isocalendar().week:02d}",
                "alarms": cur.execute(q.COUNTS_BY_WEEK, {"start": s, "end": s + timedelta(days=7)}).fetchone()["n"],
            }
        )
    return {
        "week": label,
        "start": start,
        "end": end,
        "include_drills": include_drills,
        "total": len(alarms),
        "by_family": Counter(a["family"] for a in alarms).most_common(),
        "by_priority": [
            (p, sum(1 for a in alarms if a["priority"] == p)) for p in ("critical", "high", "medium", "low")
        ],
        "by_building": Counter(a["building"] for a in alarms).most_common(),
        "by_department": Counter(a["department"] or "?" for a in alarms).most_common(),
        "dispositions": [
            (d, sum(1 for a in alarms if a["disposition"] == d))
            for d in ("real", "false_alarm", "nuisance", "maintenance", "test", None)
        ],
        "response": response,
        "open_at_end": open_end["open"],
        "shelved_at_end": open_end["shelved"],
        "noisiest": Counter(a["sensor_id"] for a in alarms).most_common(10),
        "offline_longest": [
            (r["sensor_id"], round(float(r["hours"]), 1)) for r in cur.execute(q.OFFLINE_LONGEST, args)
        ],
        "previous": previous,
        "health": kpis,
        "rows": alarms,
        "streaks": [
            (r["level"], r["name"] if r["level"] != "campus" else None, (end - r["last_real"]).days if r["last_real"]
             else None, r["last_real"], r["name_zh"])
            for r in cur.execute(q.STREAKS, args).fetchall()
        ],
        "drills": [
            {
                "id": a["id"],
                "sensor_id": a["sensor_id"],
                "condition": a["condition"],
                "raised_at": a["raised_at"],
                "ack_s": (a["acked_at"] - a["raised_at"]).total_seconds() if a["acked_at"] else None,
            }
            for a in drills
        ],
        # Requests to each channel in the week (each attempt: a retried message counts each try).
        "notifications": [(r["channel"], r["sent"], r["failed"]) for r in cur.execute(nq.PER_CHANNEL, args)],
        "patrols": patrols.build(conn, start, end),
        "safety": safety.build(conn, start, end),
    }


def _streak_row(level: str, name: str | None, days: int | None, last: datetime | None, name_zh: str | None,
                lang: str, _: Translator) -> str:
    shown = days if days is not None else _("none on record")
    name = _("whole campus") if name is None else (name_zh if lang == "zh-CN" and name_zh else name)
    return (f"<tr><td>{html.escape(_(LEVEL_LABELS.get(level, level)))}</td><td>{html.escape(str(name))}</td>"
            f"<td>{shown}</td><td>{clock.fmt(last, '%Y-%m-%d', '-')}</td></tr>")


def _csv_value(key: str, value: Any, _: Translator, lang: str = "en") -> Any:
    """One cell of the alarm CSV: times in campus time, words in the reader's language."""
    if isinstance(value, datetime):
        return clock.local(value).isoformat()
    labels = {"priority": PRIORITY_LABELS, "state": STATE_LABELS, "disposition": DISPOSITION_LABELS,
              "family": FAMILY_LABELS}.get(key)
    if labels and isinstance(value, str):
        return _(labels.get(value, value))
    if key == "drill":
        return _("yes") if value else _("no")
    if key == "condition" and isinstance(value, str):
        return condition_label(value, lang)
    return csv_cell(value)


def to_csv(report: dict[str, Any], lang: str = "en") -> str:
    """The underlying alarm rows, headers and words in ``lang``."""
    _ = translator(lang)
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow([_(CSV_HEADERS[k]) for k in CSV_FIELDS])
    for a in report["rows"]:
        w.writerow([_csv_value(k, a.get(k), _, lang) for k in CSV_FIELDS])
    return buf.getvalue()


def _labelled(items: list[tuple[Any, int]], labels: dict[str, str], _: Translator) -> list[tuple[Any, int]]:
    return [(_(labels.get(k, k)) if isinstance(k, str) else k, v) for k, v in items]


def _fmt(s: float | None, _: Translator = str) -> str:
    if s is None:
        return "-"
    return _("{n} s").format(n=f"{s:.0f}") if s < 120 else _("{n} min").format(n=f"{s / 60:.1f}")


def to_html(report: dict[str, Any], lang: str = "en") -> str:
    """A printable page (HTML with print styles) in ``lang``; every value escaped."""
    e = html.escape
    _ = translator(lang)
    t = [e(x) for x in (
        _("Alarm-system health (ISA-18.2 / EEMUA 191)"),
        _("Show"),
        _("week"),
        _("include drills"),
        _("CSV of the alarms"),
        _("Alarms"),
        _("by priority"),
        _("by kind"),
        _("by building"),
        _("by department"),
        _("real, false and nuisance (close dispositions)"),
        _("Response times against the escalation limits"),
        _("priority"),
        _("acknowledged"),
        _("median"),
        _("worst"),
        _("limit"),
        _("late"),
        _("close median"),
        _("close p90"),
        _("close worst"),
        _("measure"),
        _("this week"),
        _("target"),
        _("Noisiest sensors"),
        _("Sensors offline longest (hours)"),
        _("Compared with the previous four weeks"),
        _("alarms"),
        _("Days without a real incident (at the end of the week)"),
        _("where"),
        _("days"),
        _("last real incident"),
        _("Drills"),
        _("when"),
        _("sensor"),
        _("alarm"),
        _("acknowledged after"),
        _("no drills"),
        _("Notifications per channel"),
        _("channel"),
        _("sent"),
        _("failed"),
        _("no notifications"),
    )]
    h = report["health"]

    def f(s: float | None) -> str:
        return _fmt(s, _)

    resp = "".join(
        f"<tr><td>{e(_(PRIORITY_LABELS[p]))}</td><td>{r['ack']['n']}</td><td>{f(r['ack']['median'])}</td>"
        f"<td>{f(r['ack']['p90'])}</td><td>{f(r['ack']['worst'])}</td><td>{f(r['limit_s'])}</td><td>{r['late']}</td>"
        f"<td>{f(r['close']['median'])}</td><td>{f(r['close']['p90'])}</td><td>{f(r['close']['worst'])}</td></tr>"
        for p, r in report["response"].items()
    )
    kp = health_rows(h, lang)
    drills = (
        "".join(
            f"<tr><td>{clock.fmt(d['raised_at'], '%m-%d %H:%M')}</td><td>{e(d['sensor_id'])}</td>"
            f"<td>{e(condition_label(d['condition'], lang))}</td>"
            f"<td>{f(d['ack_s'])}</td></tr>"
            for d in report["drills"]
        )
        or f"<tr><td colspan=4>{t[37]}</td></tr>"
    )
    prev = "".join(f"<tr><td>{p['week']}</td><td>{p['alarms']}</td></tr>" for p in report["previous"])
    told = "".join(f"<tr><td>{e(c)}</td><td>{ok}</td><td>{bad}</td></tr>" for c, ok, bad in report["notifications"]
                   ) or f"<tr><td colspan=3>{t[42]}</td></tr>"
    drills_note = _("(drills included)") if report["include_drills"] else _("(drills left out)")
    summary = _("{start} to {end}; {n} alarms {drills}; still open at the end of the week: {open}, shelved: "
                "{shelved}.").format(start=f"{report['start']:%Y-%m-%d}",
                                     end=f"{report['end'] - timedelta(days=1):%Y-%m-%d}", n=report["total"],
                                     drills=drills_note, open=report["open_at_end"], shelved=report["shelved_at_end"])
    unclassified = _("unclassified")
    title = _("SafeCampus weekly review {week}").format(week=report["week"])
    heading = _("Weekly review {week}").format(week=report["week"])
    tours = e(_("Guard tours"))
    checks = e(_("Inspections, hazards and walk tests"))
    made = _("Made by SafeCampus {time}.").format(time=clock.fmt(clock.now(), "%Y-%m-%d %H:%M %Z"))
    return f"""<!doctype html><html lang="{lang}"><head><meta charset="utf-8">
<title>{e(title)}</title>
{PAGE_STYLE}</head><body>{nav(_)}
<h1>{e(heading)}</h1>
<form class="pick" method="get" action="/reports/weekly">
<label>{t[2]} <input type="week" name="week" value="{e(report["week"])}"></label>
<label><span><input type="checkbox" name="drills" value="1"{" checked" if report["include_drills"] else ""}>
 {t[3]}</span></label>
<button type="submit">{t[1]}</button>
<a href="/reports/weekly.csv?week={e(report["week"])}{"&amp;drills=1" if report["include_drills"] else ""}">
{t[4]}</a></form>
<p>{e(summary)}</p>
<h2>{t[5]}</h2><div class="grid">
<div><h3>{t[6]}</h3>{bars(_labelled(report["by_priority"], PRIORITY_LABELS, _), "#c62828")}</div>
<div><h3>{t[7]}</h3>{bars(_labelled(report["by_family"], FAMILY_LABELS, _))}</div>
<div><h3>{t[8]}</h3>{bars(report["by_building"], unclassified=unclassified)}</div>
<div><h3>{t[9]}</h3>{bars(report["by_department"], unclassified=unclassified)}</div>
<div><h3>{t[10]}</h3>
{bars(_labelled(report["dispositions"], DISPOSITION_LABELS, _), "#6d4c41", unclassified)}</div>
</div>
<h2>{t[11]}</h2>
<table><tr><th>{t[12]}</th><th>{t[13]}</th><th>{t[14]}</th><th>p90</th>
<th>{t[15]}</th><th>{t[16]}</th><th>{t[17]}</th><th>{t[18]}</th>
<th>{t[19]}</th><th>{t[20]}</th></tr>{resp}</table>
<h2>{t[0]}</h2>
<table><tr><th>{t[21]}</th><th>{t[22]}</th><th>{t[23]}</th></tr>
{"".join(f"<tr><td>{e(a)}</td><td>{e(b)}</td><td>{e(c)}</td></tr>" for a, b, c in kp)}</table>
<h2>{t[24]}</h2>{bars(report["noisiest"], "#ef6c00")}
<h2>{t[25]}</h2>{bars(report["offline_longest"], "#f9a825")}
<h2>{t[26]}</h2>
<table><tr><th>{t[2]}</th><th>{t[27]}</th></tr>{prev}
<tr><td><b>{e(report["week"])}</b></td><td><b>{report["total"]}</b></td></tr></table>
<h2>{t[28]}</h2>
<table><tr><th></th><th>{t[29]}</th><th>{t[30]}</th><th>{t[31]}</th></tr>
{"".join(_streak_row(lv, n, d, t, nz, lang, _) for lv, n, d, t, nz in report["streaks"])}</table>
<h2>{t[32]}</h2><table><tr><th>{t[33]}</th><th>{t[34]}</th><th>{t[35]}</th>
<th>{t[36]}</th></tr>{drills}</table>
<h2>{t[38]}</h2><table><tr><th>{t[39]}</th><th>{t[40]}</th><th>{t[41]}</th></tr>{told}</table>
<h2>{tours}</h2>{patrols.tables(report["patrols"], lang)}
<h2>{checks}</h2>{safety.tables(report["safety"], lang)}
<p><small>{e(made)}</small></p>
</body></html>"""
