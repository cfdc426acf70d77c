"""The shared vocabulary: one list for each set of words the system and its database use.

The database's CHECK constraints hold the same lists (a test keeps them equal:
``tests/unit/test_vocabulary.py``); nothing else spells them out again.
"""

from __future__ import annotations

from typing import Literal

from ingest.core.i18n import N_

SensorKind = Literal["smoke", "door", "lab", "status", "checkpoint"]
Priority = Literal["critical", "high", "medium", "low"]
SignalClass = Literal["alarm", "supervisory", "trouble"]
State = Literal["active_unacked", "active_acked", "rtn_unacked", "closed"]
Disposition = Literal["real", "false_alarm", "nuisance", "drill", "maintenance", "test"]
Role = Literal["viewer", "officer", "admin", "guard"]

SENSOR_KINDS: tuple[SensorKind, ...] = ("smoke", "door", "lab", "status", "checkpoint")
# Guard-tour checkpoints (tags or wired readers) are passive: no heartbeat, never offline.
PASSIVE_KINDS: tuple[SensorKind, ...] = ("checkpoint",)
# Where a device of another ecosystem that nobody has placed yet is counted (docs/devices.md).
UNPLACED_BUILDING = "unassigned"
# The device ecosystems ingest reads besides campus/v1 (ingest.mqtt.adapters, docs/devices.md).
ADAPTERS = ("zigbee2mqtt", "tasmota", "chirpstack", "ttn", "homeassistant", "generic")
SMOKE_STATES = ("normal", "pre_alarm", "alarm", "fault")
DOOR_EVENTS = (
    "access_granted",
    "access_denied",
    "door_forced",
    "door_held_open",
    "door_opened",
    "door_closed",
    "tamper",
)
GASES = ("CO", "H2S", "NH3", "CL2", "HCL", "VOC", "CO2", "NO2", "SO2", "CH4", "H2")
PLAIN_METRICS = ("lel_pct", "o2_pct", "temperature_c", "humidity_pct", "face_velocity_mps")
# Switching detectors (a Zigbee gas or CO detector, a leak sensor): 1 while in alarm, 0 when not.
DETECTOR_METRICS = ("gas_alarm", "co_alarm", "water_leak")
LAB_METRICS = tuple(f"gas_ppm.{g}" for g in GASES) + PLAIN_METRICS + DETECTOR_METRICS
PRIORITIES: tuple[Priority, ...] = ("critical", "high", "medium", "low")  # most urgent first
SIGNAL_CLASSES: tuple[SignalClass, ...] = ("alarm", "supervisory", "trouble")
STATES: tuple[State, ...] = ("active_unacked", "active_acked", "rtn_unacked", "closed")
OPEN_STATES: tuple[State, ...] = ("active_unacked", "active_acked", "rtn_unacked")
DISPOSITIONS: tuple[Disposition, ...] = ("real", "false_alarm", "nuisance", "drill", "maintenance", "test")
ROLES: tuple[Role, ...] = ("viewer", "officer", "admin", "guard")  # a guard sees only /guard
DUTY_LOG_ENTRY_KINDS = ("equipment", "patrol", "visitor", "remark")  # what an officer writes
DUTY_LOG_KINDS = (*DUTY_LOG_ENTRY_KINDS, "handover")  # and the sign-off the system writes
# A device's state on a floor plan, most serious first, in the fire panel's colours (docs/floor-plans.md):
# its worst open alarm's signal class ('offline' apart), else out of service, else normal.
DEVICE_STATES = ("alarm", "supervisory", "trouble", "offline", "disabled", "normal")
# Guard tours (ingest.patrol, docs/patrols.md): how a checkpoint was proven, what a visit was,
# where a tour stands, and the steps of a guard sent to an alarm.
SCAN_METHODS = ("reader", "nfc", "rfid", "qr", "typed")  # qr and typed are the weaker proof
STRONG_SCAN_METHODS = ("reader", "nfc", "rfid")
VISIT_VERDICTS = ("on_time", "early", "late", "out_of_sequence", "missed")
TOUR_STATES = ("planned", "running", "completed", "incomplete")
DISPATCH_STEPS = ("dispatched", "on_the_way", "on_scene", "resolved", "cancelled")
# Hazards (隐患) and their rectification (ingest.safety, docs/inspections.md).
HAZARD_CATEGORIES = ("fire_system", "electrical", "chemical", "exits", "other")
HAZARD_SEVERITIES = ("major", "general")
HAZARD_STATES = ("open", "fixed", "closed")
HAZARD_SOURCES = ("inspection", "alarm", "patrol", "rule", "manual")
# Hours to fix, by default: a fire-system fault 24 h (公安部令61号), other major hazards 72 h, the rest 7 days.
HAZARD_DEADLINE_H: dict[str, int] = {"fire_system": 24, "major": 72, "general": 168}

# Escalate an alarm not acknowledged within this long (seconds); SAFECAMPUS_ESCALATE_*_S override.
ESCALATION_DEFAULT_S: dict[Priority, int] = {"critical": 60, "high": 180, "medium": 1200, "low": 3600}

