"""The site model: departments, buildings, rooms and sensors of a campus, and their checks
(``ingest.core.sitefile`` reads it from YAML).
"""

from __future__ import annotations

from datetime import time
from functools import cached_property
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator, model_validator

from ingest.core.errors import SafeCampusError
from ingest.core.floorplan import PlanImage
from ingest.core.i18n import translator
from ingest.core.inspections import InspectionPlan, Letter, plan_problems
from ingest.core.layout import FloorPlan, Position, points, position_problems
from ingest.core.patrols import Route, route_problems
from ingest.core.vocabulary import LAB_METRICS, SENSOR_KIND_LABELS

ID = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
Day = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
DAYS: tuple[Day, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DEFAULT_INTERVAL_S = {"smoke": 300, "door": 120, "lab": 15, "checkpoint": 86_400}  # checkpoints never report


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


# Where a device that speaks another ecosystem's MQTT comes from (docs/devices.md).
Adapter = Literal["zigbee2mqtt", "tasmota", "chirpstack", "ttn", "homeassistant", "generic"]
Power = Literal["battery", "mains"]
# What names a device in each ecosystem: a topic, or a device id inside the messages.
KEYED_BY: dict[str, str] = {"zigbee2mqtt": "topic", "tasmota": "topic", "generic": "topic",
                            "chirpstack": "device", "ttn": "device", "homeassistant": "device"}
DEFAULT_POWER: dict[str, Power] = {"zigbee2mqtt": "battery", "tasmota": "mains", "chirpstack": "battery",
                                   "ttn": "battery", "homeassistant": "mains", "generic": "mains"}
# Silence after which a device counts as offline, by ecosystem and power source (seconds).
# zigbee2mqtt's own availability defaults (battery 25 h, mains 10 min); Tasmota reports every
# 300 s (TelePeriod); LoRaWAN sensors send hourly, so three missed uplinks. Home Assistant's
# statestream publishes only changes: no silence limit, its 'unavailable' state says offline.
OFFLINE_AFTER_S: dict[str, dict[str, int | None]] = {
    "zigbee2mqtt": {"battery": 25 * 3600, "mains": 600},
    "tasmota": {"battery": 25 * 3600, "mains": 900},
    "chirpstack": {"battery": 3 * 3600, "mains": 3 * 3600},
    "ttn": {"battery": 3 * 3600, "mains": 3 * 3600},
    "homeassistant": {"battery": None, "mains": None},
    "generic": {"battery": None, "mains": None},
}
SIGNALS = ("smoke", "trouble", "test", "tamper", "contact", "door_open", "battery_pct", "battery_low",
           "rssi_dbm", "link_margin_db", "availability")


class FieldMap(_Strict):
    """How one field of a foreign payload becomes a SafeCampus value.

    ``to`` is a lab metric (``gas_ppm.NH3``, ``temperature_c``, ``gas_alarm``...) or a signal
    (``smoke``, ``contact`` (true = closed), ``door_open``, ``tamper``, ``trouble``, ``test``,
    ``battery_pct``, ``battery_low``, ``rssi_dbm``, ``link_margin_db``, ``availability``);
    ``map`` turns a value (as text) into another first; ``invert`` flips a true/false;
    ``scale`` multiplies a number (ppb → ppm: 0.001).
    """

    to: str
    map: dict[str, Any] = Field(default_factory=dict)
    invert: bool = False
    scale: float = 1.0

    @model_validator(mode="after")
    def _check(self) -> FieldMap:
        if self.to not in LAB_METRICS and self.to not in SIGNALS:
            raise ValueError(f"unknown target {self.to!r}; a lab metric or one of {', '.join(SIGNALS)}")
        return self


class Source(_Strict):
    """A device of another ecosystem: which adapter, which device, and how its fields map."""

    adapter: Adapter
    topic: str | None = Field(default=None, min_length=1, max_length=512)
    device: str | None = Field(default=None, min_length=1, max_length=128)
    power: Power | None = None
    offline_after_s: int | None = Field(default=None, ge=60, le=30 * 86_400)
    # Field path (dotted, '$.' optional, [n] for list items) → mapping; adds to or overrides
    # the adapter's own field names. The generic adapter knows no names: it needs these.
    fields: dict[str, FieldMap] = Field(default_factory=dict)
    ts: str | None = None  # generic: the path of the event time
    event_id: str | None = None  # generic: the path of an event id
    # A contact sensor on a door nobody may open without a card (a store, an exit): opening is forced.
    open_event: Literal["door_opened", "door_forced"] = "door_opened"

    @model_validator(mode="after")
    def _check(self) -> Source:
        need = KEYED_BY[self.adapter]
        if getattr(self, need) is None:
            raise ValueError(f"a {self.adapter} source needs '{need}'")
        if self.adapter == "generic" and not self.fields:
            raise ValueError("a generic source needs 'fields'")
        if any(c in (self.topic or "") for c in "+#"):
            raise ValueError("a source topic names one device: no MQTT wildcards")
        return self

    @property
    def key(self) -> str:
        """The device's identity within its adapter (zigbee2mqtt's topic, a DevEUI...)."""
        value = self.topic if KEYED_BY[self.adapter] == "topic" else self.device
        if self.adapter == "tasmota":
            value = (value or "").removeprefix("tele/")
        return (value or "").lower() if self.adapter == "chirpstack" else (value or "")


class AdapterDefaults(_Strict):
    """Site-wide offline limits of one ecosystem (seconds), overriding OFFLINE_AFTER_S."""

    battery_offline_s: int | None = Field(default=None, ge=60)
    mains_offline_s: int | None = Field(default=None, ge=60)


class SensorSpec(_Strict):
    """One sensor, or ``count`` alike sensors numbered ``<room>-<kind>-<n>``."""

    id: str | None = Field(default=None, pattern=ID)
    kind: Literal["smoke", "door", "lab", "checkpoint"]
    count: int = Field(default=1, ge=1, le=200)
    tag: str | None = Field(default=None, min_length=1, max_length=64)  # a checkpoint's NFC/RFID/QR code
    name: str | None = None
    name_zh: str | None = None
    interval_s: int | None = Field(default=None, ge=1, le=86_400)
    metrics: list[str] = Field(default_factory=list)
    thresholds: dict[str, Any] = Field(default_factory=dict)
    source: Source | None = None
    at: list[Position] | None = None  # on its floor's plan: [x, y], {x, y, zone}, or one per sensor of a count

    _points = field_validator("at", mode="before")(points)

    @model_validator(mode="after")
    def _check(self) -> SensorSpec:
        if self.id and self.count != 1:
            raise ValueError("give either an id or a count, not both")
        if self.at is not None and len(self.at) != self.count:
            raise ValueError(f"'at' gives {len(self.at)} positions for {self.count} sensors")
        if self.source and self.count != 1:
            raise ValueError("a sensor with a source is one device: give it an id, not a count")
        unknown = [m for m in self.metrics if m not in LAB_METRICS]
        if unknown:
            raise ValueError(f"unknown metrics {unknown}; known: {', '.join(LAB_METRICS)}")
        if self.kind == "lab" and not self.metrics:
            raise ValueError("a lab sensor needs metrics")
        if self.kind != "lab" and self.metrics:
            raise ValueError("only lab sensors have metrics")
        if self.tag and (self.kind != "checkpoint" or self.count != 1):
            raise ValueError("only one checkpoint (give it an id) has a tag")
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
    """A responsible unit (二级单位), and its responsibility letter; its items are its inspection plans."""

    id: str = Field(pattern=ID)
    name: str
    name_zh: str | None = None
    letter: Letter | None = None


class SiteSensor(_Strict):
    """A sensor after expansion, with where it is."""

    id: str
    kind: Literal["smoke", "door", "lab", "checkpoint"]
    tag: str | None = None
    building: str
    room: str
    zone: str
    department: str
    name: str
    name_zh: str | None = None
    interval_s: int
    metrics: list[str]
    thresholds: dict[str, Any]
    source: Source | None = None
    offline_after_s: int | None = None  # from its source's ecosystem and power, unless thresholds say
    floor: int = 0
    position: Position | None = None  # on its floor's plan


class Site(_Strict):
    """A whole campus."""

    name: str
    name_zh: str | None = None
    timezone: str = "Asia/Shanghai"
    departments: list[Department]
    buildings: list[Building]
    adapters: dict[Adapter, AdapterDefaults] = Field(default_factory=dict)
    layout: str | None = None  # a layout file beside this one with plans and positions (sitefile.load_site)
    plans: list[FloorPlan] = Field(default_factory=list)
    positions: dict[str, Position] = Field(default_factory=dict)
    patrols: list[Route] = Field(default_factory=list)  # guard-tour routes over checkpoint sensors
    inspections: list[InspectionPlan] = Field(default_factory=list)  # recurring checks, each a shipped checklist
    _images: dict[tuple[str, int], PlanImage] = PrivateAttr(default_factory=dict)

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
        sources: dict[tuple[str, str], str] = {}
        for sensor in self.sensors:
            if sensor.source:
                where = (sensor.source.adapter, sensor.source.key)
                if where in sources:
                    raise ValueError(f"sensors {sources[where]!r} and {sensor.id!r} name the same device {where[1]!r}")
                sources[where] = sensor.id
        tags = [s.tag for s in self.sensors if s.tag]
        if len(set(tags)) != len(tags):
            raise ValueError(f"tag {next(t for t in tags if tags.count(t) > 1)!r} is on two checkpoints")
        route_problems(self.patrols, {s.id for s in self.sensors if s.kind == "checkpoint"})
        plan_problems(self.inspections, deps, {b.id for b in self.buildings})
        return self

    def offline_after_s(self, spec: SensorSpec) -> int | None:
        """How long a sensor may be silent before it is offline (None: its reporting interval decides)."""
        if "offline_after_s" in spec.thresholds:
            return int(spec.thresholds["offline_after_s"])
        src = spec.source
        if src is None:
            return None
        if src.offline_after_s:
            return src.offline_after_s
        power = src.power or DEFAULT_POWER[src.adapter]
        site_wide = self.adapters.get(src.adapter)
        configured = getattr(site_wide, f"{power}_offline_s", None) if site_wide else None
        return configured or OFFLINE_AFTER_S[src.adapter][power]

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
                                tag=spec.tag,
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
                                source=spec.source,
                                offline_after_s=self.offline_after_s(spec),
                                floor=r.floor,
                                position=spec.at[n - 1] if spec.at else self.positions.get(ident),
                            )
                        )
        return out

    @property
    def plan_images(self) -> dict[tuple[str, int], PlanImage]:
        """The checked plan of each (building, floor) that has one (read by ``sitefile.load_site``)."""
        return dict(self._images)

    def keep_plans(self, images: dict[tuple[str, int], PlanImage]) -> None:
        """Keep the plan images read beside the site file, once ``layout_problems`` found none."""
        self._images.update(images)

    def layout_problems(self, images: dict[tuple[str, int], PlanImage]) -> list[tuple[tuple[Any, ...], str]]:
        """What is wrong with the plans and positions, each with its place in the file (keys and indexes)."""
        problems: list[tuple[tuple[Any, ...], str]] = []
        floors = {b.id: b.floors for b in self.buildings}
        seen_plans: set[tuple[str, int]] = set()
        for i, plan in enumerate(self.plans):
            if plan.building not in floors:
                problems.append((("plans", i, "building"), f"unknown building {plan.building!r}"))
            elif plan.floor >= floors[plan.building]:
                problems.append((("plans", i, "floor"),
                                 f"floor {plan.floor} but {plan.building} has {floors[plan.building]} floors"))
            elif (plan.building, plan.floor) in seen_plans:
                problems.append((("plans", i), f"a second plan for floor {plan.floor} of {plan.building}"))
            seen_plans.add((plan.building, plan.floor))
        floors_placed: dict[tuple[str, int], dict[str, Position]] = {}
        locs: dict[str, tuple[Any, ...]] = {}
        for bi, b in enumerate(self.buildings):
            for ri, r in enumerate(b.rooms):
                for si, spec in enumerate(r.sensors):
                    for n in range(1, spec.count + 1):
                        ident = spec.id or f"{r.id}-{spec.kind}-{n}"
                        locs[ident], pos = ("positions", ident), self.positions.get(ident)
                        if spec.at:
                            locs[ident] = ("buildings", bi, "rooms", ri, "sensors", si, "at", n - 1)
                            pos = spec.at[n - 1]
                            if ident in self.positions:
                                problems.append((("positions", ident), f"{ident} is placed twice (also by 'at')"))
                        if pos is None:
                            continue
                        if (b.id, r.floor) not in images:
                            problems.append((locs[ident],
                                             f"{ident} is placed but floor {r.floor} of {b.id} has no plan"))
                            continue
                        floors_placed.setdefault((b.id, r.floor), {})[ident] = pos
        for where, placed in floors_placed.items():
            image = images[where]
            problems += [(locs[ident], why.format(**values))
                         for ident, why, values in position_problems(placed, image.width, image.height)]
        known = {s.id for s in self.sensors}
        problems += [(("positions", ident), f"unknown sensor {ident!r}") for ident in self.positions
                     if ident not in known]
        return problems

    def building(self, ident: str) -> Building:
        """The building with this id."""
        return next(b for b in self.buildings if b.id == ident)

    def room(self, ident: str) -> Room:
        """The room with this id."""
        return next(r for b in self.buildings for r in b.rooms if r.id == ident)
