"""Alarm rules as pure functions of (event, sensor, rule state) and of (time, rule state).

Everything is driven by event time, never by the wall clock, so a replay of the same feed
gives the same signals. Rule state is a small JSON-able dict per sensor, stored in the
database in the same transaction as the events, so it survives restarts.
"""

from __future__ import annotations

from datetime import UTC, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from ingest.alarms import limits as L
from ingest.alarms.messages import Text, unit_of
from ingest.alarms.types import Clear, Raise, SensorInfo, Signal
from ingest.mqtt.contract import Event

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _ts(t: float) -> datetime:
    return datetime.fromtimestamp(t, tz=UTC)


def evaluate(event: Event, sensor: SensorInfo, state: dict[str, Any], tz: str = "Asia/Shanghai") -> list[Signal]:
    """Signals caused by one event; updates ``state`` in place."""
    at = event.at or event.ts  # the rules' time: never a device clock running ahead of ours
    t = at.timestamp()
    if event.kind == "smoke":
        out = smoke(event.state or "", at)
    elif event.kind == "door":
        out = door(event.state or "", t, sensor, state, tz, event.payload)
    elif event.kind == "lab":
        out = []
        for metric, value in event.readings.items():
            if metric in L.DETECTORS:
                out += detector(metric, value, at)
                continue
            out += analogue(metric, value, t, sensor, state)
            if metric in L.EXPOSURE_METRICS:
                out += exposure(metric, value, t, state)
    else:
        out = []
    _update_timer(state, sensor)
    return out


# -- smoke detectors (fire signal classes) ---------------------------------------------


def smoke(detector_state: str, at: datetime) -> list[Signal]:
    """Pre-alarm, fire alarm (latched), fault (trouble); ``normal`` clears them."""
    if detector_state == "alarm":
        return [
            Raise("fire", "fire", "critical", "alarm", Text("fire"), at, latched=True),
            Clear("smoke_pre_alarm", at),
        ]
    if detector_state == "pre_alarm":
        return [Raise("smoke_pre_alarm", "fire", "high", "alarm", Text("smoke_pre_alarm"), at)]
    if detector_state == "fault":
        return [Raise("smoke_fault", "fire", "medium", "trouble", Text("smoke_fault"), at)]
    return [Clear("smoke_pre_alarm", at), Clear("smoke_fault", at), Clear("fire", at)]


# -- doors -------------------------------------------------------------------------------


def outside_schedule(restricted: dict[str, Any] | None, at: float, tz: str) -> bool:
    """True when ``at`` falls outside a restricted room's allowed schedule."""
    if not restricted:
        return False
    local = datetime.fromtimestamp(at, tz=ZoneInfo(tz))
    days = restricted.get("days") or list(DAYS[:5])
    start = time.fromisoformat(str(restricted.get("start", "07:00")))
    end = time.fromisoformat(str(restricted.get("end", "22:00")))
    inside = DAYS[local.weekday()] in days and start <= local.time().replace(tzinfo=None) < end
    return not inside


def door(
    kind: str, t: float, sensor: SensorInfo, state: dict[str, Any], tz: str, payload: dict[str, Any] | None = None
) -> list[Signal]:
    """Door access events: forced, held open, denied bursts, after-hours access, tamper."""
    d = state.setdefault("door", {"open_since": None, "granted_at": None, "denied": [], "held": False})
    at = _ts(t)
    out: list[Signal] = []
    if kind == "access_granted":
        d["granted_at"] = t
        if outside_schedule(sensor.restricted, t, tz):
            out.append(
                Raise("after_hours", "door", "high", "alarm", Text("after_hours"), at)
            )
    elif kind == "access_denied":
        count, window = L.DENIED_BURST
        d["denied"] = [x for x in d["denied"] if x > t - window] + [t]
        if len(d["denied"]) >= count:
            out.append(
                Raise(
                    "denied_burst",
                    "door",
                    "medium",
                    "alarm",
                    Text("denied_burst", {"count": len(d["denied"]), "window": int(window)}),
                    at,
                )
            )
    elif kind == "door_forced":
        granted = d.get("granted_at")
        d["open_since"] = d.get("open_since") or t
        if not (granted is not None and 0 <= t - granted <= L.FORCED_DEBOUNCE_S):
            out.append(Raise("door_forced", "door", "high", "alarm", Text("door_forced"), at))
    elif kind == "door_opened":
        d["open_since"] = d.get("open_since") or t
    elif kind == "door_held_open":
        d["open_since"] = d.get("open_since") or t
        d["held"] = True
        out.append(Raise("held_open", "door", "medium", "alarm", Text("held_open"), at))
    elif kind == "door_closed":
        d.update(open_since=None, held=False)
        out += [Clear("held_open", at), Clear("door_forced", at), Clear("after_hours", at)]
    elif kind == "tamper":
        out.append(Raise("tamper", "door", "high", "alarm", Text("tamper"), at, latched=True))
    return out


