"""What each kind of sensor's payload must hold: the contract's checks per kind (docs/mqtt.md).

Each check reads a decoded payload into the event being built (``contract.build_event``): its
state and readings, or a ContractError with the reason. Pure, like the contract.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ingest.core.errors import ContractError
from ingest.core.vocabulary import DOOR_EVENTS, LAB_METRICS, SCAN_METHODS, SMOKE_STATES

if TYPE_CHECKING:
    from ingest.mqtt.contract import Event

FLOAT_LIMIT = 1e300  # readings are float8; anything near its edge is a broken device, not a value
AVAILABILITY = ("online", "offline")
_LAB_METRICS = frozenset(LAB_METRICS)
_NUMBER = (int, float)


def _number(payload: dict[str, Any], key: str, lo: float, hi: float) -> float | None:
    value = payload.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not _finite(value):
        raise ContractError(f"{key} must be a number")
    if not lo <= value <= hi:
        raise ContractError(f"{key} must be between {lo:g} and {hi:g}")
    return float(value)


def _finite(value: float) -> bool:
    # An int too large for a float overflows math.isfinite; it is out of range either way.
    return abs(value) <= FLOAT_LIMIT and math.isfinite(value)


def _text(payload: dict[str, Any], key: str, max_len: int = 128) -> str | None:
    value = payload.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value or len(value) > max_len:
        raise ContractError(f"{key} must be text of 1 to {max_len} characters")
    return value


def _check_smoke(payload: dict[str, Any], event: Event) -> None:
    state = payload.get("state")
    if state not in SMOKE_STATES:
        raise ContractError(f"smoke state must be one of {', '.join(SMOKE_STATES)}")
    event.state = state
    obscuration = _number(payload, "obscuration", 0, 100)
    if obscuration is not None:
        event.readings["obscuration_pct_m"] = obscuration
    battery = _number(payload, "battery_pct", 0, 100)
    if battery is not None:
        event.readings["battery_pct"] = battery


def _check_door(payload: dict[str, Any], event: Event) -> None:
    kind = payload.get("event")
    if kind not in DOOR_EVENTS:
        raise ContractError(f"door event must be one of {', '.join(DOOR_EVENTS)}")
    event.state = kind
    _text(payload, "credential")
    _text(payload, "reason")
    _battery(payload, event)


def _check_lab(payload: dict[str, Any], event: Event) -> None:
    readings = payload.get("readings")
    if not isinstance(readings, dict) or not readings:
        raise ContractError("lab readings must be a non-empty object of metric -> number")
    out = event.readings
    for metric, value in readings.items():
        if metric not in _LAB_METRICS:
            raise ContractError(f"unknown lab metric {str(metric)[:40]!r}")
        if value.__class__ is not float and (isinstance(value, bool) or not isinstance(value, _NUMBER)):
            raise ContractError(f"reading {metric} must be a number")
        if not -1e9 <= value <= 1e9:  # NaN and the infinities fail this too
            raise ContractError(f"reading {metric} is out of range")
        out[metric] = value if value.__class__ is float else float(value)
    if "battery_pct" in payload:
        _battery(payload, event)
    event.state = "readings"


def _battery(payload: dict[str, Any], event: Event) -> None:
    battery = _number(payload, "battery_pct", 0, 100)
    if battery is not None:
        event.readings["battery_pct"] = battery


def _check_status(payload: dict[str, Any], event: Event) -> None:
    battery = _number(payload, "battery_pct", 0, 100)
    if battery is not None:
        event.readings["battery_pct"] = battery
    rssi = _number(payload, "rssi_dbm", -200, 50)
    if rssi is not None:
        event.readings["rssi_dbm"] = rssi
    margin = _number(payload, "link_margin_db", -50, 100)
    if margin is not None:
        event.readings["link_margin_db"] = margin
    _text(payload, "firmware", 64)
    availability = payload.get("availability", "online")
    if availability not in AVAILABILITY:
        raise ContractError(f"availability must be one of {', '.join(AVAILABILITY)}")
    # A gateway (zigbee2mqtt, Tasmota's last will) saying the device is gone: an offline report.
    event.state = "offline" if availability == "offline" else "heartbeat"


def _check_checkpoint(payload: dict[str, Any], event: Event) -> None:
    """A guard-tour scan: the reader (topic) read ``tag`` (none: the reader is the checkpoint) for ``card``."""
    _text(payload, "tag", 64)
    _text(payload, "card", 64)
    _text(payload, "start_route", 64)  # a handset's "start an extra round of this route" (加巡)
    method = payload.get("method")
    if method is not None and method not in SCAN_METHODS:
        raise ContractError(f"method must be one of {', '.join(SCAN_METHODS)}")
    sos = payload.get("sos", False)
    if not isinstance(sos, bool):
        raise ContractError("sos must be true or false")
    _battery(payload, event)
    event.state = "sos" if sos else "scan"


# The check of each kind (topics name the kind).
CHECKS: dict[str, Callable[[dict[str, Any], Event], None]] = {
    "smoke": _check_smoke, "door": _check_door, "lab": _check_lab, "status": _check_status,
    "checkpoint": _check_checkpoint,
}
