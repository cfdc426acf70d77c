"""The order a batch's events reach the alarm rules: by rule time, then sensor, arrival kept."""

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from ingest.mqtt.contract import Event
from ingest.service.writer import in_rules_order

T = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)


def _event(n: int, sensor: str, ms: int) -> Event:
    at = T + timedelta(milliseconds=ms)
    return Event("campus/v1/b/lab/" + sensor, "b", "lab", sensor, f"e{n}", at, at, {})


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["s1", "s2", "s3", "a9"]), st.integers(0, 6)), max_size=60))
def test_events_are_ordered_by_time_then_sensor_and_arrival_within_one(spec):
    """Many events share an instant (a millisecond clock, several sensors): the order is that of the
    key (time, sensor), stable, whatever runs of equal times the batch holds and wherever they are.
    """
    events = [_event(n, sensor, ms) for n, (sensor, ms) in enumerate(spec)]
    expected = sorted(events, key=lambda e: (e.at, e.sensor_id))
    in_rules_order(events)
    assert [e.event_id for e in events] == [e.event_id for e in expected]
