"""The weekly review (复盘): last week's alarms, response times, noisy sensors, drills, trends."""

from __future__ import annotations

import csv
import html
import io
import statistics
from collections import Counter
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import psycopg
from psycopg.rows import dict_row

from dashboard.report import kpis as K
from dashboard.report import queries as q
from dashboard.report.spreadsheet import csv_cell
from ingest.core import clock
from ingest.core.vocabulary import ESCALATION_DEFAULT_S

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


def _stats(seconds: list[float]) -> dict[str, float | None]:
    if not seconds:
        return {"n": 0, "median": None, "p90": None, "worst": None}
    s = sorted(seconds)
    return {
        "n": len(s),
        "median": round(statistics.median(s), 1),
        "p90": round(s[min(len(s) - 1, int(0.9 * len(s)))], 1),
        "worst": round(s[-1], 1),
    }


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
    stale = cur.execute(q.STALE, args).fetchone()["n"]
    shelves = cur.execute(q.SHELVES, args).fetchone()
    oos = cur.execute(q.OUT_OF_SERVICE, args).fetchone()
    return K.compute(
        acts,
        start,
        end,
        tens=tens,
        stale=stale,
        shelved=shelves["n"],
        shelved_hours=float(shelves["hours"]),
        out_of_service=oos["n"],
        out_of_service_hours=float(oos["hours"]),
    )


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
            "ack": _stats([(a["acked_at"] - a["raised_at"]).total_seconds() for a in mine if a["acked_at"]]),
            "close": _stats([(a["closed_at"] - a["raised_at"]).total_seconds() for a in mine if a["closed_at"]]),
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
            (r["level"], r["name"], (end - r["last_real"]).days if r["last_real"] else None, r["last_real"])
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
    }


def _streak_row(level: str, name: str, days: int | None, last: datetime | None) -> str:
    shown = days if days is not None else "none on record"
    return (f"<tr><td>{level}</td><td>{html.escape(str(name))}</td><td>{shown}</td>"
            f"<td>{clock.fmt(last, '%Y-%m-%d', '-')}</td></tr>")


def to_csv(report: dict[str, Any]) -> str:
    """The underlying alarm rows."""
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=CSV_FIELDS, extrasaction="ignore")
    w.writeheader()
    for a in report["rows"]:
        w.writerow({k: (clock.local(v).isoformat() if isinstance(v, datetime) else csv_cell(v)) for k, v in a.items()})
    return buf.getvalue()


def _bars(items: list[tuple[Any, int]], colour: str = "#546e7a") -> str:
    """A small horizontal bar chart as inline SVG (prints anywhere, needs no script)."""
    items = [(str(k if k is not None else "unclassified"), v) for k, v in items][:12]
    top = max([v for _, v in items] + [1])
    rows = []
    for i, (k, v) in enumerate(items):
        w = 300 * v / top
        rows.append(
            f'<text x="0" y="{i * 22 + 15}" font-size="12">{html.escape(k)[:38]}</text>'
            f'<rect x="240" y="{i * 22 + 3}" width="{w:.0f}" height="16" fill="{colour}"/>'
            f'<text x="{246 + w:.0f}" y="{i * 22 + 15}" font-size="12">{v}</text>'
        )
    return f'<svg width="600" height="{max(1, len(items)) * 22}" role="img">{"".join(rows)}</svg>'


def _fmt(s: float | None) -> str:
    if s is None:
        return "-"
    return f"{s:.0f} s" if s < 120 else f"{s / 60:.1f} min"


