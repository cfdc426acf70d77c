"""Home Assistant's MQTT statestream: ``<base>/<domain>/<object id>/state`` = the entity's state.

Statestream publishes only changes, as bare states ('on', 'off', '21.5'); what a state means
comes from the sensor it is bound to: a binary sensor bound to a smoke detector is its smoke
state, to a door its opening, to a lab sensor a gas detector. 'unavailable' is offline.
Entities are bound by the site file (``device: binary_sensor.lab3_smoke``) or by an object id
that is a sensor id with '_' for '-'; others are not read.
"""

from __future__ import annotations

from ingest.core.intake import Limits
from ingest.mqtt.adapters.base import Reading
from ingest.mqtt.adapters.common import BaseAdapter, text

_DOMAINS = ("binary_sensor", "sensor")
_BINARY_MEANS = {"smoke": "smoke", "door": "door_open", "lab": "gas_alarm"}


class HomeAssistant(BaseAdapter):
    """Home Assistant MQTT statestream (https://www.home-assistant.io/integrations/mqtt_statestream/)."""

    name = "homeassistant"
    names: dict[str, str] = {}

    def __init__(self, base: str = "homeassistant") -> None:
        self.base = base.rstrip("/")
        self._depth = self.base.count("/") + 1

    def filters(self) -> list[str]:
        """The topic filters to subscribe to."""
        return [f"{self.base}/{domain}/+/state" for domain in _DOMAINS]

    def claims(self, topic: str) -> bool:
        """True for a topic of this ecosystem."""
        parts = topic.split("/")
        return (len(parts) == self._depth + 3 and topic.startswith(self.base + "/")
                and parts[-3] in _DOMAINS and parts[-1] == "state")

    def read(self, topic: str, raw: bytes, limits: Limits) -> Reading | None:
        """The message as a Reading; None for what is no device data."""
        domain, object_id = topic.split("/")[-3:-1]
        value = text(raw, limits)
        entity = f"{domain}.{object_id}"
        name = object_id.replace("_", "-")
        if value == "unknown":
            return None  # Home Assistant has not heard from it yet: nothing to say
        if value == "unavailable":
            return Reading(self.name, entity, name, topic, {}, value, availability="offline")
        return Reading(self.name, entity, name, topic, {"state": value}, value, marker=domain)

    def implied(self, kind: str, reading: Reading) -> dict[str, str]:
        """A bare state's meaning from the sensor's kind (binary sensors only)."""
        if reading.key.startswith("binary_sensor.") and kind in _BINARY_MEANS:
            return {"state": _BINARY_MEANS[kind]}
        return {}
