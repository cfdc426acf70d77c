"""ChirpStack v4: ``application/<app>/device/<devEui>/event/<up|status|join|...>`` (JSON).

``up`` carries ``deduplicationId`` (used as the event id), ``time`` (optional: only when a
gateway has a clock), ``deviceInfo`` (``devEui``, ``deviceName``, ``tags``), ``fCnt`` and the
decoded values in ``object``, which exists only when the device profile has a codec.
``status`` carries ``batteryLevel`` and ``margin``; ``join`` says the device (re)joined.
"""

from __future__ import annotations

from typing import Any

from ingest.core.errors import ContractError
from ingest.core.intake import Limits
from ingest.mqtt.adapters.base import Reading, as_number
from ingest.mqtt.adapters.common import BaseAdapter, json_object
from ingest.mqtt.contract import parse_ts


class ChirpStack(BaseAdapter):
    """ChirpStack v4 MQTT integration (https://www.chirpstack.io/docs/chirpstack/integrations/events.html)."""

    name = "chirpstack"

    def filters(self) -> list[str]:
        """The topic filters to subscribe to."""
        return ["application/+/device/+/event/+"]

    def claims(self, topic: str) -> bool:
        """True for a topic of this ecosystem."""
        parts = topic.split("/")
        return len(parts) == 6 and parts[0] == "application" and parts[2] == "device" and parts[4] == "event"

    def read(self, topic: str, raw: bytes, limits: Limits) -> Reading | None:
        """The message as a Reading; None for what is no device data."""
        parts = topic.split("/")
        what = parts[5]
        if what not in ("up", "status", "join"):
            return None  # ack, txack, log, location, integration: nothing a sensor says
        payload, _text = json_object(raw, limits, f"a {what} event")
        info = payload.get("deviceInfo")
        info = info if isinstance(info, dict) else {}
        dev_eui = str(info.get("devEui") or parts[3]).lower()
        name = str(info.get("deviceName") or dev_eui)
        ts = _time(payload)
        dedup = payload.get("deduplicationId")
        event = str(dedup) if isinstance(dedup, str) and dedup else None
        if what == "up":
            decoded = payload.get("object")
            if decoded is None:
                raise ContractError("uplink without a decoded 'object': give the device profile a codec")
            if not isinstance(decoded, dict):
                raise ContractError("the decoded 'object' must be a JSON object")
            return Reading(self.name, dev_eui, name, topic, decoded, _device_part(payload, dev_eui, name), ts=ts,
                           marker=f"up:{payload.get('fCnt')}", event_id=event)
        known: dict[str, Any] = {}
        if what == "status":
            if payload.get("batteryLevel") is not None and not payload.get("externalPowerSource"):
                known["battery_pct"] = as_number(payload["batteryLevel"], "batteryLevel")
            if payload.get("margin") is not None:
                known["link_margin_db"] = as_number(payload["margin"], "margin")
        return Reading(self.name, dev_eui, name, topic, {}, _device_part(payload, dev_eui, name), ts=ts,
                       marker=f"{what}:{event}",
                       event_id=f"{what}-{event}" if event else None, status_only=True, known=known)


def _time(payload: dict[str, Any]) -> Any:
    if payload.get("time"):
        return parse_ts(payload["time"])
    for rx in payload.get("rxInfo") or []:  # no gateway clock: the network server's receive time
        if isinstance(rx, dict) and rx.get("nsTime"):
            return parse_ts(rx["nsTime"])
    return None


# What is kept of a message with its event: what the device said and how to tell it again; the
# network's metadata (rxInfo, txInfo, the tenant and profile ids) stays in ChirpStack.
_DEVICE_FIELDS = ("deduplicationId", "time", "fCnt", "fPort", "confirmed", "data", "object", "batteryLevel",
                  "margin", "externalPowerSource", "devAddr")


def _device_part(payload: dict[str, Any], dev_eui: str, name: str) -> dict[str, Any]:
    kept = {k: payload[k] for k in _DEVICE_FIELDS if k in payload}
    return kept | {"devEui": dev_eui, "deviceName": name}
