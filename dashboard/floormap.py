"""Pure builders of the campus map and floor plans (rows in, Dash components out), for /map, the
wall and the console.

HTML, not a chart: buildings and devices are absolutely placed boxes in percentages of their
plan, so they scale to any screen, labels are sized to their building (container-query units:
no text leaves its shape at 1080p or 2160p), alarming devices pulse with CSS, and a push
sends only the devices that are not normal (``marker_states``, applied by ``assets/floor.js``),
never the plan image or the markers again, which the browser
fetches once per version (``/plans/<building>/<floor>?v=<digest>``).
"""

from __future__ import annotations

import hashlib
import math
import unicodedata
from typing import Any

from dash import html

from dashboard import lang
from ingest.core.i18n import Translator
from ingest.core.vocabulary import DEVICE_STATE_LABELS, DEVICE_STATES, SENSOR_KIND_LABELS

MARGIN = 0.03  # of the campus's size, around its buildings


def where_of(building: str | None, floor: str | None) -> dict[str, Any]:
    """The place a URL names (a floor only with its building; anything else is the campus)."""
    b = building if building and len(building) <= 64 else None
    f = int(floor) if b and floor and floor.isdigit() and int(floor) < 200 else None
    return {"building": b, "floor": f}


def device_state(d: dict[str, Any]) -> str:
    """A device's state on a plan (one of DEVICE_STATES)."""
    if d.get("state") in DEVICE_STATES:
        return str(d["state"])
    return "disabled" if d.get("disabled") else "normal"


def marker_class(d: dict[str, Any], focus: str | None = None, first: str | None = None) -> str:
    """The classes of a device's marker: its state, pulsing while unacknowledged, the focus, the first alarm."""
    cls = f"sc-dev sc-dev-{device_state(d)} sc-kind-{d['kind']}"
    if d.get("unacked") and d.get("alarm_id"):
        cls += " sc-dev-unacked"
    if d["id"] == focus:
        cls += " sc-dev-focus"
    if d["id"] == first:
        cls += " sc-dev-first"
    if d.get("moved"):  # the placement tool: moved, not saved yet
        cls += " sc-moved"
    return cls


def _title(d: dict[str, Any], _: Translator) -> str:
    name = lang.named(d) or d["id"]
    parts = [name, _(SENSOR_KIND_LABELS.get(d["kind"], d["kind"])), _(DEVICE_STATE_LABELS[device_state(d)])]
    if d.get("zone"):
        parts.append(d["zone"])
    return " · ".join(parts)


def _em_width(text: str) -> float:
    """Width of ``text`` in ems, roughly: CJK characters are square, Latin ones about 0.62 em."""
    return sum(1.0 if unicodedata.east_asian_width(c) in "WF" else 0.34 if c == " " else 0.62 for c in text)


def _lines(text: str, width: float, height: float) -> list[str]:
    """The text on one line or two, whichever lets it be larger in a ``width`` × ``height`` box
    (split at a space; Chinese between any two characters).
    """
    options = [[text]]
    cuts = [i for i, c in enumerate(text) if c == " "]
    if not cuts and len(text) > 3 and all(unicodedata.east_asian_width(c) in "WF" for c in text):
        cuts = list(range(2, len(text) - 1))
    options += [[text[:i].strip(), text[i:].strip()] for i in cuts]

    def size(lines: list[str]) -> float:
        return min(0.86 * width / max(map(_em_width, lines)), 0.7 * height / (1.2 * len(lines)))
    return max(options, key=size)


def _bbox(points: list[list[float]]) -> tuple[float, float, float, float]:
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    return min(xs), min(ys), max(xs), max(ys)


def campus(buildings: list[dict[str, Any]], _: Translator, *, links: bool, highlight: str | None = None,
           ident: str = "campus-map") -> html.Div:
    """The campus: each building's outline (north up) in its worst state's colour, its name inside it."""
    shapes = [b for b in buildings if len(b.get("outline") or []) >= 3]
    if not shapes:
        return html.Div(_("No buildings with an outline in the site file."), className="sc-calm-small", id=ident)
    boxes = {b["id"]: _bbox(b["outline"]) for b in shapes}
    x0, y0 = min(v[0] for v in boxes.values()), min(v[1] for v in boxes.values())
    x1, y1 = max(v[2] for v in boxes.values()), max(v[3] for v in boxes.values())
    pad = MARGIN * max(x1 - x0, y1 - y0)
    x0, y0, x1, y1 = x0 - pad, y0 - pad, x1 + pad, y1 + pad
    width, height = x1 - x0, y1 - y0
    items = []
    for b in shapes:
        bx0, by0, bx1, by1 = boxes[b["id"]]
        bw, bh = bx1 - bx0, by1 - by0
        poly = ", ".join(f"{(p[0] - bx0) / bw * 100:.2f}% {(by1 - p[1]) / bh * 100:.2f}%" for p in b["outline"])
        name = lang.named(b)
        lines = _lines(name, bw, bh)
        em = max(map(_em_width, lines))
        style = {"left": f"{(bx0 - x0) / width * 100:.3f}%", "top": f"{(y1 - by1) / height * 100:.3f}%",
                 "width": f"{bw / width * 100:.3f}%", "height": f"{bh / height * 100:.3f}%",
                 "clipPath": f"polygon({poly})"}
        label = html.Span([html.Span(line, className="sc-bldg-line") for line in lines], className="sc-bldg-label",
                          style={"fontSize": f"min(calc(86cqi / {em:.2f}), calc({70 / len(lines) / 1.2:.1f}cqb), "
                                             "2.2vw)"})
        state = b.get("worst") or "normal"
        cls = f"sc-bldg sc-dev-{state}" + (" sc-bldg-unacked" if b.get("unacked") else "")
        if b["id"] == highlight:
            cls += " sc-bldg-focus"
        props: dict[str, Any] = {"className": cls, "style": style, "title": name, "id": f"bldg-{b['id']}"}
        items.append(html.A(label, href=f"/map?building={b['id']}", **props) if links else html.Div(label, **props))
    return html.Div(html.Div(items, className="sc-campus", style={"--ar": f"{width / height:.4f}"}),
                    className="sc-plan-pane", id=ident)


