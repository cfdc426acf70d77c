"""Alarms you can trust, finding by finding: each test tries to break ingest the way it once broke.

Real Mosquitto and PostgreSQL throughout; the numbered findings are those of the trust issue.
"""

import dataclasses
import json
import secrets
import threading
import time
from datetime import UTC, datetime, timedelta

import paho.mqtt.client as mqtt
import psycopg
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from ingest.alarms import actions
from ingest.alarms.engine import AlarmEngine
from ingest.core.settings import MqttEndpoint
from ingest.db.pool import open_pool
from ingest.db.registry import load_site
from ingest.mqtt import contract
from ingest.mqtt.contract import encode, format_ts
from ingest.service.maintainer import IngestService
from ingest.service.writer import BatchWriter
from tests.conftest import wait_until
from tests.integration.conftest import broker_url
from tests.integration.helpers import (
    IngestProcess,
    alarms_for,
    now_ts,
    publish_all,
    publisher,
    running_ingest,
    running_ingest_with_alarms,
    scalar,
    tiny_site,
)

HOSTILE = [
    b'{"event_id":"h","ts":"0001-01-01T00:30:00+01:00","state":"normal"}',
    b'{"event_id":"h","ts":"9999-12-31T23:59:59-01:00","state":"normal"}',
    b'{"event_id":"h","ts":"2026-11-29T10:00:00Z","readings":{"o2_pct":' + b"9" * 320 + b"}}",
    b'{"event_id":"h","ts":"2026-11-29T10:00:00Z","readings":{"o2_pct":' + b"1" * 4400 + b"}}",
    b'{"event_id":"h","ts":"2026-11-29T10:00:00Z","state":"normal","seq":9223372036854775808}',
    b'{"event_id":"h","ts":"1970-01-01T00:00:01Z","state":"normal"}',
]


def _count(db_url, sql, *args):
    return scalar(db_url, sql, args)


# -- 1. a few bytes stop ingest for good ------------------------------------------------------


def test_1_hostile_messages_are_dead_lettered_and_never_fill_the_receive_window(make_settings, db_url, own_broker):
    b = f"h{secrets.token_hex(3)}"
    # A broker configured as shipped: the machine's default one keeps at most 1,000 QoS 1 messages
    # for a client that falls behind and drops the rest, whatever ingest does.
    mqtt_url = broker_url(own_broker)
    # A receive window of 100: before, 100 undecodable messages (never queued, never acked) stopped ingest.
    settings = make_settings(ingest_queue_size=100, mqtt_url=mqtt_url)
    hostile = [
        (f"campus/v1/{b}/{'lab' if b'readings' in raw else 'smoke'}/s{i % 7}", raw)
        for i in range(1200)
        for raw in [HOSTILE[i % len(HOSTILE)]]
    ]
    valid = [
        (f"campus/v1/{b}/smoke/ok{i}", {"event_id": f"v{i}", "ts": now_ts(-1), "state": "normal"}) for i in range(50)
    ]
    with running_ingest(settings) as svc, publisher(mqtt_url) as pub:
        publish_all(pub, hostile + valid)
        wait_until(
            lambda: _count(db_url, "SELECT count(*) FROM events WHERE building_id = %s", b) == 50,
            30,
            what="the 50 valid events behind 1,200 hostile ones",
            describe=lambda: f"health {svc.health()}, events "
            f"{_count(db_url, 'SELECT count(*) FROM events WHERE building_id = %s', b)}, dead letters "
            f"{_count(db_url, 'SELECT count(*) FROM dead_letters WHERE topic LIKE %s', f'campus/v1/{b}/%')}",
        )
        wait_until(
            lambda: _count(db_url, "SELECT count(*) FROM dead_letters WHERE topic LIKE %s", f"campus/v1/{b}/%") == 1200,
            30,
            what="every hostile message dead-lettered",
        )
        assert svc.healthy and svc.health()["status"] == "ok" and svc.health()["queue_depth"] == 0
    reasons = {
        r
        for (r,) in psycopg.connect(db_url).execute(
            "SELECT DISTINCT reason FROM dead_letters WHERE topic LIKE %s", (f"campus/v1/{b}/%",)
        )
    }
    assert all(reasons) and any("seq" in r for r in reasons) and any("retention" in r for r in reasons)


# -- 2. one row the database refuses kills the writer ------------------------------------------


