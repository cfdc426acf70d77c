"""Alarm limits and timings: defaults from the domain brief, overridable per sensor.

A sensor's ``thresholds`` (site file or database) may override, per metric:
``high`` / ``high_high`` (or ``low`` / ``low_low``), ``deadband``, ``on_delay_s``,
``off_delay_s``; and for doors ``held_open_s``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

from ingest.alarms.types import Priority


@dataclass(frozen=True)
class Limit:
    """A two-stage analogue limit with nuisance control."""

    metric: str
    direction: Literal["high", "low"]
    first: float
    second: float | None = None
    deadband: float = 0.0
    on_delay_s: float = 0.0
    off_delay_s: float = 0.0
    latched: bool = False
    first_priority: Priority = "high"
    second_priority: Priority = "critical"
    condition: str = ""
    label: str = ""

    def stage(self, value: float) -> int:
        """2 past the second level, 1 past the first, else 0 (past: at the level counts)."""
        second = self.second
        if self.direction == "high":
            return 2 if second is not None and value >= second else 1 if value >= self.first else 0
        return 2 if second is not None and value <= second else 1 if value <= self.first else 0

    def back_inside(self, value: float) -> bool:
        """True when ``value`` has come back past the first limit by the deadband."""
        if self.direction == "high":
            return value < self.first - self.deadband
        return value > self.first + self.deadband


def _gas(name: str, first: float, second: float) -> Limit:
    return Limit(f"gas_ppm.{name}", "high", first, second, deadband=first * 0.1, on_delay_s=5, off_delay_s=30,
                 condition=f"gas_high:{name}", label=f"{name} high")


# GB/T 50493-2019 and common detector defaults (domain brief section 6).
DEFAULT_LIMITS: dict[str, list[Limit]] = {
    "lel_pct": [Limit("lel_pct", "high", 25, 50, deadband=2, on_delay_s=5, off_delay_s=30,
                      condition="lel_high", label="Combustible gas")],
    "gas_ppm.CO": [_gas("CO", 35, 70)],
    "gas_ppm.H2S": [_gas("H2S", 10, 20)],
    "gas_ppm.NH3": [_gas("NH3", 25, 50)],
    "gas_ppm.CL2": [_gas("CL2", 0.5, 1)],
    "gas_ppm.HCL": [_gas("HCL", 2.5, 5)],
    "gas_ppm.VOC": [_gas("VOC", 100, 200)],
    "gas_ppm.CO2": [Limit("gas_ppm.CO2", "high", 5000, 15000, deadband=200, on_delay_s=60, off_delay_s=60,
                          first_priority="medium", second_priority="high", condition="gas_high:CO2", label="CO2 high")],
    "o2_pct": [
        Limit("o2_pct", "low", 19.5, 18.0, deadband=0.2, on_delay_s=5, off_delay_s=30, first_priority="high",
              second_priority="critical", condition="o2_low", label="Oxygen deficiency"),
        Limit("o2_pct", "high", 23.5, None, deadband=0.2, on_delay_s=5, off_delay_s=30, first_priority="high",
              condition="o2_high", label="Oxygen enrichment"),
    ],
    # Fume hood: face velocity below 0.4 m/s for 30 s, latched until reset.
    "face_velocity_mps": [Limit("face_velocity_mps", "low", 0.4, None, deadband=0.02, on_delay_s=30,
                                latched=True, first_priority="medium", condition="hood_low",
                                label="Fume hood low flow")],
}

# Per-room limits that only exist when configured (storage temperature and the like).
CONFIGURABLE = {
    "temperature_c": ("temp", "Temperature"),
    "humidity_pct": ("humidity", "Humidity"),
}

# Exposure limits for TWA (8 h) and STEL (15 min), ppm.
EXPOSURE: dict[str, tuple[float | None, float | None]] = {
    "CO": (25.0, None),
    "H2S": (10.0, 15.0),
    "NH3": (25.0, 35.0),
    "CL2": (0.5, 1.0),
    "HCL": (2.0, 5.0),
}
EXPOSURE_METRICS = frozenset(f"gas_ppm.{gas}" for gas in EXPOSURE)  # the readings integrated for them

# Switching detectors (metric 1 = in alarm): condition, priority. A gas or CO detector is
# a life-safety alarm at once; a leak is for the facilities team.
DETECTORS: dict[str, tuple[str, Priority]] = {
    "gas_alarm": ("gas_detector", "critical"),
    "co_alarm": ("co_detector", "critical"),
    "water_leak": ("water_leak", "medium"),
}

HELD_OPEN_S = 30.0
FORCED_DEBOUNCE_S = 1.0
DENIED_BURST = (5, 120.0)  # 5 denials in 2 minutes
OFFLINE_FACTOR = 3
FIRE_VERIFY_S = 60.0


def limits_for(metric: str, overrides: dict[str, Any]) -> Sequence[Limit]:
    """The limits that apply to ``metric`` on a sensor with ``overrides``."""
    base = DEFAULT_LIMITS.get(metric, ())
    ov = overrides.get(metric) if overrides else None
    if not isinstance(ov, dict):
        return base
    timing: dict[str, Any] = {k: float(ov[k]) for k in ("deadband", "on_delay_s", "off_delay_s") if k in ov}
    out = []
    for lim in base:
        if lim.direction == "high" and "high" in ov:
            lim = replace(lim, first=float(ov["high"]), second=_opt(ov.get("high_high", lim.second)))
        if lim.direction == "low" and "low" in ov:
            lim = replace(lim, first=float(ov["low"]), second=_opt(ov.get("low_low", lim.second)))
        out.append(replace(lim, **timing))
    if not base and metric in CONFIGURABLE:
        stem, label = CONFIGURABLE[metric]
        for direction in ("high", "low"):
            if direction in ov:
                second = ov.get(f"{direction}_{direction}")
                out.append(Limit(metric, direction, float(ov[direction]), _opt(second),
                                 deadband=float(ov.get("deadband", 0.5)), on_delay_s=float(ov.get("on_delay_s", 60)),
                                 off_delay_s=float(ov.get("off_delay_s", 60)), first_priority="medium",
                                 second_priority="high", condition=f"{stem}_{direction}",
                                 label=f"{label} {direction}"))
    return out


def _opt(value: Any) -> float | None:
    return None if value is None else float(value)
