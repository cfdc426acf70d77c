"""Device adapters: other ecosystems' MQTT messages mapped onto SafeCampus events.

zigbee2mqtt, Tasmota, ChirpStack v4, The Things Stack v3, Home Assistant's statestream and a
generic JSON mapping. Each adapter reads its topics and payloads into a ``Reading`` (pure,
no I/O: it runs on paho's network thread); ``Router`` binds the reading to a sensor
(``Bindings``, from the registry) and builds the native payload, which then passes the same
validation as a ``campus/v1`` message (``contract.build_event``). docs/devices.md documents
each ecosystem.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ingest.mqtt.adapters.base import Binding, Bindings, Reading
from ingest.mqtt.adapters.router import Router

if TYPE_CHECKING:
    from ingest.core.settings import Settings

__all__ = ["Binding", "Bindings", "Reading", "Router", "from_settings"]


def from_settings(settings: Settings) -> Router:
    """The adapters the settings enable, with an empty binding table (ingest fills it)."""
    from ingest.mqtt.adapters.chirpstack import ChirpStack
    from ingest.mqtt.adapters.generic import Generic
    from ingest.mqtt.adapters.homeassistant import HomeAssistant
    from ingest.mqtt.adapters.tasmota import Tasmota
    from ingest.mqtt.adapters.tts import TheThingsStack
    from ingest.mqtt.adapters.zigbee2mqtt import Zigbee2Mqtt

    made = {
        "zigbee2mqtt": lambda: Zigbee2Mqtt(settings.adapter_zigbee2mqtt_base),
        "tasmota": lambda: Tasmota(settings.site_timezone),
        "chirpstack": ChirpStack,
        "ttn": TheThingsStack,
        "homeassistant": lambda: HomeAssistant(settings.adapter_homeassistant_base),
        "generic": lambda: Generic([t.strip() for t in settings.adapter_generic_topics.split(",")]),
    }
    return Router([made[name]() for name in settings.adapter_names()], settings.contract_limits())
