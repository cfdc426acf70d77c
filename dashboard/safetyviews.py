"""What the inspection and safety pages share: where each inspection plan stands."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ingest.core.periods import Due, status


def plan_states(plans: list[dict[str, Any]], now: datetime, tz: str) -> list[tuple[dict[str, Any], Due]]:
    """Each plan (a SAFETY_PLANS row) with where it stands at ``now`` (``ingest.core.periods.status``)."""
    return [(p, status(p["frequency"], list(p["done"]), p["active_since"], now, tz)) for p in plans]
