"""zigbee2mqtt: device state JSON on ``<base>/<friendly name>``, availability beside it.

A friendly name may hold '/' (``bldgA/3F/lab301/smoke1``). ``contact: true`` means the door
is closed. Keys may be missing from a message. ``last_seen`` (enable it in zigbee2mqtt's
advanced settings) gives the event time; without it our receive time is used.
"""

from __future__ import annotations

import json

from ingest.core.errors import ContractError
from ingest.core.intake import Limits
from ingest.mqtt.adapters.base import Reading
from ingest.mqtt.adapters.common import BaseAdapter, json_object, text
from ingest.mqtt.contract import parse_ts

_NOT_DEVICES = ("bridge",)
_COMMANDS = ("set", "get")


class Zigbee2Mqtt(BaseAdapter):
    """zigbee2mqtt (https://www.zigbee2mqtt.io/guide/usage/mqtt_topics_and_messages.html)."""

    name = "zigbee2mqtt"

    def __init__(self, base: str = "zigbee2mqtt") -> None:
        self.base = base.rstrip("/")

    def filters(self) -> list[str]:
        """The topic filters to subscribe to."""
        return [f"{self.base}/#"]

    def claims(self, topic: str) -> bool:
        """True for a topic of this ecosystem."""
        return topic.startswith(self.base + "/")

    def read(self, topic: str, raw: bytes, limits: Limits) -> Reading | None:
        """The message as a Reading; None for what is no device data."""
        rest = topic[len(self.base) + 1:]
        first, _sep, _more = rest.partition("/")
        last = rest.rsplit("/", 1)[-1]
        if not rest or first in _NOT_DEVICES or last in _COMMANDS or "/set/" in rest:
            return None  # zigbee2mqtt's own state, logs and commands to devices
        if last == "availability":
            device = rest[: -len("/availability")]
            value = text(raw, limits)
            if value.startswith("{"):  # {"state": "online"} since zigbee2mqtt 1.27
                value = str(json.loads(value).get("state", ""))
            if value not in ("online", "offline"):
                raise ContractError(f"availability must be online or offline, not {value[:40]!r}")
            return Reading(self.name, f"{self.base}/{device}", device.rsplit("/", 1)[-1], topic, {}, value,
                           availability=value)
        payload, text_json = json_object(raw, limits, "a device state")
        seen = payload.get("last_seen")
        return Reading(self.name, topic, last, topic, payload, payload, raw_json=text_json,
                       ts=parse_ts(seen) if seen is not None else None,
                       marker=str(seen) if seen is not None else "")
