from datetime import UTC, datetime, timedelta

import pytest

from ingest.core.site import SiteError
from ingest.core.sitefile import load_site
from sensors_sim.scenario import Scenario, events, load_scenario, shipped
from sensors_sim.verify import judge, start_time

SITE = load_site()
T0 = datetime(2026, 11, 25, 2, tzinfo=UTC)


def test_every_shipped_scenario_is_valid_and_names_real_sensors():
    names = {p.stem for p in shipped()}
    assert {
        "fire_lab_building",
        "forced_entry_night",
        "ammonia_leak",
        "fume_hood_failure",
        "gateway_outage",
        "alarm_flood",
        "fire_drill",
    } <= names
    for p in shipped():
        sc = load_scenario(p)
        sc.check_against(SITE)
        assert sc.expect


def test_events_are_ordered_deterministic_and_silence_means_silence():
    sc = load_scenario("gateway_outage")
    a, b = events(sc, SITE, T0), events(sc, SITE, T0)
    assert a == b and all(x.ts <= y.ts for x, y in zip(a, a[1:], strict=False))
    silent = [
        m
        for m in a
        if m.topic.endswith("/dorm1-1-smoke-1") and T0 + timedelta(seconds=60) <= m.ts < T0 + timedelta(seconds=1100)
    ]
    assert silent == []
    assert any("dorm1-4-smoke-1" in m.topic and m.ts > T0 + timedelta(seconds=1000) for m in a)


def test_ramps_and_drill_flags():
    sc = load_scenario("ammonia_leak")
    nh3 = [m.payload["readings"]["gas_ppm.NH3"] for m in events(sc, SITE, T0) if "readings" in m.payload]
    assert nh3[0] == 1 and max(nh3) == 60 and nh3 == sorted(nh3)
    drill = load_scenario("fire_drill")
    assert all(m.payload.get("drill") is True for m in events(drill, SITE, T0))


def test_invalid_scenarios_say_why(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nduration_s: 10\nsteps: [{at: 0, sensors: [a], smoke: smouldering}]\nexpect: []\n")
    with pytest.raises(SiteError, match="smoke must be one of"):
        load_scenario(bad)
    sc = Scenario.model_validate(
        {"name": "x", "duration_s": 10, "steps": [{"at": 0, "sensors": ["nope"], "smoke": "alarm"}], "expect": []}
    )
    with pytest.raises(SiteError, match="unknown sensors"):
        sc.check_against(SITE)


def test_judge_counts_expected_misses_and_unexpected():
    sc = load_scenario("fire_drill")
    start = T0
    alarms = [
        {
            "sensor_id": "lib-1-smoke-1",
            "condition": "fire",
            "priority": "critical",
            "drill": True,
            "confirmed": True,
            "raised_at": start + timedelta(seconds=1),
        },
        {
            "sensor_id": "lib-1-smoke-2",
            "condition": "fire",
            "priority": "critical",
            "drill": True,
            "confirmed": True,
            "raised_at": start + timedelta(seconds=40),
        },  # too late: expected within 25 s
        {
            "sensor_id": "lib-1-smoke-1",
            "condition": "smoke_fault",
            "priority": "medium",
            "drill": True,
            "confirmed": False,
            "raised_at": start,
        },
    ]
    outcomes, unexpected = judge(sc, alarms, start)
    assert [o.ok for o in outcomes] == [True, False]
    assert [a["condition"] for a in unexpected] == ["smoke_fault"]


def test_start_time_ends_the_scenario_about_now():
    sc = load_scenario("ammonia_leak")
    now = datetime(2026, 11, 29, tzinfo=UTC)
    start = start_time(sc, 100, now)
    # The last event is published after duration/speed seconds of wall time, stamped about then.
    assert start + timedelta(seconds=sc.duration_s) == now + timedelta(seconds=sc.duration_s / 100)
