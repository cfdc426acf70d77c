"""The site file: departments, buildings, rooms and sensors of a campus (YAML, validated)."""

from __future__ import annotations

from datetime import time
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Any, Literal, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from ingest.core.errors import SafeCampusError
from ingest.core.i18n import translator
from ingest.core.vocabulary import LAB_METRICS, SENSOR_KIND_LABELS

_M = TypeVar("_M", bound=BaseModel)
ID = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
Day = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
DAYS: tuple[Day, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DEFAULT_INTERVAL_S = {"smoke": 300, "door": 120, "lab": 15}


class SiteError(SafeCampusError):
    """A site file that cannot be used; the message says where and why."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Schedule(_Strict):
    """When access to a restricted room is allowed."""

    days: list[Day] = Field(default_factory=lambda: list(DAYS[:5]))
    start: time = time(7, 0)
    end: time = time(22, 0)

    def allows(self, day: int, at: time) -> bool:
        """True when weekday ``day`` (0 = Monday) at ``at`` is inside the schedule."""
        return DAYS[day] in self.days and self.start <= at < self.end


class SensorSpec(_Strict):
    """One sensor, or ``count`` alike sensors numbered ``<room>-<kind>-<n>``."""

    id: str | None = Field(default=None, pattern=ID)
    kind: Literal["smoke", "door", "lab"]
    count: int = Field(default=1, ge=1, le=200)
    name: str | None = None
    name_zh: str | None = None
    interval_s: int | None = Field(default=None, ge=1, le=86_400)
    metrics: list[str] = Field(default_factory=list)
    thresholds: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _check(self) -> SensorSpec:
        if self.id and self.count != 1:
            raise ValueError("give either an id or a count, not both")
        unknown = [m for m in self.metrics if m not in LAB_METRICS]
        if unknown:
            raise ValueError(f"unknown metrics {unknown}; known: {', '.join(LAB_METRICS)}")
        if self.kind == "lab" and not self.metrics:
            raise ValueError("a lab sensor needs metrics")
        if self.kind != "lab" and self.metrics:
            raise ValueError("only lab sensors have metrics")
        return self


class Room(_Strict):
    """A room; sensors live in rooms."""

    id: str = Field(pattern=ID)
    name: str
    name_zh: str | None = None  # the Chinese name (screens in zh-CN show it; else ``name``)
    floor: int = 0
    use: Literal["lab", "store", "dorm", "office", "hall", "plant", "classroom", "corridor", "greenhouse"]
    hazard_class: str | None = None
    zone: str | None = None
    department: str | None = None
    restricted: Schedule | None = None
    sensors: list[SensorSpec] = Field(default_factory=list)


class Building(_Strict):
    """A building with its outline on the site plan (metres)."""

    id: str = Field(pattern=ID)
    name: str
    name_zh: str | None = None
    use: str
    department: str
    floors: int = Field(default=1, ge=1, le=100)
    outline: list[tuple[float, float]] = Field(min_length=3)
    rooms: list[Room] = Field(default_factory=list)


class Department(_Strict):
    """A responsible unit (二级单位)."""

    id: str = Field(pattern=ID)
    name: str
    name_zh: str | None = None


class SiteSensor(_Strict):
    """A sensor after expansion, with where it is."""

    id: str
    kind: Literal["smoke", "door", "lab"]
    building: str
    room: str
    zone: str
    department: str
    name: str
    name_zh: str | None = None
    interval_s: int
    metrics: list[str]
    thresholds: dict[str, Any]


class Site(_Strict):
    """A whole campus."""

    name: str
    name_zh: str | None = None
    timezone: str = "Asia/Shanghai"
    departments: list[Department]
    buildings: list[Building]

    @model_validator(mode="after")
    def _check_ids(self) -> Site:
        deps = {d.id for d in self.departments}
        if len(deps) != len(self.departments):
            raise ValueError("department ids must be unique")
        seen: set[str] = set()
        for b in self.buildings:
            if b.department not in deps:
                raise ValueError(f"building {b.id}: unknown department {b.department!r}")
            for r in b.rooms:
                if r.department and r.department not in deps:
                    raise ValueError(f"room {r.id}: unknown department {r.department!r}")
                if r.floor >= b.floors:
                    raise ValueError(f"room {r.id}: floor {r.floor} but {b.id} has {b.floors} floors")
        for ident in [b.id for b in self.buildings] + [r.id for b in self.buildings for r in b.rooms]:
            if ident in seen:
                raise ValueError(f"id {ident!r} is used twice")
            seen.add(ident)
        sensor_ids = [s.id for s in self.sensors]
        if len(set(sensor_ids)) != len(sensor_ids):
            dup = next(i for i in sensor_ids if sensor_ids.count(i) > 1)
            raise ValueError(f"sensor id {dup!r} is used twice")
        return self

    @cached_property
    def sensors(self) -> list[SiteSensor]:
        """Every sensor, with ``count`` expanded."""
        zh = translator("zh-CN")
        out = []
        for b in self.buildings:
            for r in b.rooms:
                for spec in r.sensors:
                    for n in range(1, spec.count + 1):
                        ident = spec.id or f"{r.id}-{spec.kind}-{n}"
                        out.append(
                            SiteSensor(
                                id=ident,
                                kind=spec.kind,
                                building=b.id,
                                room=r.id,
                                zone=r.zone or f"{b.id}-F{r.floor}",
                                department=r.department or b.department,
                                name=spec.name or f"{r.name} {spec.kind} {n}",
                                name_zh=spec.name_zh or (f"{r.name_zh} {zh(SENSOR_KIND_LABELS[spec.kind])} {n}"
                                                         if r.name_zh else None),
                                interval_s=spec.interval_s or DEFAULT_INTERVAL_S[spec.kind],
                                metrics=list(spec.metrics),
                                thresholds=dict(spec.thresholds),
                            )
                        )
        return out

    def building(self, ident: str) -> Building:
        """The building with this id."""
        return next(b for b in self.buildings if b.id == ident)

    def room(self, ident: str) -> Room:
        """The room with this id."""
        return next(r for b in self.buildings for r in b.rooms if r.id == ident)


def load_yaml_model(path: Path, model: type[_M], what: str) -> _M:
    """Read a YAML file into ``model``; SiteError naming the file, the place and the reason."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise SiteError(f"{path}: cannot read: {exc.strerror}") from exc
    except yaml.YAMLError as exc:
        raise SiteError(f"{path.name}: not valid YAML: {exc}") from exc
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        lines = [f"{path.name}: invalid {what}"]
        for err in exc.errors():
            loc = ".".join(str(p) for p in err["loc"])
            lines.append(f"  {loc or '(top)'}: {err['msg'].removeprefix('Value error, ')}")
        raise SiteError("\n".join(lines)) from None


def load_site(path: Path | str | None = None) -> Site:
    """Read and validate a site file; the demo campus when no path is given."""
    if path is None:
        path = Path(str(resources.files("sensors_sim") / "sites" / "demo.yaml"))
    return load_yaml_model(Path(path), Site, "site file")


def check_zone(site: Site, configured: str) -> None:
    """Campus time has one source: the site file must name the zone the settings give."""
    if site.timezone != configured:
        raise SiteError(
            f"SAFECAMPUS_SITE_TIMEZONE is {configured} but the site file {site.name!r} says {site.timezone}: "
            "set one to the other (every displayed time follows the setting)"
        )
