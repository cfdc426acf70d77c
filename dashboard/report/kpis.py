"""Alarm-system health (ISA-18.2 / EEMUA 191) from alarm activations: pure functions.

An *activation* is an alarm becoming active (journal ``raised`` and ``returned``), with
its source (sensor, condition), priority, and, for the first one, how long it stayed.
Drills are left out before these functions see anything.
"""

from __future__ import annotations

import statistics
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

TEN_MIN = timedelta(minutes=10)
FLOOD_OVER = 10              # alarms in 10 minutes
FLOOD_UNDER = 5              # a flood ends when fewer than this many alarms came in the last 10 minutes
CHATTER = (3, 60.0)          # >= 3 activations of one source in 60 s
FLEETING_S = 10.0            # cleared within seconds
STALE = timedelta(hours=24)
TARGETS = {"per_10min_avg": 1.0, "per_10min_max": 2.0, "per_hour_avg": 6.0, "flood_pct": 1.0,
           "top10_share_pct": 5.0, "priority_pct": {"low": 80.0, "medium": 15.0, "high": 5.0}}


@dataclass(frozen=True)
class Activation:
    """One alarm activation."""

    at: datetime
    source: str
    priority: str
    cleared_after_s: float | None = None


@dataclass
class Kpis:
    """The numbers of one period, with the targets beside them."""

    start: datetime
    end: datetime
    total: int = 0
    per_10min_avg: float = 0.0
    per_10min_max: int = 0
    per_hour_avg: float = 0.0
    per_hour_max: int = 0
    flood_pct: float = 0.0
    flood_episodes: int = 0
    chattering: list[str] = field(default_factory=list)
    fleeting: int = 0
    stale: int = 0
    top10: list[tuple[str, int]] = field(default_factory=list)
    top10_share_pct: float = 0.0
    priority_pct: dict[str, float] = field(default_factory=dict)
    shelved: int = 0
    shelved_hours: float = 0.0
    out_of_service: int = 0
    out_of_service_hours: float = 0.0
    targets: dict[str, Any] = field(default_factory=lambda: dict(TARGETS))


def align(t: datetime, up: bool = False) -> datetime:
    """``t`` moved to a 10-minute boundary (down, or up with ``up``): the rollups' buckets."""
    step = int(TEN_MIN.total_seconds())
    ts = t.timestamp()
    rest = ts % step
    if rest and up:
        ts += step
    return datetime.fromtimestamp(ts - rest, t.tzinfo)


def _buckets(acts: list[Activation], start: datetime, end: datetime, width: timedelta) -> list[int]:
    n = max(1, int((end - start) / width))
    counts = [0] * n
    for a in acts:
        i = int((a.at - start) / width)
        if 0 <= i < n:
            counts[i] += 1
    return counts


def compute(acts: list[Activation], start: datetime, end: datetime, *, tens: list[int] | None = None,
            stale: int = 0, shelved: int = 0, shelved_hours: float = 0.0, out_of_service: int = 0,
            out_of_service_hours: float = 0.0) -> Kpis:
    """Every KPI for [start, end). ``tens``: activations per 10 minutes from start, when a rollup
    has counted them already (else they are counted from ``acts``).
    """
    acts = sorted((a for a in acts if start <= a.at < end), key=lambda a: a.at)
    k = Kpis(start, end, total=len(acts), stale=stale, shelved=shelved, shelved_hours=round(shelved_hours, 2),
             out_of_service=out_of_service, out_of_service_hours=round(out_of_service_hours, 2))
    if tens is None:
        tens = _buckets(acts, start, end, TEN_MIN)
    per_hour = int(timedelta(hours=1) / TEN_MIN)
    hours = [sum(tens[i * per_hour:(i + 1) * per_hour]) for i in range(max(1, len(tens) // per_hour))]
    k.per_10min_avg = round(len(acts) / len(tens), 3)
    k.per_10min_max = max(tens)
    k.per_hour_avg = round(len(acts) / len(hours), 3)
    k.per_hour_max = max(hours)
    flood = [c > FLOOD_OVER for c in tens]
    k.flood_pct = round(100 * sum(flood) / len(tens), 3)
    k.flood_episodes = sum(1 for i, f in enumerate(flood) if f and (i == 0 or not flood[i - 1]))
    by_source: dict[str, list[datetime]] = {}
    for a in acts:
        by_source.setdefault(a.source, []).append(a.at)
    n, window = CHATTER
    for source, times in sorted(by_source.items()):
        if any((times[i + n - 1] - times[i]).total_seconds() <= window for i in range(len(times) - n + 1)):
            k.chattering.append(source)
    k.fleeting = sum(1 for a in acts if a.cleared_after_s is not None and a.cleared_after_s < FLEETING_S)
    counts = Counter(a.source for a in acts)
    k.top10 = counts.most_common(10)
    k.top10_share_pct = round(100 * sum(c for _, c in k.top10) / len(acts), 2) if acts else 0.0
    pri = Counter("high" if a.priority in ("high", "critical") else a.priority for a in acts)
    k.priority_pct = {p: round(100 * pri.get(p, 0) / len(acts), 2) if acts else 0.0 for p in ("low", "medium", "high")}
    return k


@dataclass(frozen=True)
class Flood:
    """An alarm flood under way: since when, how many alarms since then, how many in the last 10 minutes."""

    since: datetime
    count: int
    last_10min: int

    @property
    def per_minute(self) -> float:
        """Alarms per minute over the last 10 minutes."""
        return self.last_10min / 10


def flood_now(times: list[datetime], now: datetime) -> Flood | None:
    """The flood under way at ``now``, from the activation times before it (any order).

    ISA-18.2: a flood starts when more than 10 alarms came within 10 minutes (it starts at the
    first of them); with hysteresis, it ends only when fewer than 5 came in the last 10 minutes,
    so a flood that slows for a moment does not flicker off and on. Pure: every screen and every
    dashboard process works it out alike from the journal, with no state kept anywhere.
    """
    times = sorted(t for t in times if t <= now)
    events = [(t, 1) for t in times] + [(t + TEN_MIN, -1) for t in times if t + TEN_MIN <= now]
    events.sort(key=lambda e: (e[0], e[1]))  # at one instant, a departure before an arrival
    window: list[datetime] = []
    since: datetime | None = None
    for at, step in events:
        if step == 1:
            window.append(at)
            if since is None and len(window) > FLOOD_OVER:
                since = window[0]
        else:
            window.pop(0)
            if since is not None and len(window) < FLOOD_UNDER:
                since = None
    if since is None:
        return None
    return Flood(since, sum(1 for t in times if t >= since), len(window))


def spread(seconds: list[float]) -> dict[str, float | None]:
    """How many, the median, the 90th percentile and the worst of some durations (seconds)."""
    if not seconds:
        return {"n": 0, "median": None, "p90": None, "worst": None}
    s = sorted(seconds)
    return {
        "n": len(s),
        "median": round(statistics.median(s), 1),
        "p90": round(s[min(len(s) - 1, int(0.9 * len(s)))], 1),
        "worst": round(s[-1], 1),
    }
