"""The skeleton path through the real broker and real PostgreSQL."""

import itertools
import json
import secrets
import threading
from datetime import UTC, datetime, timedelta

import psycopg

from ingest.core.sitefile import load_site
from ingest.db.pool import connect, open_pool
from ingest.db.registry import load_site as load_site_into_db
from ingest.mqtt.contract import decode, encode, format_ts
from ingest.service.writer import BatchWriter
from sensors_sim.life import CampusLife
from tests.conftest import wait_until
from tests.integration.helpers import publish_all, publisher, run_cli, running_ingest, scalar


def _now():
    return format_ts(datetime.now(UTC))


def test_simulated_events_reach_the_database(make_settings, db_url, mqtt_url):
    site = load_site()
    with connect(db_url) as conn:
        load_site_into_db(conn, site)
    life = CampusLife(site, seed=3, start=datetime.now(UTC) - timedelta(minutes=10))
    messages = [(m.topic, encode(m.payload)) for m in itertools.islice(life, 2000)]
    settings = make_settings()
    with running_ingest(settings) as svc, publisher(mqtt_url) as pub:
        publish_all(pub, messages)
        wait_until(lambda: scalar(db_url, "SELECT count(*) FROM events") >= 2000, 20, what="2000 events stored")
        assert svc.healthy
    assert scalar(db_url, "SELECT count(*) FROM events") == 2000
    assert scalar(db_url, "SELECT count(*) FROM sensors WHERE NOT registered") == 0
    lab = scalar(db_url, "SELECT count(*) FROM readings WHERE metric LIKE 'gas_ppm.%%'")
    assert lab > 0
    assert scalar(db_url, "SELECT count(*) FROM sensors WHERE last_seen IS NOT NULL") > 100


def test_duplicates_stored_once_bad_input_dead_lettered_unknown_sensor_kept(make_settings, db_url, mqtt_url):
    b = f"b{secrets.token_hex(3)}"
    good = {"event_id": "dup-1", "ts": _now(), "state": "normal"}
    messages = [
        (f"campus/v1/{b}/smoke/s1", good),
        (f"campus/v1/{b}/smoke/s1", good),  # a QoS 1 redelivery: same event twice
        (f"campus/v1/{b}/smoke/s1", b"{broken"),
        (f"campus/v1/{b}/smoke/s1", b"\xff\xfe"),
        (f"campus/v1/{b}/door/d1", {"event_id": "x", "ts": _now()}),
        (f"campus/v1/{b}/lab/l1", {"event_id": "y", "ts": _now(), "readings": {"o2_pct": "low"}}),
        (
            f"campus/v1/{b}/smoke/s1",
            {"event_id": "far", "ts": format_ts(datetime.now(UTC) + timedelta(days=1)), "state": "normal"},
        ),
        (f"campus/v1/{b}/smoke/s1", {"event_id": "big", "ts": _now(), "state": "normal", "pad": "x" * 270000}),
        (f"campus/v1/{b}/smoke/s2", {"event_id": "after", "ts": _now(), "state": "alarm", "unknown_field": [1, 2]}),
    ]
    before = scalar(db_url, "SELECT count(*) FROM dead_letters")
    with running_ingest(make_settings()) as svc, publisher(mqtt_url) as pub:
        publish_all(pub, messages)
        wait_until(lambda: scalar(db_url, "SELECT count(*) FROM dead_letters") - before >= 6, 10, what="dead letters")
        wait_until(lambda: scalar(db_url, "SELECT count(*) FROM events WHERE building_id = %s", (b,)) >= 2, 10)
        assert svc.metrics.duplicates._value.get() == 1  # noqa: SLF001
        assert svc.healthy
    assert scalar(db_url, "SELECT count(*) FROM events WHERE building_id = %s", (b,)) == 2
    with psycopg.connect(db_url) as conn:
        rows = conn.execute(
            "SELECT reason, payload_size, length(payload) FROM dead_letters WHERE topic LIKE %s ORDER BY id",
            (f"campus/v1/{b}/%",),
        ).fetchall()
        reasons = [r[0] for r in rows]
        assert len(rows) == 6
        assert "payload is not valid JSON" in reasons and "payload is not valid UTF-8" in reasons
        assert any(r.startswith("door event must be") for r in reasons)
        assert any("in the future" in r for r in reasons)
        big = next(r for r in rows if "over the" in r[0])
        assert big[1] > 65536 and big[2] <= 8192  # counted in full, stored bounded
        unregistered = conn.execute(
            "SELECT id, kind, registered FROM sensors WHERE building_id = %s ORDER BY id", (b,)
        ).fetchall()
        assert unregistered == [("s1", "smoke", False), ("s2", "smoke", False)]
        extra = conn.execute(
            "SELECT payload FROM events WHERE event_id = 'after' AND building_id = %s", (b,)
        ).fetchone()[0]
        assert extra["unknown_field"] == [1, 2]


