"""Doing an inspection: ticked items with notes, where on the plan, then the sign-off (公安部令61号).

The inspector submits the checklist (every item ticked as passed or failed; a failed item needs a
note and becomes a hazard for the inspected department, a fire-system item with a 24-hour
deadline). The inspected department's head signs it: a user of that department marked as its head,
with their own login or their password on the inspector's phone. A head signs only their own
department's inspections; nobody signs their own.
"""

from __future__ import annotations

import time
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from ingest.alarms.actions import ActionRefusedError
from ingest.alarms.engine import AlarmEngine
from ingest.core import photos
from ingest.core.background import TickLoop
from ingest.core.i18n import N_
from ingest.db import locks
from ingest.safety import hazards
from ingest.safety import queries as q


def submit(conn: psycopg.Connection[Any], plan_id: str, by: str, results: dict[str, dict[str, Any]],
           note: str | None = None, building: str | None = None, floor: int | None = None,
           x: float | None = None, y: float | None = None, photo: bytes | None = None) -> tuple[int, list[int]]:
    """Record an inspection (where: building, floor and a point on its plan; a photo); its id and the
    hazards its failed items opened.
    """
    try:
        media = photos.photo_type(photo) if photo else None
    except photos.PhotoError as exc:
        raise ActionRefusedError(exc.template, **exc.params) from exc
    with conn.cursor(row_factory=dict_row) as cur:
        plan = cur.execute(q.PLAN, {"id": plan_id}).fetchone()
    if plan is None:
        raise ActionRefusedError(N_("unknown inspection plan {id}"), id=plan_id)
    items = {i["id"]: i for i in plan["items"]}
    missing = [i for i in items if i not in results or results[i].get("ok") is None]
    if missing:
        raise ActionRefusedError(N_("tick every item: {n} not ticked"), n=len(missing))
    failed = [i for i in items if not results[i]["ok"]]
    if any(not (results[i].get("note") or "").strip() for i in failed):
        raise ActionRefusedError(N_("say what is wrong with each failed item"))
    clean = {i: {"ok": bool(results[i]["ok"]), "note": (results[i].get("note") or "").strip()[:500] or None}
             for i in items}
    with conn.transaction():
        row = q.first(conn, q.ADD_INSPECTION, {
            "plan": plan_id, "department": plan["department_id"], "building": building or plan["building_id"],
            "floor": floor, "x": x, "y": y, "results": Jsonb(clean), "note": (note or "").strip()[:2000] or None,
            "photo": photo, "photo_type": media, "by": by})
        assert row is not None
        inspection = int(row[0])
        opened = []
        for i in failed:
            item = items[i]
            hid = hazards.report(
                conn, title=f"{item['text']['en']}: {clean[i]['note']}"[:200],
                category="fire_system" if item["fire_system"] else "other",
                severity="major" if item["fire_system"] else "general", department=plan["department_id"], by=by,
                source="inspection", source_ref=f"{inspection}:{i}", building=building or plan["building_id"],
                description=f"{plan['name']}: {item['text']['en']} / {item['text']['zh-CN']}")
            if hid is not None:
                opened.append(hid)
        return inspection, opened


def sign(conn: psycopg.Connection[Any], inspection: int, head: str) -> None:
    """The inspected department's head signs (after their login or password was checked by the caller)."""
    with conn.transaction():
        with conn.cursor(row_factory=dict_row) as cur:
            row = cur.execute(q.INSPECTION_FOR_UPDATE, {"id": inspection}).fetchone()
        if row is None:
            raise ActionRefusedError(N_("inspection {id} does not exist"), id=inspection)
        if row["state"] == "signed":
            raise ActionRefusedError(N_("inspection {id} is already signed"), id=inspection)
        who = q.first(conn, q.USER_DEPARTMENT, {"u": head})
        if who is None or who[1] != row["department_id"] or not who[2]:
            raise ActionRefusedError(N_("only the head of the inspected department signs inspection {id}"),
                                     id=inspection)
        if head == row["inspector"]:
            raise ActionRefusedError(N_("the inspector does not sign for the inspected department"))
        conn.execute(q.INSPECTION_SIGNED, {"id": inspection, "head": head})


class SafetyTicker(TickLoop):
    """Every few seconds (one ingestor at a time): hazards past their deadline raise their alarm; every
    minute the sensor rules look for hazards (a fume hood low on flow three times in a week).
    """

    def __init__(self, engine: AlarmEngine, pool: Any, every_s: float = 5.0, rules_every_s: float = 60.0) -> None:
        super().__init__("safety-tick", self._round, pool, every_s)
        self._engine = engine
        self._rules_every = rules_every_s
        self._rules_at = -1e9  # when the rules last ran (monotonic)

    def _round(self, conn: psycopg.Connection[Any]) -> None:
        rules = time.monotonic() - self._rules_at >= self._rules_every
        self.tick(conn, rules=rules)
        if rules:
            self._rules_at = time.monotonic()

    def tick(self, conn: psycopg.Connection[Any], now: float | None = None, rules: bool = True) -> int:
        """One round at event time ``now``; hazards raised overdue."""
        with conn.transaction():
            got = q.first(conn, q.TICK_LOCK, {"key": locks.SAFETY_TICK})
            if not got or not got[0]:
                return 0
            now = self._engine.tick_time(conn) if now is None else now
            if now is None:
                return 0
            if rules:
                hazards.from_rules(conn, now)
            return hazards.overdue(conn, self._engine, now)
