"""Thousands of random payloads through the real broker: each stored or dead-lettered, none lost."""

import json
import secrets

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import wait_until
from tests.integration.helpers import own_ingest_settings, publish_all, publisher, running_ingest, scalar

MESSAGES = 3000

json_leaf = st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats() | st.text(max_size=30)
json_value = st.recursive(
    json_leaf, lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=8), c, max_size=3), max_leaves=12
)
field = st.sampled_from(
    [
        "event_id",
        "ts",
        "state",
        "event",
        "readings",
        "seq",
        "drill",
        "sensor_id",
        "battery_pct",
        "obscuration",
        "credential",
        "x",
    ]
)
plausible = st.fixed_dictionaries(
    {
        "event_id": st.text(min_size=1, max_size=12) | st.integers(0, 10**6),
        "ts": st.sampled_from(["2026-11-29T10:00:00Z", "2026-11-29T10:00:00.5+08:00", 1795950000000, "nope", 5]),
    },
    optional={
        "state": st.sampled_from(["normal", "alarm", "fault", "smoky"]),
        "event": st.sampled_from(["door_forced", "tamper", "x"]),
        "readings": st.dictionaries(
            st.sampled_from(["o2_pct", "lel_pct", "gas_ppm.CO", "bad"]), json_value, max_size=3
        ),
        "drill": json_value,
        "seq": json_value,
    },
).map(lambda d: json.dumps(d).encode())
payload = st.one_of(
    st.binary(max_size=200),
    st.dictionaries(field, json_value, max_size=6).map(lambda d: json.dumps(d).encode()),
    plausible,
    st.text(max_size=50).map(lambda t: t.encode("utf-8", "surrogatepass")),
)
message = st.tuples(
    st.sampled_from(["smoke", "door", "lab", "status", "fire", "_x"]), st.sampled_from(["s1", "s2", "s3"]), payload
)


@pytest.fixture(scope="module")
def ingest(db_url, mqtt_url):
    s = own_ingest_settings(db_url, mqtt_url, "fuzz")
    with running_ingest(s) as svc:
        yield svc


def _handled(svc):
    m = svc.metrics
    return m.stored._value.get() + m.duplicates._value.get() + m.dead_lettered._value.get()  # noqa: SLF001


def test_thousands_of_random_payloads_are_stored_or_dead_lettered_and_ingest_keeps_going(ingest, db_url, mqtt_url):
    building = f"z{secrets.token_hex(4)}"
    before = _handled(ingest)
    dups_before = ingest.metrics.duplicates._value.get()  # noqa: SLF001
    sent = []
    with publisher(mqtt_url) as pub:

        @settings(max_examples=MESSAGES, deadline=None, database=None, suppress_health_check=list(HealthCheck))
        @given(message)
        def throw(msg):
            kind, sensor, body = msg
            sent.append(pub.publish(f"campus/v1/{building}/{kind}/{sensor}", body, qos=1))

        throw()
        for info in sent:
            info.wait_for_publish(30)
        wait_until(lambda: _handled(ingest) - before >= len(sent), 60, what="every message handled")
    assert len(sent) >= MESSAGES * 0.9  # hypothesis may stop early only when it runs out of ideas
    dups = ingest.metrics.duplicates._value.get() - dups_before  # noqa: SLF001
    stored = scalar(db_url, "SELECT count(*) FROM events WHERE building_id = %s", (building,))
    dead = scalar(db_url, "SELECT count(*) FROM dead_letters WHERE topic LIKE %s", (f"campus/v1/{building}/%",))
    assert stored + dead + dups == len(sent)
    assert stored > 0 and dead > 0
    assert (
        scalar(
            db_url,
            "SELECT count(*) FROM dead_letters WHERE topic LIKE %s AND reason = ''",
            (f"campus/v1/{building}/%",),
        )
        == 0
    )
    assert ingest.healthy
    # And it still takes good input afterwards.
    with publisher(mqtt_url) as pub:
        publish_all(
            pub,
            [
                (
                    f"campus/v1/{building}/smoke/after",
                    {"event_id": "ok", "ts": "2026-11-29T10:00:00Z", "state": "normal"},
                )
            ],
        )
    wait_until(
        lambda: (
            scalar(db_url, "SELECT count(*) FROM events WHERE sensor_id = 'after' AND building_id = %s", (building,))
            == 1
        ),
        10,
    )