# -- what people read for each word (translated where shown: ingest.core.i18n) ---------------
PRIORITY_LABELS: dict[str, str] = {"critical": N_("critical"), "high": N_("high"), "medium": N_("medium"),
                                   "low": N_("low")}
STATE_LABELS: dict[str, str] = {"active_unacked": N_("active, unacknowledged"),
                                "active_acked": N_("active, acknowledged"),
                                "rtn_unacked": N_("returned, unacknowledged"), "closed": N_("closed")}
DISPOSITION_LABELS: dict[str, str] = {"real": N_("real incident"), "false_alarm": N_("false alarm"),
                                      "nuisance": N_("nuisance"), "drill": N_("drill"),
                                      "maintenance": N_("maintenance"), "test": N_("test")}
FAMILY_LABELS: dict[str, str] = {"fire": N_("fire"), "door": N_("door"), "lab": N_("lab"),
                                 "heartbeat": N_("heartbeat"), "patrol": N_("patrol"), "hazard": N_("hazard")}
SIGNAL_CLASS_LABELS: dict[str, str] = {"alarm": N_("alarm"), "supervisory": N_("supervisory"),
                                       "trouble": N_("trouble")}
ROLE_LABELS: dict[str, str] = {"viewer": N_("viewer"), "officer": N_("duty officer"), "admin": N_("administrator"),
                               "kiosk": N_("wall screen"), "guard": N_("guard")}
DUTY_LOG_LABELS: dict[str, str] = {"equipment": N_("equipment"), "patrol": N_("patrol"), "visitor": N_("visitor"),
                                   "remark": N_("remark"), "handover": N_("handover")}
JOURNAL_LABELS: dict[str, str] = {
    "raised": N_("alarm raised"), "re-alarm": N_("re-alarm"), "returned": N_("returned"), "cleared": N_("cleared"),
    "cleared, awaiting reset": N_("cleared, awaiting reset"),
    "acknowledged": N_("acknowledged"), "assigned": N_("assigned"), "note": N_("note"), "shelved": N_("shelved"),
    "unshelved": N_("unshelved"), "reset": N_("reset"), "closed": N_("closed"), "escalated": N_("escalated"),
    "confirmed": N_("confirmed"), "suppressed": N_("suppressed"), "step": N_("procedure step"),
    "notified": N_("notified"), "notification failed": N_("notification failed"),
    "dispatched": N_("guard dispatched"), "on_the_way": N_("guard on the way"), "on_scene": N_("guard on scene"),
    "resolved": N_("guard resolved"), "cancelled": N_("dispatch cancelled"),
}
VISIT_LABELS: dict[str, str] = {"on_time": N_("on time"), "early": N_("early"), "late": N_("late"),
                                "out_of_sequence": N_("out of sequence"), "missed": N_("missed")}
TOUR_STATE_LABELS: dict[str, str] = {"planned": N_("planned"), "running": N_("under way"),
                                     "completed": N_("completed"), "incomplete": N_("incomplete")}
DISPATCH_LABELS: dict[str, str] = {"dispatched": N_("dispatched"), "on_the_way": N_("on my way"),
                                   "on_scene": N_("on scene"), "resolved": N_("resolved"),
                                   "cancelled": N_("cancelled")}
HAZARD_CATEGORY_LABELS: dict[str, str] = {"fire_system": N_("fire-system fault"), "electrical": N_("electrical"),
                                          "chemical": N_("chemicals and gases"), "exits": N_("exits and escape"),
                                          "other": N_("other")}
HAZARD_SEVERITY_LABELS: dict[str, str] = {"major": N_("major"), "general": N_("general")}
HAZARD_STATE_LABELS: dict[str, str] = {"open": N_("to be fixed"), "fixed": N_("fixed, awaiting verification"),
                                       "closed": N_("closed")}
HAZARD_ACTION_LABELS: dict[str, str] = {"reported": N_("reported"), "fixed": N_("fix reported"),
                                        "verified": N_("fix verified"), "rejected": N_("fix not accepted"),
                                        "overdue": N_("past its deadline")}
SCAN_METHOD_LABELS: dict[str, str] = {"reader": N_("fixed reader"), "nfc": N_("NFC tag"), "rfid": N_("RFID tag"),
                                      "qr": N_("QR code (weaker proof)"), "typed": N_("code typed in (weaker proof)")}
DEVICE_STATE_LABELS: dict[str, str] = {"alarm": N_("fire / alarm"), "supervisory": N_("supervisory"),
                                       "trouble": N_("trouble"), "offline": N_("offline"),
                                       "disabled": N_("out of service"), "normal": N_("normal")}
SENSOR_KIND_LABELS: dict[str, str] = {"smoke": N_("smoke detector"), "door": N_("door"), "lab": N_("lab sensor"),
                                      "status": N_("status"), "checkpoint": N_("patrol checkpoint")}
