"""Due and overdue checks: calendar periods in campus time (ingest.core.periods)."""

from datetime import UTC, datetime, timedelta

import pytest

from ingest.core.periods import detector_test_overdue, period, status

TZ = "Asia/Shanghai"


def sh(*args):
    """An instant given as Shanghai wall-clock time."""
    from zoneinfo import ZoneInfo

    return datetime(*args, tzinfo=ZoneInfo(TZ))


@pytest.mark.parametrize(("frequency", "at", "start", "end"), [
    ("daily", sh(2026, 3, 31, 23, 30), sh(2026, 3, 31), sh(2026, 4, 1)),
    ("weekly", sh(2026, 12, 6, 12), sh(2026, 11, 30), sh(2026, 12, 7)),  # a Sunday: its Monday-based week
    ("monthly", sh(2026, 12, 31, 23, 59), sh(2026, 12, 1), sh(2027, 1, 1)),
    ("monthly", sh(2026, 2, 10), sh(2026, 2, 1), sh(2026, 3, 1)),
    ("quarterly", sh(2026, 6, 30, 20), sh(2026, 4, 1), sh(2026, 7, 1)),
    ("quarterly", sh(2026, 11, 5), sh(2026, 10, 1), sh(2027, 1, 1)),
    ("yearly", sh(2026, 7, 1), sh(2026, 1, 1), sh(2027, 1, 1)),
])
def test_periods_are_calendar_periods_in_campus_time(frequency, at, start, end):
    assert period(frequency, at, TZ) == (start, end)
    # the same instant given in UTC (a server on UTC) falls in the same campus period
    assert period(frequency, at.astimezone(UTC), TZ) == (start, end)


def test_a_check_late_on_the_last_evening_counts_for_its_campus_day_not_the_utc_one():
    evening = sh(2026, 3, 31, 23, 30)  # 15:30 UTC on the 31st; a UTC server would agree, a UTC+9 one not
    assert period("monthly", evening, TZ)[0].month == 3
    assert period("monthly", evening, "Asia/Tokyo")[0].month == 4


def test_done_due_and_overdue():
    since = sh(2026, 1, 1)
    now = sh(2026, 5, 20)
    assert status("monthly", [sh(2026, 5, 3)], since, now, TZ).state == "done"
    due = status("monthly", [sh(2026, 4, 29)], since, now, TZ)
    assert due.state == "due" and due.period_end == sh(2026, 6, 1)
    late = status("monthly", [sh(2026, 3, 15)], since, now, TZ)
    assert late.state == "overdue" and late.overdue_since == sh(2026, 5, 1)
    assert status("quarterly", [sh(2026, 2, 1)], since, now, TZ).state == "due"  # Q1 done, Q2 runs to 1 July
    assert status("quarterly", [], since, now, TZ).state == "overdue"  # the plan ran all of Q1 without one


def test_a_new_plan_is_not_overdue_for_periods_before_it_began():
    now = sh(2026, 5, 20)
    assert status("monthly", [], sh(2026, 4, 10), now, TZ).state == "due"  # it ran only part of April
    assert status("monthly", [], sh(2026, 4, 1), now, TZ).state == "overdue"  # all of April, nothing done
    assert status("yearly", [], sh(2026, 5, 1), now, TZ).state == "due"


def test_a_detector_test_is_overdue_after_a_year():
    now = datetime(2026, 12, 7, tzinfo=UTC)
    assert detector_test_overdue(now - timedelta(days=366), now - timedelta(days=900), now)
    assert not detector_test_overdue(now - timedelta(days=300), now - timedelta(days=900), now)
    assert detector_test_overdue(None, now - timedelta(days=400), now)
    assert not detector_test_overdue(None, now - timedelta(days=30), now)