CORPUS = [
    b'{"event_id":"h","ts":"0001-01-01T00:30:00+01:00","state":"normal"}',
    b'{"event_id":"h","ts":"9999-12-31T23:59:59-01:00","state":"normal"}',
    b'{"event_id":"h","ts":"2026-11-29T10:00:00Z","readings":{"o2_pct":' + b"9" * 400 + b"}}",
    b'{"event_id":"h","ts":"2026-11-29T10:00:00Z","readings":{"o2_pct":' + b"1" * 4400 + b"}}",
    b'{"event_id":"h","ts":"2026-11-29T10:00:00Z","state":"normal","seq":' + b"9" * 30 + b"}",
    b'{"event_id":"h","ts":"1970-01-01T00:00:01Z","state":"normal"}',
    b'{"event_id":"h","ts":"2026-11-29T10:00:00Z","state":"normal","x":1e999}',
    b'{"event_id":"h","ts":"2026-11-29T10:00:00Z","state":"normal","x":NaN}',
    b'{"event_id":"h","ts":"2026-11-29T10:00:00Z","state":"\\u0000"}',
    b'{"event_id":"h","ts":"2026-11-29T10:00:00Z","state":"\\ud800"}',
    b"[" * 5000 + b"]" * 5000,
    b'{"event_id":"' + b"e" * 200 + b'","ts":"2026-11-29T10:00:00Z","state":"normal"}',
    b"\xff\xfe\x00",
    b"",
]
BAD_TOPICS = [
    "campus/v1/{b}/lab",
    "campus/v1/{b}/lab/x/y",
    "campus/v1/{b}x/lab/",
    "campus/v1/{b}/fire/x",
    "campus/v1/{b}" + "b" * 70 + "/lab/x",
    "campus/v1/{b}/lab/实验室",
    "campus/v2/{b}/lab/x",
    "x{b}",
    "campus/v1/{b}/lab/" + "s" * 70,
    "campus/v1/{b}/lab/-x",
]


def test_a_hostile_corpus_and_random_topics_interleaved_with_valid_events(ingest, db_url, mqtt_url):
    """Every valid event stored once, every other message dead-lettered with a reason, nothing left
    unacknowledged, ingest healthy; topics too are hostile."""
    from datetime import UTC, datetime, timedelta

    from ingest.mqtt.contract import format_ts

    b = f"c{secrets.token_hex(4)}"
    ts = format_ts(datetime.now(UTC) - timedelta(minutes=1))
    received_before = ingest.metrics.received._value.get()  # noqa: SLF001
    handled_before = _handled(ingest)
    messages, valid = [], 0
    rng = __import__("random").Random(14)
    for i in range(3000):
        if i % 3 == 0:
            valid += 1
            messages.append(
                (
                    f"campus/v1/{b}/smoke/{b}-s{i % 11}",
                    json.dumps({"event_id": f"v{i}", "ts": ts, "state": "normal"}).encode(),
                )
            )
        elif i % 3 == 1:
            messages.append(
                (f"campus/v1/{b}/{rng.choice(['smoke', 'lab', 'door', 'status'])}/x{i % 5}", rng.choice(CORPUS))
            )
        else:
            topic = rng.choice(BAD_TOPICS).format(b=b)
            messages.append((topic, rng.choice(CORPUS + [json.dumps({"event_id": "t", "ts": ts}).encode()])))
    with publisher(mqtt_url) as pub:
        infos = [pub.publish(t, p, qos=1) for t, p in messages]
        for info in infos:
            info.wait_for_publish(30)
    # Messages on topics outside the subscription never reach ingest (the broker routes by topic).
    ours = [m for m in messages if m[0].startswith("campus/v1/") and len(m[0].split("/")) == 5]
    wait_until(lambda: _handled(ingest) - handled_before >= len(ours), 60, what="every message handled")
    stored = scalar(db_url, "SELECT count(*) FROM events WHERE building_id = %s", (b,))
    assert stored == valid
    assert scalar(db_url, "SELECT count(DISTINCT event_id) FROM events WHERE building_id = %s", (b,)) == valid
    dead = scalar(
        db_url, "SELECT count(*) FROM dead_letters WHERE topic LIKE %s AND reason <> ''", (f"campus/v1/{b}%",)
    )
    assert stored + dead == len(ours)
    assert ingest.metrics.received._value.get() - received_before == len(ours)  # noqa: SLF001
    assert ingest.health()["status"] == "ok" and ingest.health()["queue_depth"] == 0


def test_a_bug_reading_one_message_costs_only_that_message_which_is_dead_lettered(db_url, mqtt_url, monkeypatch):
    """A decoder that raises something unforeseen (a bug, not a refusal) for one message: the messages
    read with it are stored, it becomes a dead letter with the reason, ingest keeps going."""
    from datetime import UTC, datetime, timedelta

    from ingest.mqtt import contract

    real = contract.decode

    def buggy(topic, raw, received_at, limits=contract.Limits()):  # noqa: B008
        if b"boom" in raw:
            raise RuntimeError("a bug")
        return real(topic, raw, received_at, limits)

    monkeypatch.setattr(contract, "decode", buggy)
    b = f"g{secrets.token_hex(4)}"
    ts = contract.format_ts(datetime.now(UTC) - timedelta(minutes=1))
    messages = [(f"campus/v1/{b}/smoke/{b}-s{i % 3}", {"event_id": f"e{i}", "ts": ts, "state": "normal"})
                for i in range(40)]
    messages.insert(20, (f"campus/v1/{b}/smoke/{b}-s9", {"event_id": "boom", "ts": ts, "state": "normal"}))
    with running_ingest(own_ingest_settings(db_url, mqtt_url, f"bug{secrets.token_hex(2)}")) as svc:
        with publisher(mqtt_url) as pub:
            publish_all(pub, messages)
        wait_until(lambda: _handled(svc) >= len(messages), 30, what="every message handled")
        assert svc.health()["status"] == "ok" and svc.health()["queue_depth"] == 0
    assert scalar(db_url, "SELECT count(*) FROM events WHERE building_id = %s", (b,)) == 40
    assert scalar(db_url, "SELECT reason FROM dead_letters WHERE topic = %s", (f"campus/v1/{b}/smoke/{b}-s9",)) == (
        "could not be read (RuntimeError)")
