"""What every report page shares: the print style sheet, the links, small bar charts."""

from __future__ import annotations

import html
from typing import Any

from ingest.core.i18n import Translator

PAGE_STYLE = """<style>
body { font-family: "Noto Sans", "Noto Sans CJK SC", "Source Han Sans SC", "Microsoft YaHei", "PingFang SC",
  "DejaVu Sans", sans-serif; margin: 24px; color: #222; }
h1 { margin: 0 0 4px; } h2 { border-bottom: 1px solid #ccc; margin-top: 28px; }
table { border-collapse: collapse; margin: 8px 0; }
td, th { border: 1px solid #ccc; padding: 3px 8px; text-align: left; }
.grid { display: flex; flex-wrap: wrap; gap: 24px; }
form.pick { display: flex; gap: 12px; align-items: end; flex-wrap: wrap; margin: 8px 0 16px; }
form.pick label { display: flex; flex-direction: column; font-size: 13px; }
.error { color: #b71c1c; font-weight: bold; }
nav a[lang] { margin-left: 8px; }
@media print { body { margin: 0; } h2 { break-after: avoid; } table, svg { break-inside: avoid; }
  form.pick, nav { display: none; } }
</style>"""


def nav(_: Translator) -> str:
    """The links between the report pages, and the language switch."""
    e = html.escape
    console, review, health_ = e(_("Console")), e(_("Weekly review")), e(_("Alarm-system health"))
    tours = e(_("Guard tours"))
    return (f'<nav><a href="/console">{console}</a> · <a href="/reports/weekly">{review}</a>'
            f' · <a href="/reports/health">{health_}</a> · <a href="/reports/patrols">{tours}</a> ·'
            ' <a href="/lang/zh-CN" lang="zh-CN">中文</a> <a href="/lang/en" lang="en">English</a></nav>')


def bars(items: list[tuple[Any, int]], colour: str = "#546e7a", unclassified: str = "unclassified") -> str:
    """A small horizontal bar chart as inline SVG (prints anywhere, needs no script)."""
    items = [(str(k if k is not None else unclassified), v) for k, v in items][:12]
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
