"""Any JSON device: the site file maps its fields (``source.fields``), time and event id.

The topics to read come from ``SAFECAMPUS_ADAPTER_GENERIC_TOPICS`` (MQTT filters); a device is
bound by its exact topic. No field names are guessed.
"""

from __future__ import annotations

from ingest.core.intake import Limits
from ingest.mqtt.adapters.base import Reading
from ingest.mqtt.adapters.common import BaseAdapter
from ingest.mqtt.contract import parse_json


def topic_matches(pattern: str, topic: str) -> bool:
    """MQTT filter matching ('+' one level, '#' the rest)."""
    want, have = pattern.split("/"), topic.split("/")
    for i, part in enumerate(want):
        if part == "#":
            return True
        if i >= len(have) or part not in ("+", have[i]):
            return False
    return len(want) == len(have)


class Generic(BaseAdapter):
    """JSON messages on configured topics, mapped field by field."""

    name = "generic"
    names: dict[str, str] = {}

    def __init__(self, topics: list[str]) -> None:
        self.topics = [t for t in topics if t]

    def filters(self) -> list[str]:
        """The topic filters to subscribe to."""
        return list(self.topics)

    def claims(self, topic: str) -> bool:
        """True for a topic of this ecosystem."""
        return any(topic_matches(p, topic) for p in self.topics)

    def read(self, topic: str, raw: bytes, limits: Limits) -> Reading | None:
        """The message as a Reading; None for what is no device data."""
        payload, canonical = parse_json(raw, limits)
        return Reading(self.name, topic, topic.rsplit("/", 1)[-1], topic, payload, payload, raw_json=canonical)
