"""Patrol routes as a site file gives them, and when their tours start (pure; docs/patrols.md).

A route is a list of checkpoints (sensors of kind ``checkpoint``), in order or in any order,
each with a window from the tour's start (``min``-``max`` minutes), a limit for the whole tour,
and a schedule of tour starts in campus time: every ``every`` minutes from ``start`` until
``end`` (an end before the start runs past midnight: 22:00-06:00), on the given weekdays.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ingest.core.vocabulary import Priority

ID = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TourSchedule(_Strict):
    """When tours start: every ``every_min`` from ``start`` until before ``end``, campus time."""

    start: time
    end: time
    every_min: int = Field(ge=10, le=24 * 60)
    days: list[int] = Field(default_factory=lambda: list(range(7)), min_length=1)  # 0 = Monday

    @model_validator(mode="after")
    def _check(self) -> TourSchedule:
        if any(not 0 <= d <= 6 for d in self.days):
            raise ValueError("days are 0 (Monday) to 6 (Sunday)")
        return self

    def span_min(self) -> int:
        """How long the schedule runs each day (minutes; past midnight when end <= start)."""
        a = self.start.hour * 60 + self.start.minute
        b = self.end.hour * 60 + self.end.minute
        return (b - a) % (24 * 60) or 24 * 60


class RouteStop(_Strict):
    """One checkpoint of a route and its window from the tour's start (minutes)."""

    checkpoint: str = Field(pattern=ID)
    min: int = Field(default=0, ge=0, le=24 * 60)
    max: int = Field(ge=1, le=24 * 60)

    @model_validator(mode="after")
    def _check(self) -> RouteStop:
        if self.max <= self.min:
            raise ValueError(f"{self.checkpoint}: max ({self.max} min) must be after min ({self.min} min)")
        return self


class Route(_Strict):
    """A patrol route (巡查路线)."""

    id: str = Field(pattern=ID)
    name: str = Field(min_length=1, max_length=80)
    name_zh: str | None = Field(default=None, max_length=80)
    ordered: bool = True
    schedule: TourSchedule
    limit_min: int = Field(ge=1, le=24 * 60)  # the whole tour, from its start
    silent_after_min: int = Field(default=20, ge=1, le=24 * 60)  # a guard silent this long mid-tour: lone-worker alarm
    priority: Priority = "medium"  # supervisory by default; the guard-silent alarm is one step higher
    stops: list[RouteStop] = Field(min_length=1, max_length=100)

    @model_validator(mode="after")
    def _check(self) -> Route:
        seen: set[str] = set()
        for stop in self.stops:
            if stop.checkpoint in seen:
                raise ValueError(f"checkpoint {stop.checkpoint!r} is on the route twice")
            seen.add(stop.checkpoint)
            if stop.max > self.limit_min:
                raise ValueError(f"{stop.checkpoint}: its window ends after the tour's limit ({self.limit_min} min)")
        if self.limit_min > self.schedule.every_min * 4:
            raise ValueError("a tour may not last longer than four of its intervals")
        return self


def route_problems(routes: list[Route], checkpoints: set[str]) -> None:
    """Refuse (ValueError) a site's routes with a repeated id or a stop that is not one of its checkpoints."""
    seen: set[str] = set()
    for route in routes:
        if route.id in seen:
            raise ValueError(f"route id {route.id!r} is used twice")
        seen.add(route.id)
        unknown = [st.checkpoint for st in route.stops if st.checkpoint not in checkpoints]
        if unknown:
            raise ValueError(f"route {route.id}: {', '.join(unknown)} is not a checkpoint of this site")


def due_times(schedule: TourSchedule, tz: str, start: datetime, end: datetime) -> Iterator[datetime]:
    """Every scheduled tour start in [start, end), as aware datetimes, in order."""
    zone = ZoneInfo(tz)
    day = start.astimezone(zone).date() - timedelta(days=1)  # a night that began yesterday
    last = end.astimezone(zone).date()
    span = timedelta(minutes=schedule.span_min())
    step = timedelta(minutes=schedule.every_min)
    while day <= last:
        if day.weekday() in schedule.days:
            first = datetime.combine(day, schedule.start, zone)
            offset = timedelta(0)
            while offset < span:
                # wall-clock arithmetic in the campus zone (no DST in China; correct elsewhere too)
                at = (first.replace(tzinfo=None) + offset).replace(tzinfo=zone)
                if start <= at < end:
                    yield at
                offset += step
        day += timedelta(days=1)