def marker_size(n: int) -> float:
    """A marker's width in percent of the plan's: smaller when a floor holds many devices."""
    return round(min(2.8, max(1.1, 36 / math.sqrt(max(n, 1)))), 2)


def _normal(d: dict[str, Any]) -> dict[str, Any]:
    return {**d, "state": None, "disabled": False, "alarm_id": None, "unacked": False, "moved": False}


def _href(d: dict[str, Any]) -> str:
    return f"/console?alarm={d['alarm_id']}" if d.get("alarm_id") else f"/sensors?q={d['id']}"


def floor(plan: dict[str, Any], devices: list[dict[str, Any]], _: Translator, *, links: bool,
          focus: str | None = None, first: str | None = None, ident: str = "floor-view") -> html.Div:
    """A floor's plan with its placed devices (``devices``: MAP_DEVICES rows) at their positions.

    Each marker also carries its normal look (``data-base-*``), which ``marker_states`` and
    ``assets/floor.js`` go back to when a device returns to normal.
    """
    placed = [d for d in devices if d.get("x") is not None]
    w, h = float(plan["width"]), float(plan["height"])
    markers: list[html.A | html.Div] = []
    for d in placed:
        normal = _normal(d)
        props: dict[str, Any] = {
            "className": marker_class(d, focus, first), "title": _title(d, _), "id": f"dev-{d['id']}",
            "style": {"left": f"{d['x'] / w * 100:.3f}%", "top": f"{d['y'] / h * 100:.3f}%"},
            "data-base-class": marker_class(normal, focus, first), "data-base-title": _title(normal, _),
        }
        if links:
            props |= {"href": _href(d), "data-base-href": _href(normal)}
            markers.append(html.A(**props))
        else:
            markers.append(html.Div(**props))
    where = f"{plan['building_id']}/{plan['floor']}"
    frame: dict[str, Any] = {"className": "sc-floor", "data-floor": where, "data-w": w, "data-h": h,
                             "style": {"--ar": f"{w / h:.4f}", "--mk": f"{marker_size(len(placed))}",
                                       # the 首警 tag's words (CSS draws it on whichever marker is the first)
                                       "--first-label": '"{}"'.format(_("first fire alarm").replace('"', "'"))}}
    return html.Div(
        html.Div(
            [html.Img(src=f"/plans/{where}?v={plan['sha256'][:16]}", className="sc-floor-img", alt=""),
             html.Div(markers, className="sc-floor-devices")],
            **frame,
        ),
        className="sc-plan-pane", id=ident,
    )


def marker_states(devices: list[dict[str, Any]], _: Translator, *, focus: str | None = None,
                  first: str | None = None) -> dict[str, list[str]]:
    """What a push sends to an open floor: each device that does not look normal, as
    [class, title, link]; every other one goes back to its normal look (``assets/floor.js``).
    """
    out = {}
    for d in devices:
        if d.get("x") is None:
            continue
        cls = marker_class(d, focus, first)
        if cls != marker_class(_normal(d), focus, first):
            out[d["id"]] = [cls, _title(d, _), _href(d)]
    return out


def signature(plan: dict[str, Any] | None, devices: list[dict[str, Any]]) -> str:
    """What a floor view's frame depends on: when it is unchanged, a push may patch the markers."""
    if plan is None:
        return ""
    placed = ",".join(f"{d['id']}@{d['x']},{d['y']}" for d in devices if d.get("x") is not None)
    digest = hashlib.sha256(placed.encode()).hexdigest()[:16]  # the same in every worker process
    return f"{plan['building_id']}/{plan['floor']}/{plan['sha256']}/{digest}"


def legend(_: Translator) -> html.Div:
    """What each colour means."""
    return html.Div(
        [html.Span([html.Span(className=f"sc-dev sc-dev-{s} sc-legend-dot"), _(DEVICE_STATE_LABELS[s])],
                   className="sc-legend-item") for s in DEVICE_STATES]
        + [html.Span([html.Span(className="sc-dev sc-dev-alarm sc-dev-unacked sc-legend-dot"),
                      _("pulsing: not acknowledged")], className="sc-legend-item")],
        className="sc-legend",
    )


def floor_name(n: int, _: Translator) -> str:
    """Floor 0 is the ground floor, called floor 1 (1 层) as people say."""
    return _("floor {n}").format(n=n + 1)
