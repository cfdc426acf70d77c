"""Rollups for trends: the numbers a hand calculation gives, late data included."""

import json
from datetime import UTC, datetime, timedelta

import psycopg

from ingest.db import rollups
from ingest.mqtt.contract import format_ts
from tests.conftest import wait_until
from tests.integration.helpers import materialise, publish_all, publisher, running_ingest, scalar

BASE = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)  # a bucket boundary for 5 min and 1 h


def _lab(i, minutes, value):
    return (
        "campus/v1/roll/lab/roll-1",
        {"event_id": f"r{i}", "ts": format_ts(BASE + timedelta(minutes=minutes)), "readings": {"temperature_c": value}},
    )


RETENTION = timedelta(days=400)


def test_five_minute_and_hourly_rollups_match_a_hand_calculation(make_settings, db_url, db_mode, mqtt_url):
    # 10:00-10:05 -> 1, 2, 3 ; 10:05-10:10 -> 10 ; 11:00 -> 7 (eleven days ago and more: past
    # every TimescaleDB refresh policy's window)
    msgs = [_lab(0, 0, 1), _lab(1, 1, 2), _lab(2, 4.5, 3), _lab(3, 5, 10), _lab(4, 60, 7)]
    with running_ingest(make_settings()), publisher(mqtt_url) as pub:
        publish_all(pub, msgs[:3] + msgs[4:])
        wait_until(lambda: scalar(db_url, "SELECT count(*) FROM readings WHERE sensor_id = 'roll-1'") == 4, 10)
        with psycopg.connect(db_url) as conn:
            assert rollups.refresh(conn, db_mode, RETENTION)
        materialise(db_url, db_mode)  # TimescaleDB: as if the policies had run; what follows is late
        publish_all(pub, [msgs[3]])  # arrives late, for an older bucket
        wait_until(lambda: scalar(db_url, "SELECT count(*) FROM readings WHERE sensor_id = 'roll-1'") == 5, 10)
    with psycopg.connect(db_url) as conn:
        assert rollups.refresh(conn, db_mode, RETENTION)
        assert not rollups.refresh(conn, db_mode, RETENTION)  # nothing new since
        five = conn.execute(
            "SELECT bucket, avg, min, max, n FROM readings_5m WHERE sensor_id = 'roll-1' ORDER BY 1"
        ).fetchall()
        hour = conn.execute(
            "SELECT bucket, avg, min, max, n FROM readings_1h WHERE sensor_id = 'roll-1' ORDER BY 1"
        ).fetchall()
        ev = conn.execute("SELECT bucket, n FROM events_1h WHERE building_id = 'roll' ORDER BY 1").fetchall()
    assert five == [
        (BASE, 2.0, 1.0, 3.0, 3),
        (BASE + timedelta(minutes=5), 10.0, 10.0, 10.0, 1),
        (BASE + timedelta(hours=1), 7.0, 7.0, 7.0, 1),
    ]
    assert hour == [(BASE, 4.0, 1.0, 10.0, 4), (BASE + timedelta(hours=1), 7.0, 7.0, 7.0, 1)]
    assert ev == [(BASE, 4), (BASE + timedelta(hours=1), 1)]


def test_a_refresh_in_progress_never_holds_up_ingest_and_misses_nothing(db_url, db_mode):
    """Writers append markers while a refresh runs; a second refresher stands aside; a round
    that dies half-way loses nothing: the next one takes its buckets and the new ones."""
    from ingest.db import locks
    from ingest.db import queries as q
    from ingest.db.pool import open_pool
    from ingest.mqtt.contract import decode
    from ingest.service.writer import BatchWriter

    def batch(first: int, minutes: float) -> list:
        return [
            decode(
                "campus/v1/rollw/lab/rollw-1",
                json.dumps(
                    {
                        "event_id": f"w{first + i}",
                        "ts": format_ts(BASE + timedelta(minutes=minutes)),
                        "readings": {"temperature_c": 5.0},
                    }
                ).encode(),
                datetime.now(UTC),
            )
            for i in range(3)
        ]

    pool = open_pool(db_url, max_size=1, name="test-rollup-writer")
    try:
        writer = BatchWriter(pool, "test-rollup-writer")
        writer.write(batch(0, 2), [])
        materialise(db_url, db_mode)  # TimescaleDB: the bucket is materialised, the next batch is late
        with psycopg.connect(db_url) as dying:
            if db_mode == "postgresql":
                dying.execute("SELECT 1")  # an open transaction: the refresh below stays uncommitted
                assert rollups.refresh(dying, db_mode, RETENTION) == 1
            else:  # refreshes commit as they go: a round that claimed its rows and died before the end
                dying.autocommit = True
                dying.execute(q.TRY_REFRESH_SESSION_LOCK, {"key": locks.ROLLUP_REFRESH})
                assert len(dying.execute(q.CLAIM_DIRTY).fetchall()) >= 1
            with psycopg.connect(db_url) as other:
                assert not rollups.refresh(other, db_mode, RETENTION)  # one refresher at a time
            with pool.connection() as conn:
                conn.execute("SET lock_timeout = '2s'")  # a wait for the refresh would fail here
            writer.write(batch(10, 3), [])
            if db_mode == "postgresql":
                dying.rollback()  # the long refresh ends without committing
        with psycopg.connect(db_url) as conn:
            assert rollups.refresh(conn, db_mode, RETENTION) == 1  # the first batch's bucket, with the second's
            conn.commit()
            assert not rollups.refresh(conn, db_mode, RETENTION)
            row = conn.execute("SELECT avg, n FROM readings_5m WHERE sensor_id = 'rollw-1'").fetchone()
            n = conn.execute("SELECT n FROM events_1h WHERE building_id = 'rollw'").fetchone()
            left = conn.execute("SELECT count(*) FROM rollup_dirty").fetchone()
    finally:
        pool.close()
    assert row == (5.0, 6) and n == (6,) and left == (0,)