def health_rows(h: K.Kpis) -> list[tuple[str, str, str]]:
    """(measure, value, target) for each alarm-system health figure."""
    return [
        ("alarms per 10 min (average / peak)", f"{h.per_10min_avg} / {h.per_10min_max}", "≤ 1 / ≤ 2"),
        ("alarms per hour (average / peak)", f"{h.per_hour_avg} / {h.per_hour_max}", "≤ 6"),
        ("time in flood (>10 in 10 min)", f"{h.flood_pct} % in {h.flood_episodes} episode(s)", "< 1 %"),
        ("chattering sources (≥3 in 60 s)", str(len(h.chattering)), "0"),
        ("fleeting alarms (cleared < 10 s)", str(h.fleeting), "few"),
        ("stale alarms (active ≥ 24 h)", str(h.stale), "0"),
        ("top-10 sources' share", f"{h.top10_share_pct} %", "≤ 5 %"),
        (
            "priority mix low / medium / high",
            " / ".join(f"{h.priority_pct[p]} %" for p in ("low", "medium", "high")),
            "80 / 15 / 5 %",
        ),
        ("shelved", f"{h.shelved} ({h.shelved_hours} h)", ""),
        ("out of service", f"{h.out_of_service} ({h.out_of_service_hours} h)", ""),
    ]


def health_to_csv(h: K.Kpis) -> str:
    """The health figures of one period as CSV rows (measure, value, target)."""
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["measure", "value", "target"])
    w.writerow(["period", f"{h.start.isoformat()} to {h.end.isoformat()}", ""])
    w.writerow(["alarms", h.total, ""])
    w.writerows(health_rows(h))
    w.writerows([f"top source {i}: {src}", n, ""] for i, (src, n) in enumerate(h.top10, 1))
    w.writerows(["chattering source", src, ""] for src in h.chattering)
    return buf.getvalue()


PAGE_STYLE = """<style>
body { font-family: "Noto Sans", "DejaVu Sans", sans-serif; margin: 24px; color: #222; }
h1 { margin: 0 0 4px; } h2 { border-bottom: 1px solid #ccc; margin-top: 28px; }
table { border-collapse: collapse; margin: 8px 0; }
td, th { border: 1px solid #ccc; padding: 3px 8px; text-align: left; }
.grid { display: flex; flex-wrap: wrap; gap: 24px; }
form.pick { display: flex; gap: 12px; align-items: end; flex-wrap: wrap; margin: 8px 0 16px; }
form.pick label { display: flex; flex-direction: column; font-size: 13px; }
.error { color: #b71c1c; font-weight: bold; }
@media print { body { margin: 0; } h2 { break-after: avoid; } table, svg { break-inside: avoid; }
  form.pick, nav { display: none; } }
</style>"""
NAV = (
    '<nav><a href="/console">Console</a> · <a href="/reports/weekly">Weekly review</a> · '
    '<a href="/reports/health">Alarm-system health</a></nav>'
)


