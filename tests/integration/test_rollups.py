"""Rollups for trends: the numbers a hand calculation gives, late data included."""

from datetime import UTC, datetime, timedelta

import psycopg

from ingest.contract import format_ts
from ingest.db import rollups
from tests.conftest import wait_until
from tests.integration.helpers import publish_all, publisher, running_ingest, scalar

BASE = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)  # a bucket boundary for 5 min and 1 h


def _lab(i, minutes, value):
    return ("campus/v1/roll/lab/roll-1", {"event_id": f"r{i}", "ts": format_ts(BASE + timedelta(minutes=minutes)),
                                          "readings": {"temperature_c": value}})


def test_five_minute_and_hourly_rollups_match_a_hand_calculation(make_settings, db_url, mqtt_url):
    # 10:00-10:05 -> 1, 2, 3 ; 10:05-10:10 -> 10 ; 11:00 -> 7
    msgs = [_lab(0, 0, 1), _lab(1, 1, 2), _lab(2, 4.5, 3), _lab(3, 5, 10), _lab(4, 60, 7)]
    with running_ingest(make_settings()), publisher(mqtt_url) as pub:
        publish_all(pub, msgs[:3] + msgs[4:])
        wait_until(lambda: scalar(db_url, "SELECT count(*) FROM readings WHERE sensor_id = 'roll-1'") == 4, 10)
        with psycopg.connect(db_url) as conn:
            assert rollups.refresh(conn, "postgresql")
        publish_all(pub, [msgs[3]])  # arrives late, for an older bucket
        wait_until(lambda: scalar(db_url, "SELECT count(*) FROM readings WHERE sensor_id = 'roll-1'") == 5, 10)
    with psycopg.connect(db_url) as conn:
        assert rollups.refresh(conn, "postgresql")
        assert not rollups.refresh(conn, "postgresql")  # nothing new since
        five = conn.execute("SELECT bucket, avg, min, max, n FROM readings_5m WHERE sensor_id = 'roll-1' ORDER BY 1").fetchall()
        hour = conn.execute("SELECT bucket, avg, min, max, n FROM readings_1h WHERE sensor_id = 'roll-1' ORDER BY 1").fetchall()
        ev = conn.execute("SELECT bucket, n FROM events_1h WHERE building_id = 'roll' ORDER BY 1").fetchall()
    assert five == [(BASE, 2.0, 1.0, 3.0, 3), (BASE + timedelta(minutes=5), 10.0, 10.0, 10.0, 1),
                    (BASE + timedelta(hours=1), 7.0, 7.0, 7.0, 1)]
    assert hour == [(BASE, 4.0, 1.0, 10.0, 4), (BASE + timedelta(hours=1), 7.0, 7.0, 7.0, 1)]
    assert ev == [(BASE, 4), (BASE + timedelta(hours=1), 1)]
