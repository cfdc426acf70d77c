"""What every adapter shares: the reading, field names, values, bindings, event identity."""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from ingest.core.errors import ContractError
from ingest.core.site import KEYED_BY, FieldMap, Source
from ingest.core.vocabulary import DETECTOR_METRICS, GASES

logger = logging.getLogger(__name__)

# Field names devices and codecs commonly use (lower case, the last part of a path) → target.
# A target is a lab metric or a signal (ingest.core.site.SIGNALS).
COMMON_FIELDS: dict[str, str] = {
    "smoke": "smoke", "smoke_alarm": "smoke", "fire": "smoke",
    "trouble": "trouble", "fault": "trouble",
    "test": "test",
    "tamper": "tamper",
    "contact": "contact",
    "door_open": "door_open", "open": "door_open",
    "water_leak": "water_leak", "leak": "water_leak",
    "gas": "gas_alarm", "gas_alarm": "gas_alarm",
    "carbon_monoxide": "co_alarm", "co_alarm": "co_alarm",
    "temperature": "temperature_c", "temp": "temperature_c", "temperature_c": "temperature_c",
    "humidity": "humidity_pct", "hum": "humidity_pct", "humidity_pct": "humidity_pct",
    "battery": "battery_pct", "battery_pct": "battery_pct", "batterylevel": "battery_pct",
    "battery_low": "battery_low", "batterylow": "battery_low",
    "lel": "lel_pct", "lel_pct": "lel_pct",
    "o2": "o2_pct", "o2_pct": "o2_pct", "oxygen": "o2_pct",
    "face_velocity": "face_velocity_mps", "face_velocity_mps": "face_velocity_mps", "airflow": "face_velocity_mps",
    "rssi": "rssi_dbm", "rssi_dbm": "rssi_dbm",
    # gases in ppm: 'nh3' and 'nh3_ppm'; VOC only with its unit (sensors report ppb or µg/m³ too)
    **{g.lower(): f"gas_ppm.{g}" for g in GASES if g != "VOC"},
    **{f"{g.lower()}_ppm": f"gas_ppm.{g}" for g in GASES},
}
DETECTORS = frozenset(DETECTOR_METRICS)  # switching detectors: lab metrics of 0 or 1
BOOLEAN = {"smoke", "trouble", "test", "tamper", "contact", "door_open", "battery_low", *DETECTORS}
_TRUE = {"true", "on", "1", "yes", "alarm", "detected", "open", "wet"}
_FALSE = {"false", "off", "0", "no", "normal", "clear", "closed", "dry", "none"}
_PATH_PART = re.compile(r"([^.\[\]]+)|\[(\d+)\]")
_SLUG = re.compile(r"[^A-Za-z0-9_.-]+")


@dataclass(slots=True)
class Reading:
    """What one foreign message says, before it is bound to a sensor."""

    adapter: str
    key: str  # the device's identity in its ecosystem (Source.key)
    name: str  # the device's own name: a device named like a sensor binds to it without a source line
    topic: str
    root: Any  # the values: the message, ChirpStack's object, TTS's decoded_payload...
    raw: Any  # the whole message as received (kept with the event)
    raw_json: str | None = None  # ``raw`` as the JSON text jsonb takes, when the message was JSON
    ts: datetime | None = None  # the source's time of the event, when it gives one
    marker: str = ""  # what tells two uplinks apart (fCnt, a source timestamp)
    event_id: str | None = None  # the source's own id of this message, when it has one
    status_only: bool = False  # a device's state report (Tasmota STATE, ChirpStack status): a heartbeat
    availability: str | None = None  # 'online' / 'offline' from the gateway
    known: dict[str, Any] = field(default_factory=dict)  # target → value the adapter read itself


@dataclass(frozen=True, slots=True)
class Binding:
    """A sensor a device's messages belong to."""

    sensor_id: str
    kind: str
    building: str
    source: Source | None = None


class Bindings:
    """The registry's sensors as the adapters need them: by (adapter, key), and by name."""

    def __init__(self, rows: Iterable[tuple[str, str, str, bool, dict[str, Any] | None]] = ()) -> None:
        self.by_key: dict[tuple[str, str], Binding] = {}
        self.by_name: dict[str, Binding] = {}
        for sensor_id, kind, building, registered, source in rows:
            if source:
                try:
                    spec = Source.model_validate(source_spec(source))
                except ValidationError:
                    logger.warning("sensor %s: source %r is not valid; ignored", sensor_id, source)
                    continue
                self.by_key.setdefault((spec.adapter, spec.key), Binding(sensor_id, kind, building, spec))
            elif registered:
                self.by_name.setdefault(sensor_id, Binding(sensor_id, kind, building))

    def find(self, reading: Reading) -> Binding | None:
        """The sensor of this reading's device: its source line, else a sensor of its name."""
        return self.by_key.get((reading.adapter, reading.key)) or self.by_name.get(reading.name)

    def __len__(self) -> int:
        return len(self.by_key) + len(self.by_name)


