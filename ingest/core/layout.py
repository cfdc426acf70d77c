"""Floor plans and device positions of a site (docs/site-file.md), and where in a YAML file a thing is.

A site file may list its ``plans`` and ``positions`` itself, or keep them in a layout file it
names (``layout: demo-layout.yaml``), which is what the placement tool exports.
"""

from __future__ import annotations

from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

from ingest.core.i18n import N_

# Two devices closer than this share a spot (a fraction of the plan's larger side): their
# markers would cover each other, and nobody could tell which one is in alarm.
SAME_SPOT = 0.005
ZONE = r"^[^\s].{0,63}$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Position(_Strict):
    """Where a device is on its floor's plan: plan coordinates, and optionally its zone there."""

    x: float
    y: float
    zone: str | None = Field(default=None, pattern=ZONE)

    @model_validator(mode="before")
    @classmethod
    def _pair(cls, value: Any) -> Any:
        if isinstance(value, list | tuple):
            if len(value) != 2:
                raise ValueError("a position is [x, y] or {x, y, zone}")
            return {"x": value[0], "y": value[1]}
        return value

    def near(self, other: Position, spot: float) -> bool:
        """True when the two positions are within ``spot`` of each other."""
        return abs(self.x - other.x) < spot and abs(self.y - other.y) < spot


class FloorPlan(_Strict):
    """The plan of one floor of a building: a file beside the site file (SVG, PNG or JPEG)."""

    building: str
    floor: int = Field(ge=0)
    file: str = Field(min_length=1, max_length=255)


class Layout(_Strict):
    """A layout file: plans and positions (sensor id → position), kept apart from the site file."""

    plans: list[FloorPlan] = Field(default_factory=list)
    positions: dict[str, Position] = Field(default_factory=dict)


def points(value: Any) -> Any:
    """A sensor's ``at``: one position, or a list of them (one per sensor of a ``count``)."""
    if value is None:
        return None
    if isinstance(value, dict) or (isinstance(value, list | tuple) and len(value) == 2
                                   and all(isinstance(v, int | float) for v in value)):
        return [value]
    return value


def line_of(text: str, loc: tuple[Any, ...]) -> int | None:
    """The line (1-based) of the YAML node at ``loc`` (keys and list indexes), or of its nearest parent."""
    try:
        node = yaml.compose(text)
    except yaml.YAMLError:
        return None
    line = node.start_mark.line + 1 if node is not None else None
    for step in loc:
        if isinstance(node, yaml.MappingNode):
            found = next(((k, v) for k, v in node.value if k.value == str(step)), None)
            if found is None:
                break
            line = found[0].start_mark.line + 1
            node = found[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(step, int) and step < len(node.value):
            node = node.value[step]
            line = node.start_mark.line + 1
        else:
            break
    return line


OUTSIDE = N_("{id} at ({x:g}, {y:g}) is outside its plan (0-{w:g} × 0-{h:g})")
SAME = N_("{id} and {other} are on one spot ({x:g}, {y:g})")


def position_problems(placed: dict[str, Position], width: float,
                      height: float) -> list[tuple[str, str, dict[str, Any]]]:
    """What is wrong with the positions of one floor's devices on a ``width`` × ``height`` plan:
    (sensor id, reason template, its values) for each device off the plan or on another's spot.
    """
    problems: list[tuple[str, str, dict[str, Any]]] = []
    spot = SAME_SPOT * max(width, height)
    kept: list[tuple[str, Position]] = []
    for ident, pos in placed.items():
        if not (0 <= pos.x <= width and 0 <= pos.y <= height):
            problems.append((ident, OUTSIDE, {"id": ident, "x": pos.x, "y": pos.y, "w": width, "h": height}))
            continue
        clash = next((other for other, p in kept if p.near(pos, spot)), None)
        if clash:
            problems.append((ident, SAME, {"id": ident, "other": clash, "x": pos.x, "y": pos.y}))
        kept.append((ident, pos))
    return problems
