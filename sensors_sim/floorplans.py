"""Simple, clean floor plans made from a site model: rooms on both sides of a corridor, stairs at
the ends, every sensor placed (``safecampus sim plans``; the demo campus's plans are made by it).

Pure until ``write``: a plan is an SVG in decimetres of the building's outline (10 units per
metre), north up; a room's label is its number (the part of its id after the building's), so
the drawing is the same in every language. Sensors go inside their room: smoke detectors and lab
sensors spread over it, door sensors along the wall the room shares with the corridor.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import yaml

from ingest.core.site import Building, Room, Site, SiteSensor

UNIT = 10  # plan units per metre
WALL = 3  # units
CORRIDOR_M = 3.0
STAIR_M = 4.0
BG, ROOM, HALL, LINE, TEXT, STAIR = "#26282b", "#33373c", "#2c2f33", "#8a8f96", "#9aa0a6", "#3b3f45"


@dataclass(frozen=True)
class Box:
    """A rectangle in plan units."""

    x: float
    y: float
    w: float
    h: float

    def grid(self, n: int, inset: float) -> list[tuple[float, float]]:
        """``n`` points spread over the box, ``inset`` from its walls."""
        if n <= 0:
            return []
        w, h = max(self.w - 2 * inset, 1), max(self.h - 2 * inset, 1)
        cols = max(1, min(n, round(math.sqrt(n * w / h)) or 1))
        rows = math.ceil(n / cols)
        cols = math.ceil(n / rows)
        out = []
        for i in range(n):
            r, c = divmod(i, cols)
            in_row = min(cols, n - r * cols)
            out.append((self.x + inset + w * (c + 0.5) / in_row, self.y + inset + h * (r + 0.5) / rows))
        return out


def _label(building: Building, room: Room) -> str:
    return room.id.removeprefix(building.id + "-").upper()


def _rooms_on(building: Building, floor: int) -> tuple[list[Room], list[Room]]:
    rooms = [r for r in building.rooms if r.floor == floor]
    return [r for r in rooms if r.use == "corridor"], [r for r in rooms if r.use != "corridor"]


def floor_plan(building: Building, floor: int, sensors: list[SiteSensor]) -> tuple[str, dict[str, tuple[float, float]]]:
    """The SVG of one floor and each of its sensors' positions (plan units, rounded to 0.1)."""
    xs, ys = [p[0] for p in building.outline], [p[1] for p in building.outline]
    width, height = round((max(xs) - min(xs)) * UNIT), round((max(ys) - min(ys)) * UNIT)
    along_x = width >= height  # the corridor runs along the longer side
    long_side, short_side = (width, height) if along_x else (height, width)
    stair, corridor = STAIR_M * UNIT, CORRIDOR_M * UNIT
    halls, rooms = _rooms_on(building, floor)
    side = (short_side - corridor) / 2

    def box(a: float, b: float, length: float, depth: float) -> Box:  # along, across → x, y
        return Box(a, b, length, depth) if along_x else Box(b, a, depth, length)

    inner = long_side - 2 * stair
    rows = [rooms[: math.ceil(len(rooms) / 2)], rooms[math.ceil(len(rooms) / 2):]]
    boxes: dict[str, Box] = {}
    doors: dict[str, tuple[float, float, float, float]] = {}
    for k, row in enumerate(rows):
        for i, room in enumerate(row):
            step = inner / len(row)
            across = 0.0 if k == 0 else side + corridor
            boxes[room.id] = box(stair + i * step, across, step, side)
            wall = side if k == 0 else side + corridor  # the wall shared with the corridor
            a0 = stair + i * step + step * 0.15
            doors[room.id] = (a0, wall, a0 + min(step * 0.25, 1.2 * UNIT), wall)
    hall = box(stair, side, inner, corridor)
    for room in halls:
        boxes[room.id] = hall
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
             f'width="{width}" height="{height}" font-family="sans-serif">',
             f'<rect x="0" y="0" width="{width}" height="{height}" fill="{BG}"/>',
             _rect(hall, HALL, "corridor")]
    for end in (0, long_side - stair):
        s = box(end, 0, stair, short_side)
        parts.append(_rect(s, STAIR, "stairs"))
        for t in range(1, 8):  # treads
            a = end + stair * t / 8
            x1, y1, x2, y2 = (a, side * 0.2, a, short_side - side * 0.2) if along_x else \
                (side * 0.2, a, short_side - side * 0.2, a)
            parts.append(f'<line x1="{x1:g}" y1="{y1:g}" x2="{x2:g}" y2="{y2:g}" stroke="{LINE}" stroke-width="1"/>')
    for k, row in enumerate(rows):  # a side with none of the site's rooms: plain rooms, about 6 m wide
        if not row:
            cells = max(1, round(inner / (6 * UNIT)))
            for i in range(cells):
                parts.append(_rect(box(stair + i * inner / cells, 0.0 if k == 0 else side + corridor,
                                       inner / cells, side), HALL, "other"))
    for room in rooms:
        b = boxes[room.id]
        parts.append(_rect(b, ROOM, "room"))
        a0, w0, a1, w1 = doors[room.id]
        x1, y1, x2, y2 = (a0, w0, a1, w1) if along_x else (w0, a0, w1, a1)
        parts.append(f'<line x1="{x1:g}" y1="{y1:g}" x2="{x2:g}" y2="{y2:g}" stroke="{HALL}" '
                     f'stroke-width="{WALL + 1}"/>')  # the doorway: a gap in the wall
        size = max(min(b.w, b.h) * 0.13, 14)  # the number in the room's corner, clear of its devices
        parts.append(f'<text x="{b.x + WALL + size * 0.4:g}" y="{b.y + WALL + size * 1.05:g}" font-size="{size:.0f}" '
                     f'fill="{TEXT}" opacity="0.6">{_label(building, room)}</text>')
    parts.append(f'<rect x="0" y="0" width="{width}" height="{height}" fill="none" stroke="{LINE}" '
                 f'stroke-width="{WALL * 2}"/>')
    bar = 5 * UNIT  # a 5 m scale bar, bottom left
    parts.append(f'<path d="M {stair / 4:g} {height - 8} h {bar} m 0 -4 v 8 m {-bar} -8 v 8" stroke="{TEXT}" '
                 f'stroke-width="2" fill="none"/><text x="{stair / 4 + bar + 6:g}" y="{height - 6}" '
                 f'font-size="12" fill="{TEXT}">5 m</text>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n", _place(sensors, boxes, doors, along_x)


def _rect(b: Box, fill: str, role: str) -> str:
    return (f'<rect class="{role}" x="{b.x:g}" y="{b.y:g}" width="{b.w:g}" height="{b.h:g}" fill="{fill}" '
            f'stroke="{LINE}" stroke-width="{WALL}"/>')


def _place(sensors: list[SiteSensor], boxes: dict[str, Box], doors: dict[str, tuple[float, float, float, float]],
           along_x: bool) -> dict[str, tuple[float, float]]:
    out: dict[str, tuple[float, float]] = {}
    by_room: dict[str, list[SiteSensor]] = {}
    for s in sensors:
        by_room.setdefault(s.room, []).append(s)
    for room, group in by_room.items():
        b = boxes[room]
        at_door = [s for s in group if s.kind == "door" and room in doors]
        checkpoints = [s for s in group if s.kind == "checkpoint"]  # on the wall by the room's entrance
        inside = [s for s in group if s not in at_door and s not in checkpoints]
        for i, s in enumerate(checkpoints):
            out[s.id] = (b.x + min(b.w, b.h) * (0.1 + 0.15 * i), b.y + min(b.w, b.h) * 0.1)
        for s, p in zip(inside, b.grid(len(inside), inset=min(b.w, b.h) * 0.18), strict=True):
            out[s.id] = p
        if at_door:
            a0, wall, a1, _w = doors[room]
            for i, s in enumerate(at_door):
                a = a0 + (a1 - a0) / 2 + i * 1.5 * UNIT
                out[s.id] = (a, wall) if along_x else (wall, a)
    return {k: (round(x, 1), round(y, 1)) for k, (x, y) in out.items()}


def write(site: Site, site_file: Path, out_dir: Path | None = None) -> Path:
    """Write every floor's plan beside the site file (``plans/``) and the layout file naming them."""
    base = out_dir or site_file.parent
    (base / "plans").mkdir(parents=True, exist_ok=True)
    plans: list[dict[str, object]] = []
    positions: dict[str, list[float]] = {}
    for b in site.buildings:
        for floor in sorted({r.floor for r in b.rooms}):
            sensors = [s for s in site.sensors if s.building == b.id and s.floor == floor]
            svg, placed = floor_plan(b, floor, sensors)
            name = f"plans/{b.id}-F{floor}.svg"
            (base / name).write_text(svg, encoding="utf-8")
            plans.append({"building": b.id, "floor": floor, "file": name})
            positions.update({k: [x, y] for k, (x, y) in placed.items()})
    layout = base / f"{site_file.stem}-layout.yaml"
    head = (f"# Floor plans and device positions of {site_file.name} (docs/site-file.md).\n"
            "# Made by `safecampus sim plans`; the placement tool's export writes the same shape.\n")
    body = yaml.safe_dump({"plans": plans, "positions": positions}, sort_keys=False, default_flow_style=None,
                          width=120)
    layout.write_text(head + body, encoding="utf-8")
    return layout
