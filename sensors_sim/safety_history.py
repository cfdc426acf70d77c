"""A realistic past for the demo campus's inspections, hazards and detector tests (``safecampus run``).

So the pages are not empty on a first run: a year of signed inspections with some periods missed (so
a few plans are overdue now), detectors tested over the last year with one building's tests lapsed, a
walk test, and a handful of hazards (one past its deadline, one fixed and waiting for verification,
closed ones). Seeded: the same every time. Written only into an empty history.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from ingest.core.inspections import load_checklists
from ingest.core.periods import period
from ingest.core.site import Site
from ingest.db import queries as dbq
from ingest.safety import queries as q

DEMO_USER = "officer"
MISSED = {"library-exits", "canteen-electrical"}  # their last period passed without an inspection
LAPSED_BUILDING = "dorm-2"  # its detectors were last tested over a year ago


def seed(conn: psycopg.Connection[Any], site: Site, now: datetime | None = None) -> bool:
    """Write the demo history into an empty database; False when there is history already."""
    now = now or datetime.now(UTC)
    if q.first(conn, dbq.DEMO_HISTORY_EXISTS, {})[0]:  # type: ignore[index]
        return False
    rng = random.Random(20261207)
    lists = load_checklists()
    year_ago = now - timedelta(days=380)
    with conn.transaction():
        conn.execute(dbq.DEMO_PLANS_SINCE, {"since": year_ago})
        for plan in site.inspections:
            at = period(plan.frequency, year_ago, site.timezone)[1]
            current = period(plan.frequency, now, site.timezone)
            while at < now:
                start, end = period(plan.frequency, at, site.timezone)
                skip = plan.id in MISSED and end <= current[0] and end > current[0] - (end - start)
                if not skip and not (start == current[0] and rng.random() < 0.6):  # the current one: often not yet
                    when = start + (min(end, now) - start) * rng.uniform(0.1, 0.8)
                    results = {i["id"]: {"ok": True, "note": None} for i in lists[plan.checklist]}
                    conn.execute(dbq.DEMO_INSPECTION, {
                        "plan": plan.id, "department": plan.department, "building": plan.building,
                        "results": Jsonb(results), "by": DEMO_USER, "at": when, "head": f"head-{plan.department}",
                        "signed": when + timedelta(hours=2)})
                at = end
        for s in site.sensors:
            if s.kind != "smoke":
                continue
            days = rng.uniform(400, 430) if s.building == LAPSED_BUILDING else rng.uniform(20, 330)
            conn.execute(dbq.DEMO_TESTED, {"at": now - timedelta(days=days), "id": s.id})
        hazards = [
            ("Extinguisher pressure low, Library floor 2", "fire_system", "major", "library", "library", -30, "open"),
            ("Emergency light dead, Dormitory 1 stair B", "fire_system", "major", "student-affairs", "dorm-1", 10,
             "open"),
            ("Power strips chained under the canteen till", "electrical", "general", "logistics", "canteen", 96,
             "fixed"),
            ("Cylinder not chained in Lab 203", "chemical", "general", "chem-bio", "labs", -400, "closed"),
            ("Exit sign missing, Teaching Block A floor 3", "exits", "general", "academic", "teach-a", -200, "closed"),
        ]
        for title, category, severity, department, building, hours_left, state in hazards:
            created = now - timedelta(days=3)
            deadline = now + timedelta(hours=hours_left)
            fixed = state != "open"
            row = q.first(conn, dbq.DEMO_HAZARD, {
                "title": title, "category": category, "severity": severity, "department": department,
                "building": building, "state": state, "deadline": deadline, "by": DEMO_USER, "created": created,
                "fixed_at": created + timedelta(days=1) if fixed else None,
                "fixed_by": f"head-{department}" if fixed else None,
                "fix_note": "Replaced and checked" if fixed else None,
                "closed_at": created + timedelta(days=2) if state == "closed" else None,
                "closed_by": DEMO_USER if state == "closed" else None})
            assert row is not None
            conn.execute(dbq.DEMO_HAZARD_JOURNAL, {"id": row[0], "by": DEMO_USER, "note": title, "at": created})
    return True
