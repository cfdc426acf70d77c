"""Speak another ecosystem: the simulator's campus/v1 messages as zigbee2mqtt, Tasmota,
ChirpStack, The Things Stack or Home Assistant would publish them (``sim --format``).

Each device is named like its sensor (a zigbee2mqtt friendly name, a Tasmota topic, a
ChirpStack device name, a TTS device id, a Home Assistant object id with '_' for '-'), which
binds it in ingest without a source line; a sensor whose site-file source is of the same
ecosystem is published under its source's topic or device. What an ecosystem cannot say
(a smoke pre-alarm over zigbee2mqtt, a card reader's grant over a contact sensor) is left out.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from ingest.core.site import Site, SiteSensor
from ingest.mqtt.adapters.base import COMMON_FIELDS, DETECTORS
from ingest.mqtt.contract import parse_topic
from sensors_sim.life import SimMessage

FORMATS = ("native", "zigbee2mqtt", "tasmota", "chirpstack", "ttn", "homeassistant")
# metric → the field name devices use for it (the first name the adapters know it by)
_FIELD: dict[str, str] = {}
for _name, _target in COMMON_FIELDS.items():
    _FIELD.setdefault(_target, _name)


class Converter:
    """Turns each native message into the chosen ecosystem's message (or None)."""

    def __init__(self, fmt: str, site: Site | None) -> None:
        if fmt not in FORMATS:
            raise ValueError(f"unknown format {fmt!r}; one of {', '.join(FORMATS)}")
        self.fmt = fmt
        self.sensors = {s.id: s for s in site.sensors} if site else {}
        self.zone = ZoneInfo(site.timezone if site else "Asia/Shanghai")
        self._fcnt: dict[str, int] = {}

    def __call__(self, msg: SimMessage) -> SimMessage | None:
        """The message as ``fmt`` publishes it; None when that ecosystem cannot say it."""
        if self.fmt == "native" or msg.raw is not None:
            return msg
        where = parse_topic(msg.topic)
        sensor = self.sensors.get(where.sensor_id)
        if sensor is None:
            return None
        values = _values(where.kind, msg.payload)
        if values is None:
            return None
        made = getattr(self, f"_{self.fmt}")(sensor, where.kind, values, msg)
        if made is None:
            return None
        topic, body = made
        raw = body.encode() if isinstance(body, str) else json.dumps(body, separators=(",", ":")).encode()
        return SimMessage(msg.ts, topic, msg.payload, raw=raw)

    def _device(self, sensor: SiteSensor, attr: str) -> str | None:
        src = sensor.source
        return getattr(src, attr) if src is not None and src.adapter == self.fmt else None

    def _zigbee2mqtt(self, sensor: SiteSensor, kind: str, values: dict[str, Any], msg: SimMessage) -> tuple | None:
        topic = self._device(sensor, "topic") or f"zigbee2mqtt/{sensor.building}/{sensor.id}"
        return topic, _fields(values) | {"linkquality": 120, "last_seen": _iso(msg.ts)}

    def _tasmota(self, sensor: SiteSensor, kind: str, values: dict[str, Any], msg: SimMessage) -> tuple | None:
        device = (self._device(sensor, "topic") or sensor.id).removeprefix("tele/")
        local = msg.ts.astimezone(self.zone).replace(tzinfo=None).isoformat(timespec="seconds")
        if kind == "status":
            return f"tele/{device}/STATE", {"Time": local, "Uptime": "1T00:00:00",
                                            "Wifi": {"AP": 1, "RSSI": 80, "Signal": -60}}
        fields = _fields(values)
        if "contact" in fields:
            fields["Switch1"] = "ON" if fields.pop("contact") else "OFF"
        if "smoke" in fields:
            fields["smoke"] = "ON" if fields["smoke"] else "OFF"
        return f"tele/{device}/SENSOR", {"Time": local, "SC": fields}

    def _chirpstack(self, sensor: SiteSensor, kind: str, values: dict[str, Any], msg: SimMessage) -> tuple | None:
        dev_eui = self._device(sensor, "device") or hashlib.blake2b(sensor.id.encode(), digest_size=8).hexdigest()
        info = {"applicationName": "campus", "deviceName": sensor.id, "devEui": dev_eui}
        dedup = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{sensor.id}/{msg.payload.get('event_id')}"))
        if kind == "status":
            return (f"application/campus/device/{dev_eui}/event/status",
                    {"deduplicationId": dedup, "time": _iso(msg.ts), "deviceInfo": info, "margin": 10,
                     "batteryLevel": values.get("battery_pct", 90)})
        n = self._fcnt[sensor.id] = self._fcnt.get(sensor.id, 0) + 1
        return (f"application/campus/device/{dev_eui}/event/up",
                {"deduplicationId": dedup, "time": _iso(msg.ts), "deviceInfo": info, "fCnt": n, "fPort": 1,
                 "data": "", "object": _fields(values)})

    def _ttn(self, sensor: SiteSensor, kind: str, values: dict[str, Any], msg: SimMessage) -> tuple | None:
        device = self._device(sensor, "device") or sensor.id
        n = self._fcnt[sensor.id] = self._fcnt.get(sensor.id, 0) + 1
        # The Things Stack leaves out empty fields: false, 0 and "" are not sent.
        decoded = {k: v for k, v in _fields(values).items() if v not in (False, 0, "")}
        return (f"v3/campus@ttn/devices/{device}/up",
                {"end_device_ids": {"device_id": device, "application_ids": {"application_id": "campus"}},
                 "received_at": _iso(msg.ts),
                 "uplink_message": {"f_port": 1, "f_cnt": n, "decoded_payload": decoded, "received_at": _iso(msg.ts)}})

    def _homeassistant(self, sensor: SiteSensor, kind: str, values: dict[str, Any], msg: SimMessage) -> tuple | None:
        entity = self._device(sensor, "device") or f"binary_sensor.{sensor.id.replace('-', '_').replace('.', '_')}"
        domain, object_id = entity.split(".", 1)
        flag = next((values[k] for k in ("smoke", "door_open", *DETECTORS) if k in values), None)
        if domain != "binary_sensor" or flag is None:
            return None  # statestream sends changes of state only, and numbers need a mapping
        return f"homeassistant/{domain}/{object_id}/state", "on" if flag else "off"


def _values(kind: str, payload: dict[str, Any]) -> dict[str, Any] | None:
    """What a native payload says, as adapter targets (None: no ecosystem says this)."""
    out: dict[str, Any] = {}
    if "battery_pct" in payload:
        out["battery_pct"] = payload["battery_pct"]
    if kind == "smoke":
        state = payload.get("state")
        if state == "pre_alarm":
            return None
        out |= {"smoke": state == "alarm", "trouble": state == "fault"}
    elif kind == "door":
        event = payload.get("event")
        if event in ("door_opened", "door_forced", "door_held_open"):
            out["door_open"] = True
        elif event == "door_closed":
            out["door_open"] = False
        elif event == "tamper":
            out["tamper"] = True
        else:
            return None
    elif kind == "lab":
        for metric, value in (payload.get("readings") or {}).items():
            out[metric] = bool(value) if metric in DETECTORS else value
    elif kind == "status":
        out.setdefault("battery_pct", 100)
    return out


def _fields(values: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for target, value in values.items():
        if target == "door_open":
            out["contact"] = not value  # zigbee2mqtt's contact: true means closed
        else:
            out[_FIELD.get(target, target)] = value
    return out


def _iso(ts: datetime) -> str:
    return ts.isoformat(timespec="milliseconds").replace("+00:00", "Z")