def suppressed_by_design(sensor: SensorInfo, at: float, tz: str) -> bool:
    """True inside one of the sensor's ``suppress`` windows (e.g. a door held open for events).

    ``thresholds: {suppress: [{days: [sat], start: "18:00", end: "23:00"}]}`` in the site file.
    Alarms raised then are kept and journaled but marked suppressed, so nobody is called.
    """
    windows = sensor.thresholds.get("suppress") or []
    return any(not outside_schedule(w, at, tz) for w in windows if isinstance(w, dict))


def held_open_s(sensor: SensorInfo) -> float:
    """The held-open limit for this door."""
    return float(sensor.thresholds.get("held_open_s", L.HELD_OPEN_S))


# -- switching detectors ------------------------------------------------------------------


def detector(metric: str, value: float, at: datetime) -> list[Signal]:
    """A detector that switches (gas, CO, leak): 1 raises its alarm, 0 clears it."""
    condition, priority = L.DETECTORS[metric]
    if value >= 1:
        return [Raise(condition, "lab", priority, "alarm", Text(condition), at)]
    return [Clear(condition, at)]


# -- analogue limits with on-delay, off-delay and deadband ---------------------------------


def analogue(metric: str, value: float, t: float, sensor: SensorInfo, state: dict[str, Any]) -> list[Signal]:
    """Two-stage limits for one reading."""
    out: list[Signal] = []
    limits = sensor.limits.get(metric)
    if limits is None:
        limits = sensor.limits[metric] = L.limits_for(metric, sensor.thresholds)
    if not limits:
        return out
    kept = state.setdefault("limits", {})
    for lim in limits:
        s = kept.get(lim.condition)
        if s is None:
            s = kept[lim.condition] = {"phase": "normal", "since": None, "stage": 0, "clear_since": None}
        out += step_limit(lim, s, value, t)
    return out


def step_limit(lim: L.Limit, s: dict[str, Any], value: float, t: float) -> list[Signal]:
    """Advance one limit's state machine by one reading."""
    stage = lim.stage(value)
    if stage:
        s["clear_since"] = None
        if s["phase"] == "normal":
            s.update(phase="pending", since=t)
        if s["phase"] == "pending" and t - s["since"] >= lim.on_delay_s:
            s.update(phase="active", stage=stage)
            return [_raise(lim, stage, value, _ts(t))]
        if s["phase"] == "active" and stage > s["stage"]:
            s["stage"] = stage
            return [_raise(lim, stage, value, _ts(t))]
        return []
    if s["phase"] == "pending":
        s.update(phase="normal", since=None)  # on-delay interrupted
        return []
    if s["phase"] == "active":
        if not lim.back_inside(value):
            s["clear_since"] = None  # inside the deadband: not clear yet
            return []
        s["clear_since"] = s["clear_since"] if s["clear_since"] is not None else t
        if t - s["clear_since"] >= lim.off_delay_s:
            s.update(phase="normal", since=None, stage=0, clear_since=None)
            return [Clear(lim.condition, _ts(t))]
    return []


def _raise(lim: L.Limit, stage: int, value: float, at: datetime) -> Raise:
    level = lim.second if stage == 2 else lim.first
    return Raise(
        lim.condition,
        "lab",
        lim.second_priority if stage == 2 else lim.first_priority,
        "alarm",
        Text(f"limit_{lim.direction}", {"what": lim.label, "value": value, "limit": level,
                                        "unit": unit_of(lim.metric), "stage": stage}),
        at,
        value=value,
        latched=lim.latched,
    )


