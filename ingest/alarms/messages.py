"""What an alarm says, as a key and parameters, rendered in each reader's language.

Rules raise an alarm with a message key and its parameters (``Text``); the alarm row keeps
both (``message_key``, ``message_params``) and, for tools that read the table directly, the
English rendering in ``message``. Screens, reports, the MQTT alarm JSON and notifications
call ``render`` with the reader's language; values carry their unit and a precision that
suits it ("22.6 °C ≥ 12 °C", "35 ppm", "0.32 m/s").
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ingest.core import clock
from ingest.core.i18n import N_, quantity, translator

TEMPLATES: dict[str, str] = {
    "fire": N_("Fire alarm: smoke detector in alarm"),
    "smoke_pre_alarm": N_("Smoke pre-alarm"),
    "smoke_fault": N_("Smoke detector fault"),
    "after_hours": N_("Access to a restricted room outside its hours"),
    "denied_burst": N_("{count} access denials within {window}"),
    "door_forced": N_("Door forced open"),
    "held_open": N_("Door held open"),
    "held_open_for": N_("Door open longer than {limit}"),
    "tamper": N_("Reader or door tamper"),
    "limit_high": N_("{what}: {value} ≥ {limit} ({stage})"),
    "limit_low": N_("{what}: {value} ≤ {limit} ({stage})"),
    "exposure_twa": N_("{gas} 8-hour TWA {value} ≥ {limit}"),
    "exposure_stel": N_("{gas} 15-minute STEL {value} ≥ {limit}"),
    "offline": N_("Sensor silent for more than 3 reporting intervals"),
    "offline_for": N_("Sensor silent for more than {limit}"),
    "offline_reported": N_("Its gateway reports the device offline"),
    "gas_detector": N_("Gas detector in alarm"),
    "co_detector": N_("Carbon monoxide detector in alarm"),
    "water_leak": N_("Water leak detected"),
    # guard tours (ingest.patrol): times are campus time
    "patrol_late": N_("Patrol {route}: checkpoint not scanned by {until}"),
    "patrol_early": N_("Patrol {route}: checkpoint scanned before its window ({time}-{until})"),
    "patrol_sequence": N_("Patrol {route}: checkpoint scanned out of sequence ({expected} first)"),
    "patrol_missed": N_("Patrol {route} not finished in time: {missed} of {total} checkpoints missed ({checkpoints})"),
    "guard_silent": N_("Patrol {route}: guard {guard} silent since {since} (lone worker)"),
    "guard_sos": N_("SOS from guard {guard} (last checkpoint {checkpoint})"),
    "hazard_overdue": N_("Hazard {id} past its deadline: {title}"),
    # what the system writes in an alarm's journal
    "fire_confirmed": N_("Fire confirmed: second detector in zone {zone}"),
    "not_acknowledged": N_("not acknowledged within {limit}"),
    "notified": N_("{recipient} told via {channel} ({step})"),
    "notify_failed": N_("could not tell {recipient} via {channel} ({step})"),
}
STAGES = {1: N_("first alarm"), 2: N_("second alarm")}
# The names of analogue limits (ingest.alarms.limits), translated where they are shown.
LABELS = (
    N_("Combustible gas"), N_("CO high"), N_("H2S high"), N_("NH3 high"), N_("CL2 high"), N_("HCL high"),
    N_("VOC high"), N_("CO2 high"), N_("Oxygen deficiency"), N_("Oxygen enrichment"), N_("Fume hood low flow"),
    N_("Temperature high"), N_("Temperature low"), N_("Humidity high"), N_("Humidity low"),
)
# The unit of each metric (ingest.core.i18n.UNITS).
UNIT_OF = {"temperature_c": "c", "humidity_pct": "pct", "lel_pct": "pct_lel", "o2_pct": "pct",
           "face_velocity_mps": "m_s", "smoke_obscuration_db_m": "db", "battery_pct": "pct"}


def unit_of(metric: str) -> str:
    """The unit a metric's values are in."""
    return "ppm" if metric.startswith("gas_ppm.") else UNIT_OF.get(metric, "")


@dataclass(frozen=True)
class Text:
    """A message key and its parameters (JSON-ready: numbers, strings)."""

    key: str
    params: Mapping[str, Any] = field(default_factory=dict)