def test_2_a_row_the_database_refuses_is_split_out_and_dead_lettered_the_rest_stored(make_settings, db_url):
    b = f"p{secrets.token_hex(3)}"
    at = datetime.now(UTC) - timedelta(seconds=30)

    def ev(n: int) -> contract.Event:
        raw = encode({"event_id": f"e{n}", "ts": format_ts(at + timedelta(milliseconds=n)), "state": "normal"})
        return contract.decode(f"campus/v1/{b}/smoke/{b}-s{n % 5}", raw, datetime.now(UTC))

    events = [ev(n) for n in range(40)]
    # Past the contract (which now refuses it), a value the binary COPY cannot take: int8 overflow.
    events[17] = dataclasses.replace(events[17], seq=2**63)
    pool = open_pool(db_url, max_size=2, name="test-split")
    try:
        svc = IngestService(make_settings(), pool)
        results = svc._store_splitting(events, [])  # noqa: SLF001 - the writer thread's own step
    finally:
        pool.close()
    assert sum(r.stored for r in results) == 39
    assert _count(db_url, "SELECT count(*) FROM events WHERE building_id = %s", b) == 39
    reason = _count(db_url, "SELECT reason FROM dead_letters WHERE topic = %s", events[17].topic)
    assert reason.startswith("could not be stored") and "int" in reason.lower()


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")  # the crash is the point
def test_2_a_dead_writer_makes_ingest_report_failed_and_the_process_exit_non_zero(make_settings, db_url, monkeypatch):
    from ingest.service import main as service_main

    class Crash(BaseException):
        """Nothing the writer catches: the thread dies as it would on an interpreter-level failure."""

    def crash(self, events, rejected):  # noqa: ANN001, ANN202
        raise Crash("simulated crash of the writer thread")

    monkeypatch.setattr(BatchWriter, "write", crash)
    settings = make_settings()
    stop = threading.Event()
    code: list[int] = []
    runner = threading.Thread(target=lambda: code.append(service_main.run_ingest(settings, stop)), daemon=True)
    runner.start()
    try:
        time.sleep(2)
        with publisher(settings.mqtt_url) as pub:
            publish_all(
                pub,
                [
                    (
                        f"campus/v1/x{secrets.token_hex(3)}/smoke/s1",
                        {"event_id": "x", "ts": now_ts(-1), "state": "normal"},
                    )
                ],
            )
        runner.join(30)
    finally:
        stop.set()
        runner.join(30)
    assert code == [3]  # non-zero: run, compose and systemd start a new ingestor


def test_2_a_writer_that_stops_committing_is_reported_stalled_and_recovers(make_settings, db_url, mqtt_url):
    b = f"st{secrets.token_hex(3)}"
    with running_ingest(make_settings(ingest_stall_s=2)) as svc, publisher(mqtt_url) as pub:
        blocker = psycopg.connect(db_url)
        blocker.execute("LOCK TABLE events IN ACCESS EXCLUSIVE MODE")  # the writer waits on it, forever
        try:
            publish_all(pub, [(f"campus/v1/{b}/smoke/s1", {"event_id": "a", "ts": now_ts(-1), "state": "normal"})])
            health = wait_until(
                lambda: (h := svc.health())["status"] == "stalled" and h, 10, what="health to say stalled"
            )
            assert health["database"] == "ok" and not svc.healthy and health["stalled_s"] >= 2
        finally:
            blocker.rollback()
            blocker.close()
        wait_until(lambda: svc.health()["status"] == "ok", 10, what="healthy again")
    assert _count(db_url, "SELECT count(*) FROM events WHERE building_id = %s", b) == 1


# -- 3. the tick and a batch race on rule_state --------------------------------------------------


def test_3_the_tick_waits_for_a_batch_and_never_writes_back_an_old_rule_state(db_url):
    tag = secrets.token_hex(3)
    with psycopg.connect(db_url) as conn:
        load_site(conn, tiny_site(tag, doors=1))
    door, t0 = f"door{tag}-0", datetime.now(UTC) - timedelta(seconds=120)

    def ev(eid: str, kind: str, seconds: float) -> contract.Event:
        raw = encode({"event_id": eid, "ts": format_ts(t0 + timedelta(seconds=seconds)), "event": kind})
        return contract.decode(f"campus/v1/b{tag}/door/{door}", raw, datetime.now(UTC))

    engine = AlarmEngine()
    hold, held = threading.Event(), threading.Event()

    def wait_inside_the_transaction(_conn, events):  # noqa: ANN001, ANN202
        if any(e.state == "door_closed" for e in events):
            held.set()
            hold.wait(20)

    pool = open_pool(db_url, max_size=3, name="test-race")
    try:
        writer = BatchWriter(pool, "race", [engine.on_batch, wait_inside_the_transaction])
        writer.write([ev("o", "door_opened", 0)], [])  # open: held-open timer due at t0 + 30 s
        batch = threading.Thread(target=writer.write, args=([ev("c", "door_closed", 5)], []), daemon=True)
        batch.start()  # closes the door 5 s later, and holds its transaction open
        assert held.wait(10)
        tick_done: list = []

        def tick() -> None:
            with pool.connection() as conn:
                tick_done.append(engine.tick(conn, now=(t0 + timedelta(seconds=40)).timestamp()))

        ticker = threading.Thread(target=tick, daemon=True)
        ticker.start()
        wait_until(
            lambda: scalar(
                db_url,
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()",
            ),
            10,
            what="the tick to wait for the batch's lock",
        )
        hold.set()
        batch.join(10)
        ticker.join(10)
    finally:
        hold.set()
        pool.close()
    assert tick_done == [[]]  # the door had closed: nothing to time
    assert [a["condition"] for a in alarms_for(db_url, door)] == []
    state = _count(db_url, "SELECT state FROM rule_state WHERE sensor_id = %s", door)
    assert state["door"]["open_since"] is None and state["timer_at"] is None  # the batch's state, not the old one


