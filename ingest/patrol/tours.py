"""The rules of a guard tour, pure and driven by event time (docs/patrols.md).

A tour starts at its scheduled time (``due``); checkpoint *i* is on time when scanned within
``[due + min_i, due + max_i]``. What a tour raises, each at the checkpoint where someone should
look (the alarm's place):

- ``patrol_late``: a checkpoint's window closed without a scan (before the first scan only the
  first checkpoint waits, so a tour nobody started raises one alarm, not one per checkpoint);
  a later scan clears it (the visit is *late*).
- ``patrol_early`` / ``patrol_sequence``: a scan before its window, or (ordered routes) before an
  earlier checkpoint; momentary (raised and returned at once: an officer acknowledges it).
- ``patrol_missed``: the tour's limit passed with checkpoints unscanned (漏检); one alarm per tour
  at the first missed checkpoint, listing how many; the late alarms it supersedes clear. A scan
  uploaded afterwards from an offline wand (event time inside the tour) still counts, and the
  alarm clears when nothing is missed any more.
- ``guard_silent``: a tour under way and no scan from it for ``silent_after_s`` (lone worker):
  one priority step higher, at the guard's last checkpoint; the next scan clears it.

Each function takes the tour and returns (checkpoint, Raise | Clear) pairs; the tour is updated
in place. Times are epoch seconds of event time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ingest.alarms.messages import Text
from ingest.alarms.types import Clear, Raise, Signal
from ingest.core.vocabulary import PRIORITIES

Placed = tuple[str, Signal]  # the checkpoint whose place the alarm has, and the signal
FAMILY = "patrol"
CONDITIONS = ("patrol_late", "patrol_early", "patrol_sequence", "patrol_missed", "guard_silent")


@dataclass
class Tour:
    """One tour of a route and what has happened on it (a row of ``tours``)."""

    id: int
    route: str
    due: float
    ends: float
    ordered: bool
    silent_after_s: int
    priority: str
    stops: list[dict[str, Any]]  # [{checkpoint, min_s, max_s}] in route order
    state: str = "planned"
    guard: str | None = None
    started_at: float | None = None
    finished_at: float | None = None
    last_at: float | None = None
    last_checkpoint: str | None = None
    visits: dict[str, dict[str, Any]] = field(default_factory=dict)
    raised: dict[str, str] = field(default_factory=dict)  # condition → checkpoint of an open tour alarm
    names: dict[str, str | None] = field(default_factory=dict)  # the route's name: {"en": …, "zh": …}

    def route_params(self) -> dict[str, Any]:
        """The route as an alarm text names it: its name in each language (its id without one)."""
        out: dict[str, Any] = {"route": self.names.get("en") or self.route}
        if self.names.get("zh"):
            out["route_zh"] = self.names["zh"]
        return out

    def condition(self, stem: str) -> str:
        """The alarm condition of this tour (one open alarm per checkpoint and condition)."""
        return f"{stem}:{self.id}"

    def visited(self, checkpoint: str) -> bool:
        """Whether the checkpoint has a visit that counts (not 'missed')."""
        v = self.visits.get(checkpoint)
        return v is not None and v["verdict"] != "missed"

    def unvisited(self) -> list[dict[str, Any]]:
        """The stops without a visit that counts, in route order."""
        return [s for s in self.stops if not self.visited(s["checkpoint"])]

    def timer(self) -> float | None:
        """The next event time at which ``timers`` may change something (None: nothing left)."""
        if self.state in ("completed",):
            return None
        out: list[float] = []
        if self.state != "incomplete":
            out.append(self.ends)
            for s in self._waiting():
                if self.condition("patrol_late") + ":" + s["checkpoint"] not in self.raised:
                    out.append(self.due + s["max_s"])
            if self.state == "running" and self.last_at is not None and "guard_silent" not in self.raised:
                out.append(self.last_at + self.silent_after_s)
        return min(out) if out else None

    def _waiting(self) -> list[dict[str, Any]]:
        """The stops whose window may raise 'late' now: all unscanned once started, else only the first."""
        todo = self.unvisited()
        if self.state == "planned" and todo:
            first = todo[0] if self.ordered else min(todo, key=lambda s: s["max_s"])
            return [first]
        return todo


def _at(t: float) -> datetime:
    return datetime.fromtimestamp(t, tz=UTC)


def _raise(tour: Tour, stem: str, at: float, text: Text, priority: str | None = None) -> Raise:
    return Raise(tour.condition(stem), FAMILY, priority or tour.priority, "supervisory", text, _at(at))  # type: ignore[arg-type]


def _higher(priority: str) -> str:
    return PRIORITIES[max(PRIORITIES.index(priority) - 1, 0)]


def scan(tour: Tour, checkpoint: str, at: float, guard: str | None, method: str) -> tuple[str, list[Placed]]:
    """A scan of ``checkpoint`` belonging to this tour: its verdict and the signals it gives.

    A second scan of a checkpoint already visited gives the verdict 'repeat' and changes nothing.
    """
    index = next((i for i, s in enumerate(tour.stops) if s["checkpoint"] == checkpoint), None)
    if index is None:
        return "not_on_route", []
    if tour.visited(checkpoint):
        return "repeat", []
    stop = tour.stops[index]
    out: list[Placed] = []
    if tour.state == "planned":
        tour.state, tour.started_at, tour.guard = "running", at, guard
    elif tour.started_at is None or at < tour.started_at:
        tour.started_at = at
    earlier = [s for s in tour.stops[:index] if not tour.visited(s["checkpoint"])] if tour.ordered else []
    params = tour.route_params() | {"time": _at(tour.due + stop["min_s"]).isoformat(),
              "until": _at(tour.due + stop["max_s"]).isoformat()}
    late_key = tour.condition("patrol_late")
    late = at > tour.due + stop["max_s"]
    if at < tour.due + stop["min_s"]:
        verdict = "early"
        out += _momentary(tour, "patrol_early", checkpoint, at, Text("patrol_early", params))
    elif earlier:
        verdict = "out_of_sequence"
        out += _momentary(tour, "patrol_sequence", checkpoint, at,
                          Text("patrol_sequence", params | {"expected": earlier[0]["checkpoint"]}))
    else:
        verdict = "late" if late else "on_time"
    if tour.raised.pop(f"{late_key}:{checkpoint}", None) is not None:
        out.append((checkpoint, Clear(late_key, _at(at))))  # scanned at last (or an offline wand's upload)
    elif verdict == "late":  # scanned late before the timer noticed: still on record for an officer
        out += _momentary(tour, "patrol_late", checkpoint, at, Text("patrol_late", params))
    tour.visits[checkpoint] = {"at": at, "verdict": verdict, "method": method, "guard": guard}
    if tour.last_at is None or at >= tour.last_at:
        tour.last_at, tour.last_checkpoint = at, checkpoint
    silent = tour.raised.pop("guard_silent", None)
    if silent is not None:
        out.append((silent, Clear(tour.condition("guard_silent"), _at(at))))
    if not tour.unvisited():
        tour.finished_at = max(v["at"] for v in tour.visits.values())
        missed = tour.raised.pop("patrol_missed", None)
        if missed is not None:
            out.append((missed, Clear(tour.condition("patrol_missed"), _at(at))))
        tour.state = "completed"
    return verdict, out


def _momentary(tour: Tour, stem: str, checkpoint: str, at: float, text: Text) -> list[Placed]:
    return [(checkpoint, _raise(tour, stem, at, text)), (checkpoint, Clear(tour.condition(stem), _at(at)))]


def timers(tour: Tour, now: float) -> list[Placed]:
    """What the tour's clock gives at event time ``now``, in event-time order: when ``now`` jumps past
    several deadlines at once (a backlog stored in one batch), each still fires at its own time.
    """
    out: list[Placed] = []
    if tour.state in ("completed", "incomplete"):
        return out
    late_key = tour.condition("patrol_late")
    horizon = min(now, tour.ends)
    for s in tour._waiting():
        key = f"{late_key}:{s['checkpoint']}"
        due = tour.due + s["max_s"]
        if horizon >= due and key not in tour.raised:
            tour.raised[key] = s["checkpoint"]
            params = tour.route_params() | {"until": _at(due).isoformat()}
            out.append((s["checkpoint"], _raise(tour, "patrol_late", due, Text("patrol_late", params))))
    if (tour.state == "running" and tour.last_at is not None and "guard_silent" not in tour.raised
            and horizon >= tour.last_at + tour.silent_after_s and tour.last_checkpoint):
        tour.raised["guard_silent"] = tour.last_checkpoint
        text = Text("guard_silent", tour.route_params() | {"guard": tour.guard or "?",
                                                           "since": _at(tour.last_at).isoformat()})
        out.append((tour.last_checkpoint,
                    _raise(tour, "guard_silent", tour.last_at + tour.silent_after_s, text, _higher(tour.priority))))
    if now >= tour.ends:
        todo = tour.unvisited()
        if not todo:
            tour.state = "completed"
            return out
        for key in [k for k in tour.raised if k.startswith(late_key + ":")]:
            out.append((tour.raised.pop(key), Clear(late_key, _at(tour.ends))))
        for s in todo:
            tour.visits[s["checkpoint"]] = {"at": None, "verdict": "missed", "method": None, "guard": None}
        tour.state = "incomplete"
        first = todo[0]["checkpoint"]
        names = ", ".join(s["checkpoint"] for s in todo[:10])
        text = Text("patrol_missed", tour.route_params() | {"missed": len(todo), "total": len(tour.stops),
                                                            "checkpoints": names})
        tour.raised["patrol_missed"] = first
        out.append((first, _raise(tour, "patrol_missed", tour.ends, text)))
    return out


def reopen_for_upload(tour: Tour, checkpoint: str, at: float) -> bool:
    """Whether a scan at ``at`` (event time) of an already closed, incomplete tour still counts.

    An offline wand uploads after the round: a scan inside the tour's time replaces a 'missed'.
    """
    return (tour.state == "incomplete" and tour.due - EARLY_GRACE_S <= at <= tour.ends
            and checkpoint in {s["checkpoint"] for s in tour.stops} and not tour.visited(checkpoint))


EARLY_GRACE_S = 15 * 60  # a scan this long before a tour's start still belongs to it (as 'early')


def summary(tour: Tour) -> dict[str, int]:
    """Counts per verdict (for reports): on_time, early, late, out_of_sequence, missed."""
    out = {"on_time": 0, "early": 0, "late": 0, "out_of_sequence": 0, "missed": 0}
    for v in tour.visits.values():
        out[v["verdict"]] = out.get(v["verdict"], 0) + 1
    return out