def render(key: str | None, params: Mapping[str, Any] | None, lang: str, fallback: str = "") -> str:
    """The alarm text for a reader; ``fallback`` (the stored text) for a key this release lacks."""
    if not key or key not in TEMPLATES:
        return fallback
    p = dict(params or {})
    _ = translator(lang)
    unit = str(p.get("unit") or "")
    shown: dict[str, Any] = {}
    for name, value in p.items():
        if name.endswith("_zh"):
            continue  # a name's Chinese form: shown for its name below
        if lang == "zh-CN" and p.get(f"{name}_zh"):
            value = p[f"{name}_zh"]  # a place or route named in the site file in both languages
        if name in ("value", "limit") and isinstance(value, int | float):
            shown[name] = quantity(value, unit, lang)
        elif name == "window" and isinstance(value, int | float):
            shown[name] = quantity(value, "s", lang)
        elif name == "stage":
            shown[name] = _(STAGES.get(int(value), STAGES[1]))
        elif name == "what":
            shown[name] = _(str(value))
        elif name == "step":
            shown[name] = step_label(str(value), lang)
        elif name in ("until", "since", "time") and isinstance(value, str) and "T" in value:
            shown[name] = clock.fmt(datetime.fromisoformat(value), "%H:%M")
        else:
            shown[name] = value
    text = _(TEMPLATES[key])
    try:
        return text.format(**shown)
    except (KeyError, IndexError, ValueError):  # a row with parameters this template lacks
        return fallback or TEMPLATES[key]


# A notification's step (ingest.notify) as people read it: 'step-2' → "step 2", 'remind-3' → "reminder 3".
STEP_NAMES = {"step": N_("step {n}"), "remind": N_("reminder {n}"), "re-alarm": N_("re-alarm"),
              "acknowledged": N_("acknowledged"), "returned": N_("returned to normal"), "closed": N_("closed"),
              "confirmed": N_("fire confirmed"), "digest": N_("digest"), "test": N_("test message")}


def step_label(step: str, lang: str) -> str:
    """A notification step for a reader; an unknown one as it is."""
    stem, _sep, n = step.rpartition("-") if step[-1:].isdigit() else (step, "", "")
    template = STEP_NAMES.get(stem)
    return translator(lang)(template).format(n=n) if template else step


def journal_details(text: Text) -> dict[str, Any]:
    """A journal entry's details that let each reader see its note in their language."""
    return {"message_key": text.key, "message_params": dict(text.params)}


def english(text: Text) -> str:
    """The English rendering, kept in ``alarms.message``."""
    return render(text.key, text.params, "en", text.key)


# What each alarm condition is called in lists and reports (the rules' own names are ids).
CONDITIONS = {
    "fire": N_("fire alarm"), "smoke_pre_alarm": N_("smoke pre-alarm"), "smoke_fault": N_("detector fault"),
    "door_forced": N_("door forced"), "held_open": N_("door held open"), "after_hours": N_("after-hours access"),
    "denied_burst": N_("access denials"), "tamper": N_("tamper"), "offline": N_("offline"),
    "lel_high": N_("combustible gas"), "o2_low": N_("oxygen deficiency"), "o2_high": N_("oxygen enrichment"),
    "hood_low": N_("fume hood low flow"), "temp_high": N_("temperature high"), "temp_low": N_("temperature low"),
    "humidity_high": N_("humidity high"), "humidity_low": N_("humidity low"),
    "gas_detector": N_("gas detector"), "co_detector": N_("CO detector"), "water_leak": N_("water leak"),
    "patrol_late": N_("patrol late"), "patrol_early": N_("patrol early"),
    "patrol_sequence": N_("patrol out of sequence"),
    "patrol_missed": N_("patrol missed"), "guard_silent": N_("guard silent"), "guard_sos": N_("guard SOS"),
    "hazard_overdue": N_("hazard overdue"),
}
PER_GAS = {"gas_high": N_("{gas} high"), "twa": N_("{gas} 8-hour TWA"), "stel": N_("{gas} 15-minute STEL")}


def condition_label(condition: str, lang: str) -> str:
    """An alarm condition as a reader says it ('gas_high:NH3' → 'NH3 high' / 'NH3 浓度高')."""
    _ = translator(lang)
    stem, _sep, gas = condition.partition(":")
    if gas and stem in PER_GAS:
        return _(PER_GAS[stem]).format(gas=gas)
    if gas and stem in CONDITIONS:  # a tour's alarm: 'patrol_late:<tour>'
        return _(CONDITIONS[stem])
    return _(CONDITIONS[condition]) if condition in CONDITIONS else condition


def source_label(source: str, lang: str) -> str:
    """An alarm source ('<sensor> <condition>', as the health figures count them) for a reader."""
    sensor, _sep, condition = source.rpartition(" ")
    return f"{sensor} {condition_label(condition, lang)}" if sensor else condition_label(source, lang)