# -- 4. one device clock moves the whole campus's timers -----------------------------------------


def test_4_a_device_clock_minutes_ahead_moves_no_timer(make_settings, db_url, mqtt_url):
    tag = secrets.token_hex(3)
    site = tiny_site(tag, doors=4)
    with psycopg.connect(db_url) as conn:
        load_site(conn, site)
        conn.execute("UPDATE sensors SET report_interval_s = 10 WHERE building_id = %s", (f"b{tag}",))
    topic = f"campus/v1/b{tag}/door/door{tag}-"
    settings = make_settings(escalate_high_s=30)
    with running_ingest_with_alarms(settings), publisher(mqtt_url) as pub:
        publish_all(
            pub, [(topic + str(n), {"event_id": f"hb{n}", "ts": now_ts(-1), "event": "door_closed"}) for n in range(4)]
        )
        publish_all(pub, [(topic + "1", {"event_id": "open", "ts": now_ts(-1), "event": "door_opened"})])
        ahead = datetime.now(UTC) + timedelta(minutes=4)
        publish_all(
            pub,
            [
                (f"campus/v1/b{tag}/status/door{tag}-0", {"event_id": "ahead", "ts": format_ts(ahead)}),
                (topic + "2", {"event_id": "t", "ts": now_ts(-1), "event": "tamper"}),
            ],
        )
        tamper = wait_until(
            lambda: next((a for a in alarms_for(db_url, f"door{tag}-2") if a["condition"] == "tamper"), None),
            10,
            what="the tamper alarm",
        )
        time.sleep(4)  # many ticks
        mark = float(scalar(db_url, "SELECT value FROM meta WHERE key = 'watermark'"))
        alarms = [
            (a["sensor_id"], a["condition"])
            for a in alarms_for(db_url, f"door{tag}-0")
            + alarms_for(db_url, f"door{tag}-1")
            + alarms_for(db_url, f"door{tag}-3")
        ]
        escalated = alarms_for(db_url, f"door{tag}-2")[0]["escalated_at"]
    assert mark <= time.time() + 2.5  # the watermark is ours, not the device's
    assert alarms == []  # no offline, no held-open: the door opened 5 s ago, not 4 min ago
    assert escalated is None and tamper["state"] == "active_unacked"  # not escalated 1.6 s after it was raised
    stored = _count(db_url, "SELECT time FROM events WHERE event_id = 'ahead' AND sensor_id = %s", f"door{tag}-0")
    assert abs((stored - ahead).total_seconds()) < 0.01  # stored with the time the device sent


def test_4_a_watermark_left_in_the_future_by_an_older_release_is_not_used(db_url):
    engine = AlarmEngine(clock_tolerance_s=2)
    with psycopg.connect(db_url) as conn:
        conn.execute(
            "INSERT INTO meta (key, value) VALUES ('watermark', %s) ON CONFLICT (key) DO UPDATE"
            " SET value = EXCLUDED.value",
            (str(time.time() + 3600),),
        )
        wall = time.time()
        assert engine.tick_time(conn, wall) <= wall + 2
        conn.rollback()


# -- 5. retained alarm state goes stale -------------------------------------------------------------


def _retained(url: str) -> dict[str, dict]:
    ep = MqttEndpoint.from_url(url)
    seen: dict[str, dict] = {}
    client = mqtt.Client(
        callback_api_version=CallbackAPIVersion.VERSION2,
        protocol=mqtt.MQTTv5,
        client_id=f"retained-{secrets.token_hex(3)}",
    )
    client.on_message = lambda c, u, m: (
        seen.__setitem__(m.topic.rsplit("/", 1)[1], json.loads(m.payload)) if m.payload else None
    )
    client.on_connect = lambda c, *a: c.subscribe("campus/v1/_alarms/+", qos=1)
    client.connect(ep.host, ep.port)
    client.loop_start()
    time.sleep(1.0)
    client.disconnect()
    client.loop_stop()
    return seen


