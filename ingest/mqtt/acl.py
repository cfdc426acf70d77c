"""The Mosquitto ACL for a site: service accounts and one gateway account per building.

A building's gateway (``gw-<building>``) may publish only under ``campus/v1/<building>/``
and read nothing; only the ingest and dashboard accounts read. Mosquitto refuses anything
else (MQTT 5: PUBACK/SUBACK reason 135, "not authorized").
"""

from __future__ import annotations

from ingest.core.site import Site
from ingest.mqtt.contract import ROOT

# Each device ecosystem's bridge (docs/devices.md) writes its own topics only; ingest reads them.
# (Their own commands too: zigbee2mqtt's .../set, Tasmota's cmnd/, ChirpStack's downlinks.)
ECOSYSTEMS = {
    "zigbee2mqtt": ["readwrite zigbee2mqtt/#"],
    "tasmota": ["write tele/#", "write stat/#", "read cmnd/#"],
    "chirpstack": ["readwrite application/#"],
    "tts": ["write v3/#"],
    "homeassistant": ["readwrite homeassistant/#"],
}
_FOREIGN = ["zigbee2mqtt/#", "tele/#", "application/#", "v3/#", "homeassistant/#"]

SERVICES = f"""\
# Ingest reads every sensor topic (its own contract's and the device ecosystems') and
# publishes its status and the alarms.
user ingest
topic read {ROOT}/#
{chr(10).join(f"topic read {t}" for t in _FOREIGN)}
topic write {ROOT}/_service/ingest/#
topic write {ROOT}/_alarms/#

# The dashboard only reads.
user dashboard
topic read {ROOT}/#
topic read $SYS/#

# The simulator and replay publish like every building's gateways together, and read nothing.
user sim
topic write {ROOT}/#
{chr(10).join(f"topic write {t}" for t in _FOREIGN)}
"""


def gateway_user(building_id: str) -> str:
    """The broker account of a building's gateway."""
    return f"gw-{building_id}"


def render_acl(site: Site) -> str:
    """The ACL file's text."""
    lines = [f"# SafeCampus ACL for {site.name!r}, made by 'safecampus site acl'.", "", SERVICES,
             "# Device ecosystems: each bridge publishes under its own topics only (docs/devices.md)."]
    for user, topics in ECOSYSTEMS.items():
        lines += [f"user {user}", *(f"topic {t}" for t in topics), ""]
    lines += ["# One gateway per building: publishes under its own prefix only."]
    for b in sorted(site.buildings, key=lambda b: b.id):
        lines += [f"user {gateway_user(b.id)}", f"topic write {ROOT}/{b.id}/#", ""]
    return "\n".join(lines)