# -- exposure: TWA (8 h) and STEL (15 min) -------------------------------------------------

TWA_BUCKET_S = 900
STEL_BUCKET_S = 60
MAX_HOLD_S = 120.0  # a reading stands for at most this long (a silent sensor is not exposure)


def exposure(metric: str, value: float, t: float, state: dict[str, Any]) -> list[Signal]:
    """Integrate a toxic gas reading (sample and hold); raise or clear TWA and STEL alarms."""
    if not metric.startswith("gas_ppm."):
        return []
    gas = metric.split(".", 1)[1]
    if gas not in L.EXPOSURE:
        return []
    twa_limit, stel_limit = L.EXPOSURE[gas]
    e = state.setdefault("exp", {}).setdefault(
        gas, {"twa": {}, "stel": {}, "last": None, "twa_on": False, "stel_on": False}
    )
    if e["last"] is not None:
        t_prev, v_prev = e["last"]
        dt = min(max(t - t_prev, 0.0), MAX_HOLD_S)
        _add(e["twa"], t_prev, v_prev * dt, TWA_BUCKET_S, 8 * 3600, t)
        _add(e["stel"], t_prev, v_prev * dt, STEL_BUCKET_S, 15 * 60, t)
    e["last"] = [t, value]
    out: list[Signal] = []
    at = _ts(t)
    for key, lim, window in (("twa", twa_limit, 8 * 3600), ("stel", stel_limit, 900)):
        if lim is None:
            continue
        avg = time_weighted(e[key], window)
        on = f"{key}_on"
        if avg >= lim and not e[on]:
            e[on] = True
            out.append(
                Raise(
                    f"{key}:{gas}",
                    "lab",
                    "high",
                    "alarm",
                    Text(f"exposure_{key}", {"gas": gas, "value": round(avg, 4), "limit": lim, "unit": "ppm"}),
                    at,
                    value=round(avg, 4),
                )
            )
        elif avg < lim * 0.9 and e[on]:
            e[on] = False
            out.append(Clear(f"{key}:{gas}", at))
    return out


def _add(buckets: dict[str, float], t: float, dose: float, size: int, window: int, now: float) -> None:
    key = str(int(t // size * size))
    buckets[key] = buckets.get(key, 0.0) + dose
    for k in [k for k in buckets if int(k) + size <= now - window]:
        del buckets[k]


def time_weighted(buckets: dict[str, float], window: int) -> float:
    """Average concentration over the window (ppm); time without readings counts as zero."""
    return sum(buckets.values()) / window


# -- timers -----------------------------------------------------------------------------------


def _update_timer(state: dict[str, Any], sensor: SensorInfo) -> None:
    """Remember the earliest moment a timer rule needs looking at (for the tick)."""
    due: list[float] = []
    d = state.get("door")
    if d:
        if d.get("open_since") is not None and not d.get("held"):
            due.append(d["open_since"] + held_open_s(sensor))
        if d.get("denied"):
            due.append(d["denied"][0] + L.DENIED_BURST[1])
    state["timer_at"] = min(due) if due else None


def timers(sensor: SensorInfo, state: dict[str, Any], now: float) -> list[Signal]:
    """Time-driven signals at ``now`` (event-time watermark): held open, burst windows ending."""
    out: list[Signal] = []
    d = state.get("door")
    if d:
        if d.get("open_since") is not None and not d.get("held") and now - d["open_since"] >= held_open_s(sensor):
            d["held"] = True
            out.append(
                Raise(
                    "held_open",
                    "door",
                    "medium",
                    "alarm",
                    Text("held_open_for", {"limit": held_open_s(sensor), "unit": "s"}),
                    _ts(d["open_since"] + held_open_s(sensor)),
                )
            )
        if d.get("denied"):
            window = L.DENIED_BURST[1]
            before = len(d["denied"])
            d["denied"] = [x for x in d["denied"] if x > now - window]
            if before >= L.DENIED_BURST[0] > len(d["denied"]):
                out.append(Clear("denied_burst", _ts(now)))
    _update_timer(state, sensor)
    return out
