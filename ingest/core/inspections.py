"""Inspection plans as a site file gives them, and the shipped checklists (docs/inspections.md)."""

from __future__ import annotations

from datetime import date
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field

from ingest.core.periods import Frequency

ID = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"


class InspectionPlan(BaseModel):
    """What to check (a checklist), where (a building, or the department's whole estate), how often, whose."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=ID)
    name: str = Field(min_length=1, max_length=120)
    name_zh: str | None = Field(default=None, max_length=120)
    frequency: Frequency
    checklist: str
    department: str
    building: str | None = None


class Letter(BaseModel):
    """A department's safety responsibility letter (安全责任状): who signed it, when, until when; its items
    are the department's inspection plans.
    """

    model_config = ConfigDict(extra="forbid")

    title: str
    title_zh: str | None = None
    signed: date
    signed_by: str  # the department's head who signed it
    valid_until: date | None = None


def plan_problems(plans: list[InspectionPlan], departments: set[str], buildings: set[str]) -> None:
    """Refuse (ValueError) a site's plans with a repeated id or an unknown checklist, department or building."""
    lists = load_checklists()
    seen: set[str] = set()
    for plan in plans:
        if plan.id in seen:
            raise ValueError(f"inspection plan id {plan.id!r} is used twice")
        seen.add(plan.id)
        if plan.checklist not in lists:
            raise ValueError(f"inspection plan {plan.id}: unknown checklist {plan.checklist!r} "
                             f"(known: {', '.join(lists)})")
        if plan.department not in departments:
            raise ValueError(f"inspection plan {plan.id}: unknown department {plan.department!r}")
        if plan.building and plan.building not in buildings:
            raise ValueError(f"inspection plan {plan.id}: unknown building {plan.building!r}")


Checklists = dict[str, list[dict[str, Any]]]  # checklist → items [{id, en, zh-CN, fire_system}]


def load_checklists(path: Path | None = None) -> Checklists:
    """The checklists: the shipped file, or another in the same shape."""
    text = (Path(path).read_text(encoding="utf-8") if path
            else (resources.files("ingest.core") / "checklists.yaml").read_text(encoding="utf-8"))
    data = yaml.safe_load(text) or {}
    out: Checklists = {}
    for name, items in data.items():
        out[str(name)] = [{"id": str(i["id"]), "text": {"en": str(i["en"]), "zh-CN": str(i.get("zh-CN") or i["en"])},
                           "fire_system": bool(i.get("fire_system", False))} for i in items]
    return out
