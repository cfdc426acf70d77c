"""The Mosquitto ACL for a site: service accounts and one gateway account per building.

A building's gateway (``gw-<building>``) may publish only under ``campus/v1/<building>/``
and read nothing; only the ingest and dashboard accounts read. Mosquitto refuses anything
else (MQTT 5: PUBACK/SUBACK reason 135, "not authorized").
"""

from __future__ import annotations

from ingest.core.site import Site
from ingest.mqtt.contract import ROOT

SERVICES = f"""\
# Ingest reads every sensor topic and publishes its status and the alarms.
user ingest
topic read {ROOT}/#
topic write {ROOT}/_service/ingest/#
topic write {ROOT}/_alarms/#

# The dashboard only reads.
user dashboard
topic read {ROOT}/#
topic read $SYS/#

# The simulator and replay publish like every building's gateways together, and read nothing.
user sim
topic write {ROOT}/#
"""


def gateway_user(building_id: str) -> str:
    """The broker account of a building's gateway."""
    return f"gw-{building_id}"


def render_acl(site: Site) -> str:
    """The ACL file's text."""
    lines = [f"# SafeCampus ACL for {site.name!r}, made by 'safecampus site acl'.", "", SERVICES,
             "# One gateway per building: publishes under its own prefix only."]
    for b in sorted(site.buildings, key=lambda b: b.id):
        lines += [f"user {gateway_user(b.id)}", f"topic write {ROOT}/{b.id}/#", ""]
    return "\n".join(lines)