def test_publishes_with_mqtt5_properties_and_of_every_length_class_are_stored_intact(make_settings, db_url, mqtt_url):
    """The ingestor's own receive path (ingest.mqtt.receive) against what a real broker sends."""
    from paho.mqtt.packettypes import PacketTypes
    from paho.mqtt.properties import Properties

    b = f"b{secrets.token_hex(3)}"
    props = Properties(PacketTypes.PUBLISH)
    props.ContentType = "application/json"
    props.UserProperty = [("gateway", "north-2"), ("fw", "1.4")]
    props.MessageExpiryInterval = 3600
    sent = {}
    with running_ingest(make_settings()) as svc, publisher(mqtt_url) as pub:
        # note lengths straddle the 1-, 2- and 3-byte remaining-length encodings
        for n, pad in enumerate([0, 40, 60, 16_300, 16_400, 60_000]):
            body = json.dumps(
                {"event_id": f"p{n}", "ts": _now(), "state": "normal", "note": "é" * (pad // 2)}, ensure_ascii=False
            ).encode()
            sent[f"p{n}"] = body
            pub.publish(f"campus/v1/{b}/smoke/s{n}", body, qos=n % 2, properties=props if n % 2 else None)
        wait_until(
            lambda: scalar(db_url, "SELECT count(*) FROM events WHERE building_id = %s", (b,)) == len(sent),
            10,
            what="every publish stored",
        )
        assert svc.metrics.dead_lettered._value.get() == 0  # noqa: SLF001
    with psycopg.connect(db_url) as conn:
        stored = dict(conn.execute("SELECT event_id, payload FROM events WHERE building_id = %s", (b,)).fetchall())
        texts = dict(conn.execute("SELECT event_id, payload::text FROM events WHERE building_id = %s", (b,)).fetchall())
    assert {k: json.loads(v) for k, v in sent.items()} == stored
    assert texts == {k: v.decode() for k, v in sent.items()}  # kept as sent, its key order and spacing too


def test_ingest_health_endpoint_reports_state(make_settings, db_url):
    import urllib.request

    from ingest.service.health import HealthServer

    with running_ingest(make_settings()) as svc:
        server = HealthServer("127.0.0.1", 0, svc.health, svc.metrics.render)
        server.start()
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{server.port}/healthz") as resp:
                state = json.loads(resp.read())
            assert resp.status == 200 and state["status"] == "ok" and state["broker"] == "connected"
            with urllib.request.urlopen(f"http://127.0.0.1:{server.port}/metrics") as resp:
                text = resp.read().decode()
            for name in (
                "received",
                "stored",
                "duplicates",
                "dead_lettered",
                "queue_depth",
                "batch_size",
                "commit_seconds",
                "broker_connected",
                "db_connected",
            ):
                assert f"safecampus_ingest_{name}" in text
        finally:
            server.stop()


def test_a_running_ingestor_reports_its_health_in_the_database(db_url, mqtt_url, tmp_path):
    from tests.integration.helpers import IngestProcess

    ingest = IngestProcess(db_url, mqtt_url, f"h{secrets.token_hex(3)}", f"g{secrets.token_hex(3)}", tmp_path).start()
    try:

        def row():
            with psycopg.connect(db_url) as conn:
                return conn.execute(
                    "SELECT status FROM service_health WHERE service = 'ingest' AND instance = %s", (ingest.ingest_id,)
                ).fetchone()

        status = wait_until(row, 15, 0.2, what="the health row")[0]
        assert status["broker"] == "connected" and status["database"] == "ok" and status["status"] == "ok"
    finally:
        assert ingest.stop() == 0


def test_a_batch_stores_each_event_and_its_readings_once(db_url):
    """The writer on its own: repeats inside a batch and of stored events, readings, last-seen."""
    b = f"w{secrets.token_hex(3)}"
    t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=1)  # none ahead of our clock

    def event(kind: str, sensor: str, event_id: str, seconds: int, **body):
        raw = encode({"event_id": event_id, "ts": format_ts(t0 + timedelta(seconds=seconds)), **body})
        return decode(f"campus/v1/{b}/{kind}/{b}-{sensor}", raw, datetime.now(UTC))

    lab = event(
        "lab",
        "l1",
        "r1",
        0,
        readings={"o2_pct": 20.9, "temperature_c": 21.5, "gas_ppm.CO": 3},
        note="Labor für Öl 实验室",
    )
    first = [lab, lab, event("smoke", "s1", "a", 1, state="normal", battery_pct=80, seq=7),
             event("smoke", "s1", "a", 2, state="normal")]  # its event id again at another time: another event
    second = [
        lab,  # stored by the first batch: a redelivery
        event("smoke", "s1", "b", 3, state="pre_alarm", battery_pct=79, seq=8),
        event("smoke", "s1", "old", -60, state="normal", battery_pct=95, seq=2),  # late, older than last-seen
        event("status", "l1", "h", 2, battery_pct=55),
    ]
    pool = open_pool(db_url, max_size=1, name="test-writer")
    try:
        writer = BatchWriter(pool, "test-writer")
        one, two = writer.write(first, []), writer.write(second, [])
    finally:
        pool.close()
    assert (one.stored, one.duplicates) == (3, 1)
    assert (two.stored, two.duplicates) == (3, 1)
    assert [e.event_id for e in two.inserted] == ["old", "h", "b"]  # event-time order
    with psycopg.connect(db_url) as conn:
        assert conn.execute("SELECT count(*) FROM events WHERE building_id = %s", (b,)).fetchone()[0] == 6
        readings = conn.execute(
            "SELECT split_part(sensor_id, '-', 2), metric, value FROM readings WHERE sensor_id LIKE %s"
            " ORDER BY sensor_id, metric, time",
            (f"{b}-%",),
        ).fetchall()
        assert readings == [
            ("l1", "battery_pct", 55.0),
            ("l1", "gas_ppm.CO", 3.0),
            ("l1", "o2_pct", 20.9),
            ("l1", "temperature_c", 21.5),
            ("s1", "battery_pct", 95.0),
            ("s1", "battery_pct", 80.0),
            ("s1", "battery_pct", 79.0),
        ]
        payload = conn.execute(
            "SELECT payload FROM events WHERE building_id = %s AND event_id = 'r1'", (b,)
        ).fetchone()[0]
        assert payload["note"] == "Labor für Öl 实验室" and payload["readings"]["gas_ppm.CO"] == 3
        s1 = conn.execute(
            "SELECT battery_pct, last_seq, first_seen, last_seen, registered FROM sensors WHERE id = %s", (f"{b}-s1",)
        ).fetchone()
        # registered by the first batch, moved on by the second: the late event lowers first-seen only
        assert s1 == (79.0, 8, t0 - timedelta(seconds=60), t0 + timedelta(seconds=3), False)


def test_events_at_the_same_instant_reach_the_rules_in_the_order_sent(db_url):
    """A door opened and forced in the same millisecond: the batch hook sees them as sent."""
    b = f"o{secrets.token_hex(3)}"
    ts = format_ts(datetime.now(UTC))
    events = [
        decode(f"campus/v1/{b}/door/{b}-d1", encode({"event_id": f"e{n}", "ts": ts, "event": kind}), datetime.now(UTC))
        for n, kind in enumerate(["door_opened", "door_forced", "door_closed"])
    ]
    pool = open_pool(db_url, max_size=1, name="test-writer-order")
    try:
        result = BatchWriter(pool, "test-writer").write([events[0], *events, events[2]], [])
    finally:
        pool.close()
    assert [e.event_id for e in result.inserted] == ["e0", "e1", "e2"]


def test_a_taken_health_port_is_a_one_line_error(db_url, mqtt_url):
    import os
    import socket


    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = {k: v for k, v in os.environ.items() if not k.startswith("SAFECAMPUS_")}
        env |= {
            "SAFECAMPUS_DB_URL": db_url,
            "SAFECAMPUS_MQTT_URL": mqtt_url,
            "SAFECAMPUS_INGEST_HEALTH_PORT": str(port),
        }
        out = run_cli(env, "ingest", timeout=60)
    assert out.returncode == 1
    errors = [line for line in out.stderr.splitlines() if line.startswith("safecampus:")]
    assert len(errors) == 1 and f"SAFECAMPUS_INGEST_HEALTH_PORT: cannot listen on 127.0.0.1:{port}" in errors[0]
    assert "Traceback" not in out.stderr


def test_two_writers_racing_over_the_same_events_store_each_once(db_url):
    """Two ingestors given overlapping batches at once (a redelivery to the other member of a shared
    subscription): the straight COPY of one is refused by the other's rows, and the staging path
    stores only what is new; every event once, each claimed by exactly one writer.
    """
    b = f"r{secrets.token_hex(3)}"
    t0 = datetime.now(UTC) - timedelta(minutes=1)
    events = [
        decode(f"campus/v1/{b}/lab/{b}-{n % 7}",
               encode({"event_id": f"e{n}", "ts": format_ts(t0 + timedelta(milliseconds=n)),
                       "readings": {"temperature_c": 20 + n % 5}}), datetime.now(UTC))
        for n in range(600)
    ]
    batches = [events[:400], events[200:]]  # 200 events in both
    pool = open_pool(db_url, max_size=2, name="test-writer-race")
    results: list = [None, None]
    start = threading.Barrier(2)

    def run(i: int) -> None:
        start.wait()
        results[i] = BatchWriter(pool, f"race-{i}").write(batches[i], [])

    try:
        threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
    finally:
        pool.close()
    claimed = [{e.event_id for e in r.inserted} for r in results]
    assert not claimed[0] & claimed[1] and len(claimed[0] | claimed[1]) == 600
    assert results[0].duplicates + results[1].duplicates == 200
    with psycopg.connect(db_url) as conn:
        assert conn.execute("SELECT count(*), count(DISTINCT event_id) FROM events WHERE building_id = %s",
                            (b,)).fetchone() == (600, 600)
        assert conn.execute("SELECT count(*) FROM readings WHERE sensor_id LIKE %s", (f"{b}-%",)).fetchone()[0] == 600


def test_a_new_sensor_whose_payload_names_a_source_that_is_not_an_object_is_stored(db_url):
    """A native device saying ``"source": "gateway-7"`` (text, not an adapter's object): its event is
    stored and the sensor registered without a source. (The registry's ``jsonb - 'raw'`` once refused
    such a batch and the event went to the dead letters.)
    """
    b = f"s{secrets.token_hex(3)}"
    raw = encode({"event_id": "e1", "ts": _now(), "state": "normal", "source": "gateway-7"})
    event = decode(f"campus/v1/{b}/smoke/{b}-s1", raw, datetime.now(UTC))
    pool = open_pool(db_url, max_size=1, name="test-writer-source")
    try:
        result = BatchWriter(pool, "test-writer").write([event], [])
    finally:
        pool.close()
    assert (result.stored, result.dead_lettered) == (1, 0)
    with psycopg.connect(db_url) as conn:
        assert conn.execute("SELECT registered, source FROM sensors WHERE id = %s", (f"{b}-s1",)).fetchone() == (
            False, None)
