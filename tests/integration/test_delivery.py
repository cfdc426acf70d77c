"""Delivery guarantees through a real Mosquitto and real PostgreSQL: nothing lost, nothing twice."""

import secrets
import signal
import time

import psycopg

from tests.conftest import wait_until
from tests.integration.conftest import broker_url
from tests.integration.helpers import IngestProcess, running_ingest, scalar, stream


def _count(db_url, building):
    return scalar(db_url, "SELECT count(*) FROM events WHERE building_id = %s", (building,))


def _assert_exactly_once(db_url, building, n):
    with psycopg.connect(db_url) as conn:
        total, distinct = conn.execute(
            "SELECT count(*), count(DISTINCT event_id) FROM events WHERE building_id = %s", (building,)
        ).fetchone()
    assert (total, distinct) == (n, n)
    assert scalar(db_url, "SELECT count(*) FROM dead_letters WHERE topic LIKE %s", (f"campus/v1/{building}/%",)) == 0


def test_kill_9_mid_stream_then_restart_stores_every_message_once(db_url, own_broker, tmp_path):
    building, n = f"k{secrets.token_hex(3)}", 50_000
    url = broker_url(own_broker)
    ingest = IngestProcess(db_url, url, f"kill-{building}", "kill", tmp_path).start()
    thread, result = stream(url, building, n)
    wait_until(lambda: _count(db_url, building) >= 8_000, 60, 0.05, what="a fifth of the stream stored")
    ingest.kill9()
    at_kill = _count(db_url, building)
    assert at_kill < n, "the stream finished before the kill; the test proves nothing"
    thread.join(120)
    assert result["error"] is None and result["published"] == n
    ingest.start()
    try:
        wait_until(lambda: _count(db_url, building) >= n, 120, 0.2, what="the whole stream stored")
    finally:
        assert ingest.stop() == 0
    _assert_exactly_once(db_url, building, n)


def test_broker_restart_mid_stream_loses_nothing(db_url, own_broker, tmp_path):
    building, n = f"r{secrets.token_hex(3)}", 20_000
    url = broker_url(own_broker)
    ingest = IngestProcess(db_url, url, f"restart-{building}", "restart", tmp_path).start()
    try:
        thread, result = stream(url, building, n, client_id=f"pub-{building}")
        wait_until(lambda: _count(db_url, building) >= 3_000, 60, 0.05, what="part of the stream stored")
        own_broker._proc.send_signal(signal.SIGTERM)  # noqa: SLF001 - a clean broker restart
        own_broker._proc.wait(10)  # noqa: SLF001
        wait_until(lambda: ingest.health().get("broker") == "disconnected", 10, what="ingest to notice")
        own_broker.start()
        wait_until(lambda: ingest.health().get("broker") == "connected", 30, what="ingest to reconnect")
        thread.join(180)
        assert result["error"] is None and result["published"] == n
        wait_until(lambda: _count(db_url, building) >= n, 120, 0.2, what="the whole stream stored")
    finally:
        assert ingest.stop() == 0
    _assert_exactly_once(db_url, building, n)


def test_two_ingestors_share_one_stream_and_a_killed_one_loses_nothing(db_url, own_broker, tmp_path):
    building, n = f"s{secrets.token_hex(3)}", 20_000
    url = broker_url(own_broker)
    group = f"g{building}"
    a = IngestProcess(db_url, url, f"a-{building}", group, tmp_path).start()
    b = IngestProcess(db_url, url, f"b-{building}", group, tmp_path).start()
    try:
        thread, result = stream(url, building, n)
        wait_until(lambda: _count(db_url, building) >= 4_000, 60, 0.05, what="part of the stream stored")
        a.kill9()
        thread.join(120)
        assert result["error"] is None and result["published"] == n
        # The survivor keeps taking its share while the dead one is away...
        wait_until(lambda: b.health().get("status") == "ok", 10)
        a.start()  # ...and the restarted one gets what the broker kept for its session.
        wait_until(lambda: _count(db_url, building) >= n, 120, 0.2, what="the whole stream stored")
    finally:
        assert a.stop() == 0
        assert b.stop() == 0
    _assert_exactly_once(db_url, building, n)
    # Both really took part.
    assert "safecampus-ingest" in (tmp_path / f"ingest-b-{building}.log").read_text()


def test_backpressure_bounds_the_queue_while_the_database_is_blocked(db_url, own_broker, make_settings):
    building, n, queue = f"p{secrets.token_hex(3)}", 5_000, 100
    url = broker_url(own_broker)
    settings = make_settings(mqtt_url=url, ingest_queue_size=queue, ingest_batch_size=50)
    depths = []
    with running_ingest(settings) as svc:
        with psycopg.connect(db_url) as blocker:
            blocker.execute("LOCK TABLE events IN ACCESS EXCLUSIVE MODE")  # every write now waits
            thread, result = stream(url, building, n)
            deadline = time.monotonic() + 3
            while time.monotonic() < deadline:
                depths.append(svc.health()["queue_depth"])
                time.sleep(0.05)
            # The broker holds the rest: we took no more than the queue can hold.
            assert svc.metrics.received._value.get() <= queue + settings.ingest_batch_size  # noqa: SLF001
            blocker.rollback()
        wait_until(lambda: _count(db_url, building) >= n, 60, 0.2, what="the stream after the block")
        thread.join(60)
        assert result["error"] is None and result["published"] == n
    assert 0 < max(depths) <= queue
    _assert_exactly_once(db_url, building, n)
