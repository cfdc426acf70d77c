import itertools
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from ingest.core.site import SiteError
from ingest.core.sitefile import load_site
from ingest.mqtt.contract import decode, encode
from sensors_sim.life import CampusLife, door_rate_per_hour


def test_demo_campus_matches_the_brief():
    site = load_site()
    kinds = Counter(s.kind for s in site.sensors)
    assert 10 <= len(site.buildings) <= 14
    assert 550 <= len(site.sensors) <= 650
    assert 370 <= kinds["smoke"] <= 430 and 100 <= kinds["door"] <= 140 and 70 <= kinds["lab"] <= 90
    assert len(site.departments) >= 5
    assert len({s.id for s in site.sensors}) == len(site.sensors)


def _write(tmp_path, text):
    p = tmp_path / "site.yaml"
    p.write_text(text)
    return p


BASE = """
name: t
departments: [{id: d, name: D}]
buildings:
  - id: b
    name: B
    use: lab
    department: d
    floors: 2
    outline: [[0, 0], [10, 0], [10, 10]]
    rooms:
      - {id: r1, name: R1, floor: 1, use: lab, sensors: [%s]}
"""


@pytest.mark.parametrize(
    ("sensors", "message"),
    [
        ("{kind: lab}", "a lab sensor needs metrics"),
        ("{kind: lab, metrics: [radon]}", "unknown metrics"),
        ("{kind: smoke, colour: red}", "colour: Extra inputs are not permitted"),
        ("{kind: smoke, id: s1}, {kind: door, id: s1}", "sensor id 's1' is used twice"),
        ("{kind: smoke, id: s1, count: 2}", "either an id or a count"),
    ],
)
def test_invalid_site_files_say_where_and_why(tmp_path, sensors, message):
    with pytest.raises(SiteError) as err:
        load_site(_write(tmp_path, BASE % sensors))
    assert message in str(err.value)
    assert "site.yaml: invalid site file" in str(err.value)


def test_unknown_department_and_bad_floor(tmp_path):
    text = BASE.replace("department: d", "department: nope") % "{kind: smoke}"
    with pytest.raises(SiteError, match="unknown department 'nope'"):
        load_site(_write(tmp_path, text))
    text = BASE.replace("floor: 1", "floor: 5") % "{kind: smoke}"
    with pytest.raises(SiteError, match="floor 5 but b has 2 floors"):
        load_site(_write(tmp_path, text))


def test_count_expands_to_numbered_ids(tmp_path):
    site = load_site(_write(tmp_path, BASE % "{kind: smoke, count: 3}"))
    assert [s.id for s in site.sensors] == ["r1-smoke-1", "r1-smoke-2", "r1-smoke-3"]
    assert site.sensors[0].zone == "b-F1"


def test_same_seed_same_feed_and_every_message_is_valid():
    site = load_site()
    start = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
    a = list(itertools.islice(CampusLife(site, 7, start), 3000))
    b = list(itertools.islice(CampusLife(site, 7, start), 3000))
    c = list(itertools.islice(CampusLife(site, 8, start), 3000))
    assert a == b
    assert a != c
    assert all(x.ts <= y.ts for x, y in itertools.pairwise(a))
    for m in a:
        decode(m.topic, encode(m.payload), m.ts)


def test_every_sensor_heartbeats_within_its_interval():
    site = load_site()
    start = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
    life = CampusLife(site, 1, start)
    seen = set()
    for m in life:
        if (m.ts - start).total_seconds() > 301:
            break
        seen.add(m.topic.rsplit("/", 1)[1])
    # a checkpoint is passive: only a guard's scan on a round names it (the 10:00 day round starts here)
    assert seen - {s.id for s in site.sensors if s.kind == "checkpoint"} == {
        s.id for s in site.sensors if s.kind != "checkpoint"}


def test_door_timetable():
    weekday_lunch = datetime(2026, 11, 25, 12, 0)
    weekday_night = datetime(2026, 11, 25, 3, 0)
    sunday_noon = datetime(2026, 11, 29, 12, 0)
    class_change = datetime(2026, 11, 25, 9, 50)
    assert door_rate_per_hour(weekday_night) < door_rate_per_hour(sunday_noon) < door_rate_per_hour(weekday_lunch)
    assert door_rate_per_hour(class_change) > door_rate_per_hour(datetime(2026, 11, 25, 9, 20))


def test_the_site_files_zone_must_be_the_configured_campus_zone():
    from ingest.core.site import SiteError
    from ingest.core.sitefile import check_zone, load_site

    site = load_site(None)
    check_zone(site, "Asia/Shanghai")
    with pytest.raises(SiteError, match="SAFECAMPUS_SITE_TIMEZONE is UTC but the site file"):
        check_zone(site, "UTC")


def test_guards_walk_every_route_on_time_unless_told_to_fault():
    from ingest.core.patrols import due_times

    site = load_site()
    start = datetime(2026, 11, 25, 13, 30, tzinfo=UTC)  # 21:30 in Shanghai: the night rounds
    end = start + timedelta(hours=3)
    windows = {}
    for route in site.patrols:
        for due in due_times(route.schedule, site.timezone, start, end - timedelta(hours=1)):
            for stop in route.stops:
                windows.setdefault(stop.checkpoint, []).append(
                    (due + timedelta(minutes=stop.min), due + timedelta(minutes=stop.max)))

    def scans(faults):
        life = itertools.takewhile(lambda m: m.ts < end, CampusLife(site, 3, start, patrol_faults=faults))
        return [m for m in life if "/checkpoint/" in m.topic]

    def on_time(m):
        return any(lo <= m.ts <= hi for lo, hi in windows.get(m.topic.rsplit("/", 1)[1], []))

    calm = [m for m in scans(0.0) if m.ts < end - timedelta(hours=1)]
    assert calm and all(on_time(m) for m in calm) and {m.payload["card"] for m in calm} <= {"G-0001", "G-0002"}
    assert len(calm) == sum(len(w) for w in windows.values())
    faulty = [m for m in scans(0.5) if m.ts < end - timedelta(hours=1)]
    assert len(faulty) < len(calm) or not all(on_time(m) for m in faulty)
