"""ISA-18.2 KPIs checked against values worked out by hand."""

from datetime import UTC, datetime, timedelta

from dashboard.report.kpis import Activation, compute
from dashboard.report.weekly import week_bounds

T0 = datetime(2026, 11, 23, 0, 0, tzinfo=UTC)


def at(minutes, seconds=0):
    return T0 + timedelta(minutes=minutes, seconds=seconds)


def test_kpis_of_a_hand_made_day():
    acts = []
    # A flood: 12 alarms from 12 sources between 10:00 and 10:09 -> one 10-minute period over 10.
    acts += [Activation(at(600 + i * 0.75), f"s{i} fault", "low") for i in range(12)]
    # A chattering source: 3 activations within 60 s (and fleeting: each clears in 2 s).
    acts += [Activation(at(900, s), "door1 door_forced", "high", 2.0) for s in (0, 20, 40)]
    # Two medium alarms an hour apart from one source; one critical.
    acts += [
        Activation(at(1000), "gas1 gas_high:NH3", "medium", 300.0),
        Activation(at(1060), "gas1 gas_high:NH3", "medium"),
    ]
    acts += [Activation(at(1200), "smoke1 fire", "critical")]
    acts += [Activation(T0 + timedelta(days=1, minutes=5), "outside", "low")]  # after the period: not counted
    k = compute(acts, T0, T0 + timedelta(days=1), stale=1)
    assert k.total == 18
    assert k.per_10min_avg == round(18 / 144, 3) and k.per_10min_max == 12
    assert k.per_hour_avg == 0.75 and k.per_hour_max == 12
    assert k.flood_pct == round(100 / 144, 3) and k.flood_episodes == 1
    assert k.chattering == ["door1 door_forced"]
    assert k.fleeting == 3
    assert k.stale == 1
    # top-10 sources: door1 (3), gas1 (2), then 8 of the single ones -> 13 of 18
    assert k.top10[0] == ("door1 door_forced", 3) and k.top10[1] == ("gas1 gas_high:NH3", 2)
    assert k.top10_share_pct == round(100 * 13 / 18, 2)
    # priorities: low 12, medium 2, high 3 + critical 1 = 4
    assert k.priority_pct == {"low": round(1200 / 18, 2), "medium": round(200 / 18, 2), "high": round(400 / 18, 2)}


def test_an_empty_period_gives_zeros_not_errors():
    k = compute([], T0, T0 + timedelta(days=7))
    assert (k.total, k.per_10min_avg, k.per_10min_max, k.flood_pct, k.top10_share_pct) == (0, 0.0, 0, 0.0, 0.0)
    assert k.priority_pct == {"low": 0.0, "medium": 0.0, "high": 0.0}


def test_two_flood_episodes_are_counted_apart():
    acts = [Activation(at(m, s), f"x{s}", "low") for m in (0, 30) for s in range(11)]
    acts += [Activation(at(10, s), f"y{s}", "low") for s in range(11)]  # 00:10-00:20 floods too: one episode with 00:00
    k = compute(acts, T0, T0 + timedelta(hours=1))
    assert k.flood_episodes == 2 and k.flood_pct == 50.0


def test_week_bounds_default_to_last_week_in_local_time():
    label, start, end = week_bounds(None, today=datetime(2026, 11, 29).date())  # a Sunday
    assert label == "2026-W47" and start.isoformat() == "2026-11-16T00:00:00+08:00" and (end - start).days == 7
    assert week_bounds("2026-W48")[1].isoformat() == "2026-11-23T00:00:00+08:00"


def test_a_live_flood_starts_over_10_in_10_minutes_and_ends_with_hysteresis():
    from dashboard.report.kpis import flood_now

    t0 = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
    burst = [t0 + timedelta(seconds=10 * i) for i in range(11)]  # 11 alarms in 100 s
    assert flood_now(burst[:10], t0 + timedelta(minutes=2)) is None  # 10 is not a flood
    flood = flood_now(burst, t0 + timedelta(minutes=2))
    assert flood is not None and (flood.since, flood.count, flood.last_10min) == (t0, 11, 11)
    # Ten minutes on, the burst has left the window but 6 more came: still a flood (6 ≥ 5)...
    later = burst + [t0 + timedelta(minutes=9, seconds=i) for i in range(6)]
    still = flood_now(later, t0 + timedelta(minutes=12))
    assert still is not None and still.since == t0 and still.last_10min == 6 and still.count == 17
    # ...and at 4 in the last ten minutes it ends; 10 more in a burst later do not restart it.
    assert flood_now(later, t0 + timedelta(minutes=19, seconds=3)) is None
    calm = later + [t0 + timedelta(minutes=30, seconds=i) for i in range(10)]
    assert flood_now(calm, t0 + timedelta(minutes=31)) is None
    again = calm + [t0 + timedelta(minutes=31)]
    assert flood_now(again, t0 + timedelta(minutes=31)).since == t0 + timedelta(minutes=30)
    assert flood_now(again, t0 + timedelta(minutes=31)).per_minute == 1.1