def health_page(h: K.Kpis | None, since: str, until: str, error: str = "") -> str:
    """The alarm-system health of a chosen period: a form to pick it and the figures beside their targets."""
    e = html.escape
    body = f'<p class="error" role="alert">{e(error)}</p>' if error else ""
    if h is not None:
        q_args = e(urlencode({"since": since, "until": until}))
        body += (
            f"<p>{h.start:%Y-%m-%d %H:%M} to {h.end:%Y-%m-%d %H:%M}: {h.total} alarm activations (drills left out). "
            f'<a href="/reports/health.csv?{q_args}">CSV</a></p>'
            "<table><tr><th>measure</th><th>this period</th><th>target</th></tr>"
            + "".join(f"<tr><td>{a}</td><td>{b}</td><td>{c}</td></tr>" for a, b, c in health_rows(h))
            + "</table>"
            "<h2>Top sources</h2>"
            + _bars([(s, n) for s, n in h.top10], "#ef6c00")
            + "<h2>Chattering sources</h2>"
            + ("<ul>" + "".join(f"<li>{e(s)}</li>" for s in h.chattering) + "</ul>" if h.chattering else "<p>none</p>")
        )
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>SafeCampus alarm-system health</title>{PAGE_STYLE}</head><body>{NAV}
<h1>Alarm-system health (ISA-18.2 / EEMUA 191)</h1>
<form class="pick" method="get" action="/reports/health">
<label>from <input type="datetime-local" name="since" value="{e(since)}" required></label>
<label>until <input type="datetime-local" name="until" value="{e(until)}" required></label>
<button type="submit">Show</button></form>
{body}</body></html>"""


def to_html(report: dict[str, Any]) -> str:
    """A printable page (HTML with print styles); every value escaped."""
    e = html.escape
    h = report["health"]
    resp = "".join(
        f"<tr><td>{p}</td><td>{r['ack']['n']}</td><td>{_fmt(r['ack']['median'])}</td><td>{_fmt(r['ack']['p90'])}</td>"
        f"<td>{_fmt(r['ack']['worst'])}</td><td>{_fmt(r['limit_s'])}</td><td>{r['late']}</td>"
        f"<td>{_fmt(r['close']['median'])}</td><td>{_fmt(r['close']['p90'])}</td><td>{_fmt(r['close']['worst'])}</td></tr>"
        for p, r in report["response"].items()
    )
    kp = health_rows(h)
    drills = (
        "".join(
            f"<tr><td>{clock.fmt(d['raised_at'], '%a %H:%M')}</td><td>{e(d['sensor_id'])}</td>"
            f"<td>{e(d['condition'])}</td>"
            f"<td>{_fmt(d['ack_s'])}</td></tr>"
            for d in report["drills"]
        )
        or "<tr><td colspan=4>no drills</td></tr>"
    )
    prev = "".join(f"<tr><td>{p['week']}</td><td>{p['alarms']}</td></tr>" for p in report["previous"])
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>SafeCampus weekly review {e(report["week"])}</title>
{PAGE_STYLE}</head><body>{NAV}
<h1>Weekly review {e(report["week"])}</h1>
<form class="pick" method="get" action="/reports/weekly">
<label>week <input type="week" name="week" value="{e(report["week"])}"></label>
<label><span><input type="checkbox" name="drills" value="1"{" checked" if report["include_drills"] else ""}>
 include drills</span></label>
<button type="submit">Show</button>
<a href="/reports/weekly.csv?week={e(report["week"])}{"&amp;drills=1" if report["include_drills"] else ""}">
CSV of the alarms</a></form>
<p>{report["start"]:%Y-%m-%d} to {report["end"] - timedelta(days=1):%Y-%m-%d}; {report["total"]} alarms
{"(drills included)" if report["include_drills"] else "(drills left out)"}; still open at the end of the week:
{report["open_at_end"]}, shelved: {report["shelved_at_end"]}.</p>
<h2>Alarms</h2><div class="grid">
<div><h3>by priority</h3>{_bars(report["by_priority"], "#c62828")}</div>
<div><h3>by kind</h3>{_bars(report["by_family"])}</div>
<div><h3>by building</h3>{_bars(report["by_building"])}</div>
<div><h3>by department</h3>{_bars(report["by_department"])}</div>
<div><h3>real, false and nuisance (close dispositions)</h3>{_bars(report["dispositions"], "#6d4c41")}</div>
</div>
<h2>Response times against the escalation limits</h2>
<table><tr><th>priority</th><th>acknowledged</th><th>median</th><th>p90</th><th>worst</th><th>limit</th><th>late</th>
<th>close median</th><th>close p90</th><th>close worst</th></tr>{resp}</table>
<h2>Alarm-system health (ISA-18.2 / EEMUA 191)</h2>
<table><tr><th>measure</th><th>this week</th><th>target</th></tr>
{"".join(f"<tr><td>{a}</td><td>{b}</td><td>{c}</td></tr>" for a, b, c in kp)}</table>
<h2>Noisiest sensors</h2>{_bars(report["noisiest"], "#ef6c00")}
<h2>Sensors offline longest (hours)</h2>{_bars(report["offline_longest"], "#f9a825")}
<h2>Compared with the previous four weeks</h2><table><tr><th>week</th><th>alarms</th></tr>{prev}
<tr><td><b>{e(report["week"])}</b></td><td><b>{report["total"]}</b></td></tr></table>
<h2>Days without a real incident (at the end of the week)</h2>
<table><tr><th></th><th>where</th><th>days</th><th>last real incident</th></tr>
{"".join(_streak_row(lv, n, d, t) for lv, n, d, t in report["streaks"])}</table>
<h2>Drills</h2><table><tr><th>when</th><th>sensor</th><th>alarm</th><th>acknowledged after</th></tr>{drills}</table>
<p><small>Made by SafeCampus {clock.fmt(clock.now(), "%Y-%m-%d %H:%M %Z")}.</small></p>
</body></html>"""
