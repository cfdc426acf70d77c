"""The rules of a guard tour, driven by event time only (ingest.patrol.tours, ingest.core.patrols)."""

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from ingest.alarms.types import Clear, Raise
from ingest.core.patrols import Route, TourSchedule, due_times
from ingest.patrol import tours as T

DUE = datetime(2026, 12, 7, 14, 0, tzinfo=UTC).timestamp()  # 22:00 in Shanghai
MIN = 60.0


def tour(ordered=True, silent_min=15, limit_min=60):
    stops = [{"checkpoint": c, "min_s": int(lo * MIN), "max_s": int(hi * MIN)}
             for c, lo, hi in (("a", 0, 10), ("b", 10, 25), ("c", 20, 40))]
    return T.Tour(id=7, route="night", due=DUE, ends=DUE + limit_min * MIN, ordered=ordered,
                  silent_after_s=int(silent_min * MIN), priority="medium", stops=stops)


def kinds(placed):
    return [(cp, type(s).__name__, s.condition.split(":")[0]) for cp, s in placed]


def test_a_tour_walked_on_time_raises_nothing_and_completes():
    t = tour()
    for cp, m in (("a", 5), ("b", 15), ("c", 30)):
        verdict, placed = T.scan(t, cp, DUE + m * MIN, "guard1", "nfc")
        assert verdict == "on_time" and placed == []
        assert T.timers(t, DUE + (m + 1) * MIN) == []
    assert t.state == "completed" and t.guard == "guard1" and t.finished_at == DUE + 30 * MIN
    assert T.timers(t, DUE + 2 * 3600) == [] and t.timer() is None
    assert T.summary(t)["on_time"] == 3


def test_early_and_out_of_sequence_are_momentary_alarms_at_the_checkpoint():
    t = tour()
    verdict, placed = T.scan(t, "b", DUE + 2 * MIN, "g", "nfc")  # before its window, and before 'a'
    assert verdict == "early"
    assert kinds(placed) == [("b", "Raise", "patrol_early"), ("b", "Clear", "patrol_early")]
    t2 = tour()
    T.scan(t2, "a", DUE + 1 * MIN, "g", "nfc")
    verdict, placed = T.scan(t2, "c", DUE + 22 * MIN, "g", "nfc")  # in its window, but 'b' first
    assert verdict == "out_of_sequence"
    assert kinds(placed) == [("c", "Raise", "patrol_sequence"), ("c", "Clear", "patrol_sequence")]
    assert placed[0][1].text.params["expected"] == "b"


def test_an_unordered_route_takes_checkpoints_in_any_order():
    t = tour(ordered=False)
    T.scan(t, "a", DUE + 1 * MIN, "g", "nfc")
    verdict, placed = T.scan(t, "c", DUE + 22 * MIN, "g", "nfc")
    assert verdict == "on_time" and placed == []


def test_late_is_raised_when_the_window_closes_and_cleared_by_the_scan():
    t = tour(silent_min=60)
    T.scan(t, "a", DUE + 5 * MIN, "g", "nfc")
    assert T.timers(t, DUE + 24 * MIN) == []
    placed = T.timers(t, DUE + 25 * MIN)
    assert kinds(placed) == [("b", "Raise", "patrol_late")]
    assert placed[0][1].at == datetime.fromtimestamp(DUE + 25 * MIN, tz=UTC)  # at the window's end, not "now"
    assert T.timers(t, DUE + 26 * MIN) == []  # raised once
    verdict, placed = T.scan(t, "b", DUE + 28 * MIN, "g", "nfc")
    assert verdict == "late" and kinds(placed) == [("b", "Clear", "patrol_late")]


def test_a_late_scan_the_timer_has_not_seen_yet_is_still_on_record():
    t = tour()
    T.scan(t, "a", DUE + 5 * MIN, "g", "nfc")
    verdict, placed = T.scan(t, "b", DUE + 30 * MIN, "g", "nfc")
    assert verdict == "late"
    assert kinds(placed) == [("b", "Raise", "patrol_late"), ("b", "Clear", "patrol_late")]


def test_a_tour_nobody_started_raises_one_late_then_one_missed():
    t = tour()
    placed = T.timers(t, DUE + 45 * MIN)
    assert kinds(placed) == [("a", "Raise", "patrol_late")]  # not one per checkpoint
    placed = T.timers(t, DUE + 60 * MIN)
    assert kinds(placed) == [("a", "Clear", "patrol_late"), ("a", "Raise", "patrol_missed")]
    assert placed[1][1].text.params["missed"] == 3 and t.state == "incomplete"
    assert T.summary(t)["missed"] == 3 and t.timer() is None


