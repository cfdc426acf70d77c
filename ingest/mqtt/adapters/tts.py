"""The Things Stack v3: ``v3/<app>@<tenant>/devices/<device>/up`` (JSON, MQTT 3.1.1, QoS 0 only).

``uplink_message.decoded_payload`` holds the values (a payload formatter must be set);
``received_at`` is the network's receive time; empty fields ("", 0, false) are left out, so
a mapped true/false that is missing counts as false, and ``f_cnt`` 0 is missing.
"""

from __future__ import annotations

from ingest.core.errors import ContractError
from ingest.core.intake import Limits
from ingest.mqtt.adapters.base import Reading
from ingest.mqtt.adapters.common import BaseAdapter, json_object
from ingest.mqtt.contract import parse_ts

# What is kept of an uplink with its event: what the device said; the network's metadata
# (rx_metadata, settings, correlation ids) stays in The Things Stack.
_DEVICE_FIELDS = ("f_port", "f_cnt", "frm_payload", "decoded_payload", "received_at")


class TheThingsStack(BaseAdapter):
    """The Things Stack MQTT server (https://www.thethingsindustries.com/docs/integrations/mqtt/)."""

    name = "ttn"
    omits_false = True

    def filters(self) -> list[str]:
        """The topic filters to subscribe to."""
        return ["v3/+/devices/+/up"]

    def claims(self, topic: str) -> bool:
        """True for a topic of this ecosystem."""
        parts = topic.split("/")
        return len(parts) == 5 and parts[0] == "v3" and parts[2] == "devices" and parts[4] == "up"

    def read(self, topic: str, raw: bytes, limits: Limits) -> Reading | None:
        """The message as a Reading; None for what is no device data."""
        payload, _text = json_object(raw, limits, "an uplink")
        ids = payload.get("end_device_ids")
        ids = ids if isinstance(ids, dict) else {}
        device = str(ids.get("device_id") or topic.split("/")[3])
        uplink = payload.get("uplink_message")
        if not isinstance(uplink, dict):
            raise ContractError("no uplink_message")
        decoded = uplink.get("decoded_payload")
        if decoded is None:
            raise ContractError("uplink without decoded_payload: set a payload formatter for the device")
        if not isinstance(decoded, dict):
            raise ContractError("decoded_payload must be a JSON object")
        stamp = uplink.get("received_at") or payload.get("received_at")
        kept = {k: uplink[k] for k in _DEVICE_FIELDS if k in uplink}
        return Reading(self.name, device, device, topic, decoded, kept | {"device_id": device},
                       ts=parse_ts(stamp) if stamp else None,
                       marker=f"up:{uplink.get('f_cnt', 0)}:{stamp}")
