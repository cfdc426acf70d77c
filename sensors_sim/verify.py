"""``safecampus sim verify``: run a scenario against the live system and check its alarms."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from psycopg.rows import dict_row

from ingest.core.site import Site
from ingest.db import queries as dbq
from sensors_sim.scenario import Expect, Scenario, events

logger = logging.getLogger(__name__)



@dataclass
class Outcome:
    """Expected against raised."""

    expect: Expect
    found: int
    first_s: float | None

    @property
    def ok(self) -> bool:
        """The expectation was met."""
        return self.found >= self.expect.count


def start_time(scenario: Scenario, speed: float, now: datetime | None = None) -> datetime:
    """Event time of the scenario's start, chosen so its last event is stamped about 'now'."""
    now = now or datetime.now(UTC)
    return now - timedelta(seconds=scenario.duration_s * (1 - 1 / speed))


def same_condition(raised: str, expected: str) -> bool:
    """An alarm's condition is the expected one; 'patrol_late' also names every tour's 'patrol_late:<tour>'."""
    return raised == expected or (":" not in expected and raised.startswith(expected + ":"))


def matches(e: Expect, a: dict[str, Any], start: datetime, drill: bool) -> bool:
    """Whether alarm ``a`` satisfies expectation ``e``."""
    return (same_condition(a["condition"], e.condition) and (e.sensor is None or a["sensor_id"] == e.sensor)
            and (e.priority is None or a["priority"] == e.priority) and a["drill"] == drill
            and (e.confirmed is None or a["confirmed"] == e.confirmed)
            and (a["raised_at"] - start).total_seconds() <= e.within_s + 0.001)


def judge(scenario: Scenario, alarms: list[dict[str, Any]], start: datetime) -> tuple[list[Outcome], list[dict]]:
    """Per expectation what was found, and the alarms nobody expected."""
    outcomes = []
    for e in scenario.expect:
        hits = [a for a in alarms if matches(e, a, start, scenario.drill)]
        first = min(((a["raised_at"] - start).total_seconds() for a in hits), default=None)
        outcomes.append(Outcome(e, len(hits), first))
    allowed = {e.condition for e in scenario.expect} | set(scenario.allow)
    unexpected = [a for a in alarms if not any(same_condition(a["condition"], c) for c in allowed)]
    return outcomes, unexpected


def verify(scenario: Scenario, site: Site, db_url: str, publish: Any, speed: float,
           settle_s: float = 10.0) -> tuple[list[Outcome], list[dict]]:
    """Publish the scenario at ``speed`` and wait (up to ``settle_s``) for its alarms."""
    scenario.check_against(site)
    with psycopg.connect(db_url, row_factory=dict_row) as conn:
        row = conn.execute(dbq.SCENARIO_OPEN_ON, {"sensors": scenario.sensors}).fetchone()
        open_now = row["count"] if row else 0
    if open_now:
        raise RuntimeError(f"{open_now} alarm(s) are already open on this scenario's sensors; close them first")
    start = start_time(scenario, speed)
    publish(events(scenario, site, start), speed)
    deadline = time.monotonic() + settle_s
    while True:
        with psycopg.connect(db_url, row_factory=dict_row) as conn:
            alarms = conn.execute(dbq.SCENARIO_ALARMS_SINCE, {"sensors": scenario.sensors,
                                                 "since": start - timedelta(seconds=1)}).fetchall()
        outcomes, unexpected = judge(scenario, alarms, start)
        if all(o.ok for o in outcomes) or time.monotonic() > deadline:
            return outcomes, unexpected
        time.sleep(0.3)


def report(scenario: Scenario, outcomes: list[Outcome], unexpected: list[dict]) -> str:
    """A table of expected against raised."""
    lines = [f"scenario: {scenario.name}" + (" (drill)" if scenario.drill else ""),
             f"{'expected':44} {'within':>8} {'raised':>8} {'first at':>9}  result"]
    for o in outcomes:
        e = o.expect
        what = f"{e.condition} {e.sensor or '(any sensor)'}" + (f" {e.priority}" if e.priority else "")
        if e.count > 1:
            what += f" x{e.count}"
        first = f"{o.first_s:.1f} s" if o.first_s is not None else "-"
        lines.append(f"{what[:44]:44} {e.within_s:>6.0f} s {o.found:>8} {first:>9}  {'ok' if o.ok else 'MISSING'}")
    for a in unexpected:
        lines.append(f"UNEXPECTED {a['condition']} on {a['sensor_id']} ({a['priority']})")
    ok = all(o.ok for o in outcomes) and not unexpected
    lines.append("PASS" if ok else "FAIL")
    return "\n".join(lines)
