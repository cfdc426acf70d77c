"""Write a site model into the database registry (idempotent; removed things are retired)."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import psycopg
from psycopg.types.json import Jsonb

from ingest.core.inspections import load_checklists
from ingest.core.patrols import Route
from ingest.core.site import Site
from ingest.db import queries as q

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class LoadResult:
    """Counts of what a site load wrote."""

    departments: int
    buildings: int
    rooms: int
    sensors: int
    retired_sensors: int
    plans: int = 0
    placed: int = 0


def save_route(cur: psycopg.Cursor, route: Route, origin: str, by: str | None) -> None:
    """Write one patrol route and its stops (from the site file, or an administrator's edit)."""
    cur.execute(q.UPSERT_ROUTE, {
        "id": route.id, "name": route.name, "name_zh": route.name_zh, "ordered": route.ordered,
        "schedule": Jsonb(route.schedule.model_dump(mode="json")), "limit_s": route.limit_min * 60,
        "silent_after_s": route.silent_after_min * 60, "priority": route.priority, "origin": origin, "by": by,
    })
    cur.execute(q.CLEAR_STOPS, {"route": route.id})
    cur.executemany(q.ADD_STOP, [{"route": route.id, "position": i, "checkpoint": st.checkpoint,
                                  "min_s": st.min * 60, "max_s": st.max * 60} for i, st in enumerate(route.stops)])


def load_site(conn: psycopg.Connection, site: Site) -> LoadResult:
    """Upsert departments, buildings, rooms and sensors in one transaction."""
    with conn.transaction(), conn.cursor() as cur:
        cur.execute(q.CLEAR_TAGS, {"keep": []})
        cur.executemany(q.UPSERT_DEPARTMENT,
                        [{"id": d.id, "name": d.name, "name_zh": d.name_zh,
                          "letter": Jsonb(d.letter.model_dump(mode="json")) if d.letter else None}
                         for d in site.departments])
        cur.executemany(
            q.UPSERT_BUILDING,
            [
                {
                    "id": b.id,
                    "name": b.name,
                    "name_zh": b.name_zh,
                    "use": b.use,
                    "department_id": b.department,
                    "outline": Jsonb([list(p) for p in b.outline]),
                    "floors": b.floors,
                }
                for b in site.buildings
            ],
        )
        cur.executemany(
            q.UPSERT_ROOM,
            [
                {
                    "id": r.id,
                    "building_id": b.id,
                    "floor": r.floor,
                    "name": r.name,
                    "name_zh": r.name_zh,
                    "use": r.use,
                    "hazard_class": r.hazard_class,
                    "zone": r.zone or f"{b.id}-F{r.floor}",
                    "restricted": Jsonb(r.restricted.model_dump(mode="json")) if r.restricted else None,
                    "department_id": r.department or b.department,
                }
                for b in site.buildings
                for r in b.rooms
            ],
        )
        cur.executemany(
            q.UPSERT_SENSOR,
            [
                {
                    "id": s.id,
                    "kind": s.kind,
                    "building_id": s.building,
                    "room_id": s.room,
                    "name": s.name,
                    "name_zh": s.name_zh,
                    "report_interval_s": s.interval_s,
                    "thresholds": Jsonb({"metrics": s.metrics, **s.thresholds}
                                        | ({"offline_after_s": s.offline_after_s} if s.offline_after_s else {})),
                    "source": Jsonb(s.source.model_dump(mode="json", exclude_defaults=True) | {"key": s.source.key})
                    if s.source else None,
                    "tag": s.tag,
                }
                for s in site.sensors
            ],
        )
        cur.executemany(
            q.UPSERT_FLOOR_PLAN,
            [
                {"building_id": b, "floor": f, "media_type": img.media_type, "content": img.data,
                 "sha256": img.sha256, "width": img.width, "height": img.height, "origin": "site", "updated_by": None}
                for (b, f), img in sorted(site.plan_images.items())
            ],
        )
        # Positions the site file gives replace those saved with the placement tool; a sensor
        # the file does not place keeps where an administrator put it.
        cur.executemany(
            q.PLACE_SENSOR,
            [{"id": s.id, "x": s.position.x, "y": s.position.y, "zone": s.position.zone}
             for s in site.sensors if s.position],
        )
        for route in site.patrols:
            save_route(cur, route, "site", None)
        cur.execute(q.RETIRE_ROUTES, {"keep": [r.id for r in site.patrols]})
        lists = load_checklists()
        cur.executemany(q.UPSERT_INSPECTION_PLAN, [
            {"id": p.id, "name": p.name, "name_zh": p.name_zh, "frequency": p.frequency, "checklist": p.checklist,
             "items": Jsonb(lists[p.checklist]), "department": p.department, "building": p.building}
            for p in site.inspections])
        cur.execute(q.RETIRE_INSPECTION_PLANS, {"keep": [p.id for p in site.inspections]})
        cur.execute(q.RETIRE_SENSORS, {"keep": [s.id for s in site.sensors]})
        retired = cur.rowcount
        cur.execute(q.RETIRE_ROOMS, {"keep": [r.id for b in site.buildings for r in b.rooms]})
        cur.execute(q.RETIRE_BUILDINGS, {"keep": [b.id for b in site.buildings]})
    result = LoadResult(
        len(site.departments),
        len(site.buildings),
        sum(len(b.rooms) for b in site.buildings),
        len(site.sensors),
        retired,
        len(site.plan_images),
        sum(1 for s in site.sensors if s.position),
    )
    logger.info("site %r loaded: %s", site.name, result)
    return result
