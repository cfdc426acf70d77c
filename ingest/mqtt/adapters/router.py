"""Route a foreign message to its adapter, bind it to a sensor and build the native event."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Protocol

from ingest.core.errors import ContractError
from ingest.core.intake import Limits
from ingest.core.site import Source
from ingest.core.vocabulary import LAB_METRICS, UNPLACED_BUILDING
from ingest.mqtt.adapters.base import (
    BOOLEAN,
    DETECTORS,
    Binding,
    Bindings,
    Reading,
    at_path,
    event_id,
    targets,
    unplaced_id,
)
from ingest.mqtt.contract import Event, Topic, build_event, parse_ts

_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)
_text_json = json.encoder.encode_basestring  # a JSON string literal (C)
_STATUS_FIELDS = ("battery_pct", "rssi_dbm", "link_margin_db")


class Adapter(Protocol):
    """One ecosystem's topics and payloads (see the modules beside this one)."""

    name: str
    names: dict[str, str]  # its field names → targets
    omits_false: bool  # leaves false and zero fields out (The Things Stack)

    def filters(self) -> list[str]:
        """The topic filters to subscribe to."""
        ...

    def claims(self, topic: str) -> bool:
        """True for a topic of this ecosystem."""
        ...

    def read(self, topic: str, raw: bytes, limits: Limits) -> Reading | None:
        """The message as a Reading; None for what is no device data (bridge logs, commands)."""
        ...

    def implied(self, kind: str, reading: Reading) -> dict[str, str]:
        """Field path → target that the sensor's kind implies (Home Assistant's bare states)."""
        ...


class Router:
    """Every enabled adapter, and the registry's bindings (replaced whole when it changes)."""

    def __init__(
        self, adapters: Sequence[Adapter], limits: Limits = Limits(), bindings: Bindings | None = None  # noqa: B008
    ) -> None:
        self.adapters = list(adapters)
        self.limits = limits
        self.bindings = bindings or Bindings()
        self._unplaced: dict[tuple[str, str], str] = {}  # (adapter, device) → its made sensor id
        self._by_topic: dict[str, Adapter | None] = {}

    def filters(self) -> list[str]:
        """Every topic filter the adapters need."""
        return [f for a in self.adapters for f in a.filters()]

    def adapter_for(self, topic: str) -> Adapter | None:
        """The adapter whose topic this is (remembered per topic: a device keeps its topic)."""
        try:
            return self._by_topic[topic]
        except KeyError:
            pass
        found = next((a for a in self.adapters if a.claims(topic)), None)
        if len(self._by_topic) > 50_000:  # a flood of made-up topics: forget, recompute
            self._by_topic.clear()
        self._by_topic[topic] = found
        return found

    def decode(self, topic: str, raw: bytes, received_at: datetime) -> Event | None:
        """The native event of a foreign message, or None when it is nothing to store.

        ContractError with the reason when it cannot be used; nothing else escapes, whatever the bytes.
        """
        adapter = self.adapter_for(topic)
        if adapter is None:
            return None
        try:
            return self._decode(adapter, topic, raw, received_at)
        except ContractError as exc:
            raise ContractError(f"{adapter.name}: {exc.reason}") from exc
        except Exception as exc:  # noqa: BLE001 - one message's content must never escape as a crash
            raise ContractError(
                f"{adapter.name}: message could not be read ({type(exc).__name__}: {str(exc)[:120]})"
            ) from exc

    def _decode(self, adapter: Adapter, topic: str, raw: bytes, received_at: datetime) -> Event | None:
        reading = adapter.read(topic, raw, self.limits)
        if reading is None:
            return None
        binding = self.bindings.find(reading)
        source = binding.source if binding else None
        if source is not None:
            _source_time_and_id(reading, source)
        names = adapter.names
        if binding is not None and not (source and source.fields):
            names = names | adapter.implied(binding.kind, reading)
        values = targets(reading, names, source)
        if adapter.omits_false and source is not None:  # a mapped true/false left out means false
            for how in source.fields.values():
                if how.to in BOOLEAN:
                    values.setdefault(how.to, False)
        if binding is None:
            kind = _infer_kind(values)
            if reading.availability or reading.status_only:
                return None  # the heartbeat of a device nobody placed: nothing to watch yet
            if kind is None:
                fields = ", ".join(sorted(str(k) for k in (reading.root or {}) if isinstance(reading.root, dict)))
                raise ContractError(f"no SafeCampus signal in this message (fields: {fields[:200] or 'none'})")
            ident = self._unplaced.get((reading.adapter, reading.key))
            if ident is None:
                if len(self._unplaced) > 10_000:  # a flood of made-up device names: forget, recompute
                    self._unplaced.clear()
                ident = self._unplaced[(reading.adapter, reading.key)] = unplaced_id(reading)
            binding = Binding(ident, kind, UNPLACED_BUILDING)
        kind, body = native(binding, values, reading, adapter.omits_false)
        ts = reading.ts or received_at
        body["ts"] = ts.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")
        body["event_id"] = event_id(reading, raw)
        origin = {"adapter": reading.adapter, "key": reading.key, "topic": topic}
        # The stored payload: the native fields, and the message as the device sent it (what of it
        # is the device's). A JSON message's text is already what jsonb takes, so it is spliced in.
        raw_json = reading.raw_json or _ENCODER.encode(reading.raw)
        canonical = _body_json(body)[:-1] + ',"source":' + _source_json(origin, raw_json) + "}"
        body["source"] = origin | {"raw": reading.raw}
        return build_event(topic, Topic(binding.building, kind, binding.sensor_id), body, canonical, received_at,
                           self.limits, ts=ts)



