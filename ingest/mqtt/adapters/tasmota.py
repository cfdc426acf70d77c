"""Tasmota: ``tele/<topic>/SENSOR`` (readings), ``STATE`` (a heartbeat), ``LWT`` (Online/Offline).

``Time`` is local time without a zone (Tasmota's own clock, set by NTP); it is read in the
campus's zone unless it carries an offset. ``Switch<n>: ON`` means the circuit is closed:
for a reed contact on a door, closed.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from ingest.core.errors import ContractError
from ingest.core.intake import Limits
from ingest.mqtt.adapters.base import COMMON_FIELDS, Reading, as_number
from ingest.mqtt.adapters.common import BaseAdapter, json_object, text
from ingest.mqtt.contract import parse_ts

_KINDS = ("SENSOR", "STATE", "LWT")


class Tasmota(BaseAdapter):
    """Tasmota (https://tasmota.github.io/docs/MQTT/)."""

    name = "tasmota"
    names = COMMON_FIELDS | {f"switch{n}": "contact" for n in range(1, 9)}

    def __init__(self, timezone: str = "Asia/Shanghai") -> None:
        self.zone = ZoneInfo(timezone)

    def filters(self) -> list[str]:
        """The topic filters to subscribe to."""
        return [f"tele/+/{kind}" for kind in _KINDS]

    def claims(self, topic: str) -> bool:
        """True for a topic of this ecosystem."""
        parts = topic.split("/")
        return len(parts) == 3 and parts[0] == "tele" and parts[2] in _KINDS

    def read(self, topic: str, raw: bytes, limits: Limits) -> Reading | None:
        """The message as a Reading; None for what is no device data."""
        _tele, device, what = topic.split("/")
        if what == "LWT":
            value = text(raw, limits).lower()
            if value not in ("online", "offline"):
                raise ContractError(f"LWT must be Online or Offline, not {value[:40]!r}")
            return Reading(self.name, device, device, topic, {}, value, availability=value)
        payload, text_json = json_object(raw, limits, f"{what}")
        stamp = payload.get("Time")
        ts = self._time(stamp) if stamp is not None else None
        if what == "STATE":
            known: dict[str, Any] = {}
            wifi = payload.get("Wifi")
            if isinstance(wifi, dict) and wifi.get("Signal") is not None:
                known["rssi_dbm"] = as_number(wifi["Signal"], "Wifi.Signal")
            return Reading(self.name, device, device, topic, {}, payload, raw_json=text_json, ts=ts,
                           marker=f"state:{stamp}",
                           status_only=True, known=known)
        return Reading(self.name, device, device, topic, payload, payload, raw_json=text_json, ts=ts,
                       marker=f"sensor:{stamp}")

    def _time(self, value: Any) -> Any:
        if not isinstance(value, str):
            raise ContractError("Time must be text")
        try:
            local = datetime.fromisoformat(value)
        except ValueError as exc:
            raise ContractError(f"Time {value[:40]!r} is not a date and time") from exc
        if local.tzinfo is None:
            return local.replace(tzinfo=self.zone)
        return parse_ts(value)