def test_5_retained_alarm_state_is_made_right_after_changes_made_while_ingest_was_down(
    make_settings, db_url, own_broker
):
    url = broker_url(own_broker)
    tag = secrets.token_hex(3)
    with psycopg.connect(db_url) as conn:
        load_site(conn, tiny_site(tag, doors=3))
    topic = f"campus/v1/b{tag}/door/door{tag}-"
    settings = make_settings(mqtt_url=url)
    with running_ingest_with_alarms(settings), publisher(url) as pub:
        publish_all(
            pub,
            [
                (topic + "0", {"event_id": "f0", "ts": now_ts(-3), "event": "door_forced"}),
                (topic + "1", {"event_id": "f1", "ts": now_ts(-3), "event": "door_forced"}),
                (topic + "1", {"event_id": "c1", "ts": now_ts(-2), "event": "door_closed"}),
                (topic + "2", {"event_id": "f2", "ts": now_ts(-3), "event": "door_forced"}),
            ],
        )
        ids = [wait_until(lambda n=n: (alarms_for(db_url, f"door{tag}-{n}") or [None])[0], 10)["id"] for n in range(3)]
        wait_until(lambda: {str(i) for i in ids} <= _retained(url).keys(), 15, what="all three retained")
    # Ingest is down: an officer acknowledges one, closes another; the third's retained message is lost.
    with psycopg.connect(db_url) as conn:
        actions.acknowledge(conn, ids[0], "officer1", "seen")
        actions.acknowledge(conn, ids[1], "officer1", "door checked")  # rtn_unacked + ack = closed
    with publisher(url) as pub:
        pub.publish(f"campus/v1/_alarms/{ids[2]}", b"", qos=1, retain=True).wait_for_publish(10)
    own_broker.stop()  # and the broker restarts (its persistence keeps the stale messages)
    own_broker.start()
    before = _retained(url)
    assert before[str(ids[0])]["state"] == "active_unacked" and str(ids[1]) in before and str(ids[2]) not in before
    with running_ingest_with_alarms(settings):

        def right():
            now = _retained(url)
            return (
                now.get(str(ids[0]), {}).get("state") == "active_acked"
                and str(ids[1]) not in now
                and now.get(str(ids[2]), {}).get("state") == "active_unacked"
            ) and now

        wait_until(right, 20, 0.5, what="retained alarm topics to match the database")


# -- 6. a graceful stop loses what arrives while ingest is down -------------------------------------


def test_6_sigterm_keeps_the_session_and_everything_published_meanwhile_is_stored_once(db_url, own_broker, tmp_path):
    url = broker_url(own_broker)
    b, n = f"g{secrets.token_hex(3)}", 10_000
    ingest = IngestProcess(db_url, url, f"grace-{b}", f"grace{b}", tmp_path).start()
    wait_until(lambda: ingest.health().get("status") == "ok", 20, what="ingest subscribed")
    assert ingest.stop() == 0  # SIGTERM: the upgrade-like stop
    # A plain publisher that never resends (as many gateways are): every PUBACK must say "taken".
    reasons: list[int] = []
    client = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5, client_id=f"plain-{b}")
    client.on_publish = lambda c, u, mid, rc, p: reasons.append(rc.value)
    client.max_inflight_messages_set(1000)
    ep = MqttEndpoint.from_url(url)
    client.connect(ep.host, ep.port)
    client.loop_start()
    t0 = datetime.now(UTC) - timedelta(minutes=5)
    infos = [
        client.publish(
            f"campus/v1/{b}/smoke/{b}-s{i % 40}",
            encode({"event_id": f"e{i}", "ts": format_ts(t0 + timedelta(milliseconds=i)), "state": "normal"}),
            qos=1,
        )
        for i in range(n)
    ]
    for info in infos:
        info.wait_for_publish(60)
    client.disconnect()
    client.loop_stop()
    assert len(reasons) == n and set(reasons) == {0}, (
        f"refused: {len([r for r in reasons if r])} (16 = nobody subscribed)"
    )
    ingest.start()
    try:
        wait_until(
            lambda: _count(db_url, "SELECT count(*) FROM events WHERE building_id = %s", b) >= n,
            60,
            0.5,
            what="everything published while ingest was stopped",
        )
    finally:
        assert ingest.stop() == 0
    assert _count(db_url, "SELECT count(DISTINCT event_id) FROM events WHERE building_id = %s", b) == n
    assert _count(db_url, "SELECT count(*) FROM events WHERE building_id = %s", b) == n
