"""Which buckets a TimescaleDB refresh covers, and how far back the policies may reach."""

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from ingest.db.rollups import AGGREGATES, ORIGIN, bucket_of, dirty_buckets, policy_window, windows

T = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
M5, H1 = timedelta(minutes=5), timedelta(hours=1)


def test_buckets_are_time_buckets_of_the_same_origin():
    assert ORIGIN.weekday() == 0  # time_bucket's origin, a Monday
    assert bucket_of(T + timedelta(minutes=7, seconds=3)) == T + M5
    assert bucket_of(T - timedelta(seconds=1)) == T - M5
    assert bucket_of(T + timedelta(minutes=59), H1) == T


@settings(max_examples=300, deadline=None)
@given(st.lists(st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2200, 1, 1), timezones=st.just(UTC)),
                max_size=40),
       st.sampled_from([timedelta(0), timedelta(microseconds=-1), timedelta(microseconds=1)]))
def test_a_batch_marks_the_bucket_of_every_instant_it_holds(times, nudge):
    """The batch's buckets, found a second at a time, are those of its every instant (each also moved
    next to a bucket's edge: the last microsecond before it, the edge itself, the one after).
    """
    edged = [bucket_of(t) + nudge for t in times]
    assert dirty_buckets(times + edged) == sorted({bucket_of(t) for t in times + edged})


@settings(max_examples=300, deadline=None)
@given(st.lists(st.datetimes(min_value=datetime(2026, 12, 1, 7, 50), max_value=datetime(2026, 12, 1, 8, 10),
                             timezones=st.just(UTC)), max_size=40),
       st.sampled_from([timedelta(0), timedelta(microseconds=-1), timedelta(microseconds=1)]))
def test_a_batch_within_a_few_buckets_marks_exactly_the_buckets_it_holds(times, nudge):
    """A live batch lies in one or two buckets (found from its first and last time); one spread over
    more marks only the buckets it holds, not those between (here: up to five buckets, edges included).
    """
    edged = [bucket_of(t) + nudge for t in times[::3]]
    assert dirty_buckets(times + edged) == sorted({bucket_of(t) for t in times + edged})


def test_contiguous_buckets_make_one_window_and_nothing_past_the_watermark_or_the_retention():
    marked = [T, T + M5, T + 2 * M5, T + 6 * M5, T + 20 * M5, T - 3 * M5]
    assert windows(marked, M5, below=T + 20 * M5, after=T - 2 * M5) == [(T, T + 3 * M5), (T + 6 * M5, T + 7 * M5)]
    # hourly: every 5-minute bucket of an hour is one refresh of that hour
    assert windows(marked, H1, below=T + 3 * H1, after=T - H1) == [(T - H1, T + 2 * H1)]
    assert windows(marked, H1, below=T + H1, after=T) == [(T, T + H1)]  # the next hour is not materialised yet
    assert windows([], M5, below=T, after=ORIGIN) == []


def test_policy_windows_stay_inside_the_retention_period():
    by_view = {a.view: a for a in AGGREGATES}
    for days in (1, 2, 3, 7, 30, 400):
        retention = timedelta(days=days)
        for agg in AGGREGATES:
            window = policy_window(agg, retention)
            assert window > agg.end_offset + agg.width  # TimescaleDB wants two buckets at least
            if agg.retained and retention > agg.end_offset + 3 * agg.width:
                assert window <= retention - agg.width, (agg.view, days)
    assert policy_window(by_view["events_1h"], timedelta(days=400)) == timedelta(days=7)
    assert policy_window(by_view["events_1h"], timedelta(days=3)) == timedelta(days=3) - H1
    assert policy_window(by_view["alarm_activity_10m"], timedelta(days=1)) == timedelta(days=30)  # not pruned
