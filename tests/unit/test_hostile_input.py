"""Finding by finding: what once escaped decode as a crash is now a reason, and anything decode
returns can be stored (the database's int8, timestamptz and float8 ranges)."""

import json
import math
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest.core.errors import ContractError
from ingest.mqtt import contract

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
LAB = "campus/v1/labs/lab/labs-101-gas"
SMOKE = "campus/v1/labs/smoke/labs-1-smoke-1"


def body(**fields) -> bytes:
    return json.dumps({"event_id": "e1", "ts": "2026-11-29T11:59:00Z", **fields}).encode()


@pytest.mark.parametrize(("topic", "raw", "reason"), [
    # OverflowError from datetime once the offset moves year 1 or year 9999 out of range
    (SMOKE, body(ts="0001-01-01T00:30:00+01:00", state="normal"), "ts is not a valid date and time"),
    (SMOKE, body(ts="9999-12-31T23:59:59-01:00", state="normal"), "ts is not a valid date and time"),
    # an integer above float's range in a reading (OverflowError in isfinite)
    (LAB, b'{"event_id":"e1","ts":"2026-11-29T11:59:00Z","readings":{"o2_pct":' + b"9" * 320 + b"}}",
     "out of range"),
    # an integer of more than 4,300 digits (ValueError from json)
    (LAB, b'{"event_id":"e1","ts":"2026-11-29T11:59:00Z","readings":{"o2_pct":' + b"1" * 5000 + b"}}",
     "out of range"),
    (SMOKE, b'{"event_id":"e1","ts":"2026-11-29T11:59:00Z","state":"normal","x":1e999}', "out of range"),
    # seq beyond int8 once killed the writer thread in the binary COPY
    (SMOKE, body(state="normal", seq=2**63), "seq must be an integer from 0 to"),
    (SMOKE, body(state="normal", seq=2**64 + 5), "seq must be an integer from 0 to"),
    # a 1970 event was stored, then pruned at once, and marked the rollups dirty from 1970
    (SMOKE, body(ts="1970-01-01T00:00:01Z", state="normal"), "older than the 400-day retention period"),
    (SMOKE, body(ts=(NOW - timedelta(days=401)).isoformat(), state="normal"), "retention period"),
    (SMOKE, body(ts=(NOW + timedelta(minutes=6)).isoformat(), state="normal"), "in the future"),
])
def test_what_once_crashed_decode_is_refused_with_a_reason(topic, raw, reason):
    with pytest.raises(ContractError) as err:
        contract.decode(topic, raw, NOW)
    assert reason in err.value.reason


def test_a_device_clock_ahead_is_stored_as_sent_but_its_rules_run_at_our_time():
    ahead = NOW + timedelta(minutes=4)
    e = contract.decode(SMOKE, body(ts=ahead.isoformat(), state="alarm"), NOW)
    assert e.ts == ahead and e.at == NOW and e.clock_ahead  # kept as evidence, not as a clock
    within = contract.decode(SMOKE, body(ts=(NOW + timedelta(seconds=1)).isoformat(), state="alarm"), NOW)
    assert within.at == within.ts and not within.clock_ahead  # a small skew is no reason to move it


def test_payload_limit_follows_the_setting():
    small = contract.Limits(max_payload_bytes=2048)
    raw = body(state="normal", pad="x" * 3000)
    with pytest.raises(ContractError, match="over the 2048 limit"):
        contract.decode(SMOKE, raw, NOW, small)
    assert contract.decode(SMOKE, raw, NOW).event_id == "e1"


INT8 = (-(2**63), 2**63 - 1)
leaf = (st.none() | st.booleans() | st.integers(-(10**400), 10**400) | st.floats(allow_nan=True)
        | st.text(max_size=20) | st.sampled_from(["0001-01-01T00:30:00+01:00", "9999-12-31T23:59:59-01:00",
                                                   "1970-01-01T00:00:00Z", "2026-11-29T11:59:00Z"]))
value = st.recursive(leaf, lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=6), c, max_size=3),
                     max_leaves=10)
keys = st.sampled_from(["event_id", "ts", "seq", "state", "event", "readings", "drill", "sensor_id", "battery_pct",
                        "obscuration", "rssi_dbm", "credential", "firmware", "x"])
payloads = st.one_of(
    st.binary(max_size=300),
    st.dictionaries(keys, value, max_size=7).map(lambda d: json.dumps(d).encode()),
    st.fixed_dictionaries({"event_id": st.text(min_size=1, max_size=5), "ts": leaf},
                          optional={"readings": st.dictionaries(st.sampled_from(contract.LAB_METRICS), value,
                                                                max_size=3),
                                    "seq": value, "state": st.sampled_from(contract.SMOKE_STATES)}).map(
        lambda d: json.dumps(d).encode()),
    st.integers(0, 6000).map(lambda n: b'{"event_id":"e","ts":"2026-11-29T11:59:00Z","seq":' + b"7" * n + b"}"),
)
topics = st.one_of(st.sampled_from([LAB, SMOKE, "campus/v1/labs/door/d1", "campus/v1/labs/status/s1"]),
                   st.text(max_size=60))


@settings(max_examples=3000, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(topics, payloads)
def test_decode_returns_a_storable_event_or_a_contract_error_whatever_the_bytes(topic, raw):
    try:
        e = contract.decode(topic, raw, NOW)
    except ContractError as exc:
        assert exc.reason  # never an empty reason
        return
    assert e.seq is None or INT8[0] <= e.seq <= INT8[1]
    assert datetime(2000, 1, 1, tzinfo=UTC) < e.ts <= NOW + timedelta(minutes=5)
    assert e.at <= NOW + timedelta(seconds=2)
    assert all(math.isfinite(v) and abs(v) < 1e300 for v in e.readings.values())
    json.loads(e.raw_json)  # what goes into jsonb is JSON
    e.raw_json.encode("utf-8")