def source_spec(stored: dict[str, Any]) -> dict[str, Any]:
    """A registry source as a site-file source: an adopted device's stored ``key`` names it
    the way its adapter does (a topic, a DevEUI...), whatever topic its messages came on.
    """
    spec = {k: v for k, v in stored.items() if k != "key"}
    if stored.get("key") and stored.get("adapter") in KEYED_BY:
        spec[KEYED_BY[stored["adapter"]]] = stored["key"]
    return spec


def walk(value: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    """(path, value) for every leaf of a JSON value: 'AM2301.Temperature', 'list[0].x'."""
    if isinstance(value, dict):
        for k, v in value.items():
            yield from walk(v, f"{prefix}.{k}" if prefix else str(k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from walk(v, f"{prefix}[{i}]")
    else:
        yield prefix, value


def _leaves(root: Any) -> Iterable[tuple[str, Any]]:
    """``walk``, with a fast path for the flat objects most devices send."""
    if isinstance(root, dict) and not any(isinstance(v, dict | list) for v in root.values()):
        return root.items()
    return walk(root)


def at_path(root: Any, path: str) -> Any:
    """The value at a JSONPath-like path ('$.data.nh3', 'sensors[0].t'); None when absent."""
    value = root
    for name, index in _PATH_PART.findall(path.removeprefix("$").lstrip(".")):
        if name:
            value = value.get(name) if isinstance(value, dict) else None
        else:
            value = value[int(index)] if isinstance(value, list) and int(index) < len(value) else None
        if value is None:
            return None
    return value


def as_bool(value: Any, where: str) -> bool:
    """true/false, ON/OFF, 1/0, 'open'/'closed'... as a bool; ContractError otherwise."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    raise ContractError(f"{where} must be true or false, not {str(value)[:40]!r}")


def as_number(value: Any, where: str) -> float:
    """A number, or numeric text, as a float; ContractError otherwise."""
    if isinstance(value, bool):
        raise ContractError(f"{where} must be a number")
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            pass
    raise ContractError(f"{where} must be a number, not {str(value)[:40]!r}")


def convert(target: str, value: Any, where: str, how: FieldMap | None = None) -> Any:
    """A foreign value as its target wants it (a bool for a signal, a float for a metric)."""
    if how and how.map:
        value = how.map.get(str(value).lower() if isinstance(value, bool) else str(value), value)
    if target in BOOLEAN:
        flag = as_bool(value, where)
        return not flag if how and how.invert else flag
    if target == "availability":
        text = str(value).lower()
        if text not in ("online", "offline"):
            raise ContractError(f"{where} must be online or offline, not {str(value)[:40]!r}")
        return text
    number = as_number(value, where)
    return number * how.scale if how else number


def targets(reading: Reading, names: dict[str, str], source: Source | None) -> dict[str, Any]:
    """Every target this reading gives: what the adapter read, its field names, the source's mapping."""
    out = dict(reading.known)
    overrides = source.fields if source else {}
    if names and not (source and source.adapter == "generic"):
        for path, value in _leaves(reading.root):
            if value is None or path in overrides:
                continue
            target = names.get(path.rsplit(".", 1)[-1].lower())
            if target and target not in out:
                out[target] = convert(target, value, path)
    for path, how in overrides.items():
        value = at_path(reading.root, path)
        if value is not None:
            out[how.to] = convert(how.to, value, path, how)
    return out


def event_id(reading: Reading, canonical: bytes) -> str:
    """The source's own id, or one made from (adapter, device, marker, content).

    The same message always gets the same id, so a redelivery or a replay is stored once.
    """
    if reading.event_id:
        return reading.event_id[:128]
    digest = hashlib.blake2b(
        f"{reading.adapter}\x1f{reading.key}\x1f{reading.marker}\x1f".encode() + canonical, digest_size=12
    ).hexdigest()
    return f"{reading.adapter[:4]}-{digest}"


PREFIX = {"zigbee2mqtt": "z2m", "tasmota": "tasmota", "chirpstack": "lora", "ttn": "tts", "homeassistant": "ha",
          "generic": "mqtt"}


def unplaced_id(reading: Reading) -> str:
    """The sensor id of a device nobody has placed yet: readable, stable, a valid topic segment."""
    slug = _SLUG.sub(".", reading.key).strip(".-_") or "device"
    ident = f"{PREFIX[reading.adapter]}-{slug}"
    if len(ident) > 64:
        ident = f"{ident[:51]}-{hashlib.blake2b(reading.key.encode(), digest_size=6).hexdigest()}"
    return ident