def _body_json(body: dict[str, Any]) -> str:
    """The native fields as JSON, written directly (the hot path of every adapted message).

    They are few and of known types: text (escaped by the C encoder), floats (repr is JSON for
    a finite float; a non-finite one fails the contract's range checks before anything is
    stored), booleans and the readings object.
    """
    parts = []
    for key, value in body.items():
        if isinstance(value, str):
            parts.append(f'"{key}":{_text_json(value)}')
        elif isinstance(value, bool):
            parts.append(f'"{key}":{"true" if value else "false"}')
        elif isinstance(value, float | int):
            parts.append(f'"{key}":{float(value)!r}')
        elif key == "readings":
            inner = ",".join(f'"{m}":{float(v)!r}' for m, v in value.items())
            parts.append(f'"readings":{{{inner}}}')
        else:
            parts.append(f'"{key}":{_ENCODER.encode(value)}')
    return "{" + ",".join(parts) + "}"


def _source_json(source: dict[str, str], raw_json: str) -> str:
    """``{"adapter":…,"key":…,"topic":…,"raw":…}`` with the raw message's own JSON text spliced in."""
    return (f'{{"adapter":"{source["adapter"]}","key":{_text_json(source["key"])},'
            f'"topic":{_text_json(source["topic"])},"raw":{raw_json}}}')


def _source_time_and_id(reading: Reading, source: Source) -> None:
    if source.ts:
        value = at_path(reading.root, source.ts)
        if value is None:
            raise ContractError(f"no time at {source.ts}")
        reading.ts = parse_ts(value)
        reading.marker = str(value)
    if source.event_id:
        value = at_path(reading.root, source.event_id)
        if value is None:
            raise ContractError(f"no event id at {source.event_id}")
        reading.event_id = str(value)


def _infer_kind(values: dict[str, Any]) -> str | None:
    if "smoke" in values:
        return "smoke"
    if "contact" in values or "door_open" in values:
        return "door"
    if any(k in LAB_METRICS for k in values):
        return "lab"
    return None


def native(binding: Binding, values: dict[str, Any], reading: Reading, omits_false: bool) -> tuple[str, dict[str, Any]]:
    """(kind, payload) of the campus/v1 event these values make for this sensor."""
    body: dict[str, Any] = {}
    if "battery_pct" in values:
        body["battery_pct"] = values["battery_pct"]
    if values.get("test"):
        body["drill"] = True  # a detector's self-test: stored and shown, never a real alarm
    kind = binding.kind
    if reading.availability is None and not reading.status_only:
        if kind == "smoke" and omits_false and "smoke" not in values:
            values = values | {"smoke": False}  # The Things Stack leaves 'false' out
        if kind == "smoke" and ({"smoke", "trouble"} & values.keys()):
            if values.get("smoke"):
                body["state"] = "alarm"
            elif values.get("trouble") or values.get("tamper") or values.get("battery_low"):
                body["state"] = "fault"
            else:
                body["state"] = "normal"
            return "smoke", body
        if kind == "door" and values.get("tamper"):
            return "door", body | {"event": "tamper"}
        if kind == "door" and ({"contact", "door_open"} & values.keys()):
            # zigbee2mqtt's contact: true means the magnet is at the reed switch: the door is closed.
            opened = values["door_open"] if "door_open" in values else not values["contact"]
            open_event = binding.source.open_event if binding.source else "door_opened"
            return "door", body | {"event": open_event if opened else "door_closed"}
        if kind == "lab":
            readings = {m: (1.0 if v else 0.0) if m in DETECTORS else v
                        for m, v in values.items() if m in LAB_METRICS}
            if readings:
                return "lab", body | {"readings": readings}
    # A state report, an availability message, or only a battery level: a heartbeat.
    status: dict[str, Any] = {k: values[k] for k in _STATUS_FIELDS if k in values}
    if reading.availability:
        status["availability"] = reading.availability
    return "status", status