def test_missed_checkpoints_at_the_tour_limit_and_an_offline_wand_upload_clears_them():
    t = tour()
    T.scan(t, "a", DUE + 5 * MIN, "g", "nfc")
    T.timers(t, DUE + 25 * MIN)  # b late
    placed = T.timers(t, DUE + 60 * MIN)  # event time jumps past c's window and the limit at once
    assert kinds(placed) == [("c", "Raise", "patrol_late"), ("b", "Clear", "patrol_late"),
                             ("c", "Clear", "patrol_late"), ("b", "Raise", "patrol_missed")]
    assert [s.at.timestamp() for _cp, s in placed] == [DUE + 40 * MIN, DUE + 60 * MIN, DUE + 60 * MIN,
                                                       DUE + 60 * MIN]  # each at its own time
    assert placed[-1][1].text.params["missed"] == 2
    # the wand uploads after the round: b and c were scanned in time after all
    assert T.reopen_for_upload(t, "b", DUE + 15 * MIN)
    assert T.scan(t, "b", DUE + 15 * MIN, "g", "nfc")[0] == "on_time"
    assert t.state == "incomplete"
    verdict, placed = T.scan(t, "c", DUE + 30 * MIN, "g", "nfc")
    assert verdict == "on_time" and kinds(placed) == [("b", "Clear", "patrol_missed")]
    assert t.state == "completed" and T.summary(t)["missed"] == 0
    assert not T.reopen_for_upload(t, "c", DUE + 30 * MIN)  # done: nothing reopens
    assert not T.reopen_for_upload(tour(), "a", DUE + 2 * 3600)


def test_a_jump_in_event_time_past_every_deadline_still_fires_each_at_its_time():
    t = tour(silent_min=15)
    T.scan(t, "a", DUE + 5 * MIN, "g", "nfc")
    placed = T.timers(t, DUE + 3 * 3600)  # a backlog stored in one batch: hours of event time at once
    got = [(cp, type(s).__name__, s.condition.split(":")[0], s.at.timestamp()) for cp, s in placed]
    assert ("b", "Raise", "patrol_late", DUE + 25 * MIN) in got
    assert ("c", "Raise", "patrol_late", DUE + 40 * MIN) in got
    assert ("a", "Raise", "guard_silent", DUE + 20 * MIN) in got
    assert ("b", "Raise", "patrol_missed", DUE + 60 * MIN) in got


def test_a_guard_who_stops_reporting_raises_a_higher_priority_alarm_at_the_last_checkpoint():
    t = tour(silent_min=15, limit_min=120)
    T.scan(t, "a", DUE + 5 * MIN, "guard7", "nfc")
    assert [k for k in kinds(T.timers(t, DUE + 19 * MIN))] == []
    placed = T.timers(t, DUE + 20 * MIN)
    silent = [p for p in placed if p[1].condition.startswith("guard_silent")]
    assert silent and silent[0][0] == "a" and isinstance(silent[0][1], Raise)
    assert silent[0][1].priority == "high" and silent[0][1].text.params["guard"] == "guard7"
    _verdict, placed = T.scan(t, "b", DUE + 27 * MIN, "guard7", "nfc")
    assert ("a", "Clear", "guard_silent") in kinds(placed)


def test_a_repeat_scan_changes_nothing_and_a_stranger_checkpoint_is_not_on_the_route():
    t = tour()
    T.scan(t, "a", DUE + 5 * MIN, "g", "nfc")
    assert T.scan(t, "a", DUE + 6 * MIN, "g", "nfc") == ("repeat", [])
    assert T.scan(t, "zz", DUE + 6 * MIN, "g", "nfc") == ("not_on_route", [])


def test_timer_says_when_to_look_next():
    t = tour()
    assert t.timer() == DUE + 10 * MIN  # the first checkpoint's window
    T.scan(t, "a", DUE + 5 * MIN, "g", "nfc")
    assert t.timer() == min(DUE + 25 * MIN, DUE + 5 * MIN + 15 * MIN)


def test_clears_and_raises_carry_event_time_never_the_wall_clock():
    t = tour()
    placed = T.timers(t, DUE + 10 * MIN)
    assert all(s.at.timestamp() <= DUE + 10 * MIN for _cp, s in placed)
    assert all(isinstance(s, Raise | Clear) for _cp, s in placed)


def test_schedule_over_midnight_in_campus_time():
    s = TourSchedule(start="22:00", end="06:00", every_min=120)
    start = datetime(2026, 12, 7, 0, 0, tzinfo=UTC)  # 08:00 in Shanghai
    got = [d.astimezone().isoformat() for d in due_times(s, "Asia/Shanghai", start, start.replace(day=8))]
    local = [d.isoformat() for d in due_times(s, "Asia/Shanghai", start, start.replace(day=8))]
    assert len(got) == 4
    assert local[0].startswith("2026-12-07T22:00:00+08:00") and local[-1].startswith("2026-12-08T04:00:00+08:00")


def test_schedule_days_and_route_checks():
    weekdays = TourSchedule(start="08:00", end="20:00", every_min=360, days=[0, 1, 2, 3, 4])
    sunday = datetime(2026, 12, 6, 0, 0, tzinfo=UTC)
    assert list(due_times(weekdays, "Asia/Shanghai", sunday, sunday.replace(hour=15))) == []
    stops = [{"checkpoint": "a", "max": 10}]
    with pytest.raises(ValidationError, match="twice"):
        Route(id="r", name="R", schedule=weekdays, limit_min=30, stops=stops * 2)
    with pytest.raises(ValidationError, match="after the tour's limit"):
        Route(id="r", name="R", schedule=weekdays, limit_min=5, stops=stops)
    with pytest.raises(ValidationError, match="must be after min"):
        Route(id="r", name="R", schedule=weekdays, limit_min=30, stops=[{"checkpoint": "a", "min": 10, "max": 5}])
