import json
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ingest.core.errors import ContractError
from ingest.core.intake import Limits
from ingest.mqtt import contract

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
T = "campus/v1/labs/lab/labs-101-gas"


def dec(topic, payload, now=NOW):
    raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return contract.decode(topic, raw, now)


def test_topic_roundtrip():
    topic = contract.event_topic("labs", "smoke", "labs-1c-smoke-1")
    assert topic == "campus/v1/labs/smoke/labs-1c-smoke-1"
    assert contract.parse_topic(topic) == contract.Topic("labs", "smoke", "labs-1c-smoke-1")


@pytest.mark.parametrize(
    "topic",
    [
        "campus/v1/labs/lab",
        "campus/v2/labs/lab/x",
        "campus/v1/labs/fire/x",
        "campus/v1/labs/lab/x/y",
        "campus/v1/la bs/lab/x",
        "campus/v1/labs/lab/",
    ],
)
def test_bad_topics(topic):
    with pytest.raises(ContractError):
        contract.parse_topic(topic)


def test_reserved_topics():
    assert contract.is_reserved("campus/v1/_service/ingest/a")
    assert not contract.is_reserved("campus/v1/labs/lab/x")


def test_lab_event_with_several_readings():
    e = dec(
        T,
        {
            "event_id": "e1",
            "ts": "2026-11-29T11:59:00+08:00",
            "seq": 7,
            "readings": {"gas_ppm.NH3": 3.5, "o2_pct": 20.9},
            "extra": {"kept": True},
        },
    )
    assert (e.building, e.kind, e.sensor_id, e.event_id, e.seq, e.drill) == (
        "labs",
        "lab",
        "labs-101-gas",
        "e1",
        7,
        False,
    )
    assert e.ts == datetime(2026, 11, 29, 3, 59, tzinfo=UTC)
    assert e.readings == {"gas_ppm.NH3": 3.5, "o2_pct": 20.9}
    assert json.loads(e.raw_json)["extra"] == {"kept": True}


def test_epoch_millis_and_nanosecond_fraction():
    ms = int(datetime(2026, 11, 29, 11, 0, tzinfo=UTC).timestamp() * 1000) + 123
    e = dec("campus/v1/a/smoke/s1", {"event_id": 5, "ts": ms, "state": "alarm", "drill": True})
    assert e.ts == datetime(2026, 11, 29, 11, 0, 0, 123000, tzinfo=UTC)
    assert e.event_id == "5" and e.drill and e.state == "alarm"
    e = dec("campus/v1/a/smoke/s1", {"event_id": "x", "ts": "2026-11-29T11:00:00.123456789Z", "state": "normal"})
    assert e.ts.microsecond == 123456


@pytest.mark.parametrize(
    ("topic", "payload", "reason"),
    [
        (T, b"{not json", "payload is not valid JSON"),
        (T, b"\xff\xfe{}", "payload is not valid UTF-8"),
        (T, b"[1,2]", "payload must be a JSON object"),
        (T, {"ts": "2026-11-29T11:00:00Z", "readings": {"o2_pct": 1}}, "event_id is missing"),
        (T, {"event_id": "a", "readings": {"o2_pct": 1}}, "ts is missing"),
        (T, {"event_id": "a", "ts": "yesterday", "readings": {"o2_pct": 1}}, "ts must be RFC 3339"),
        (T, {"event_id": "a", "ts": "2026-11-29T11:00:00", "readings": {"o2_pct": 1}}, "ts must be RFC 3339"),
        (T, {"event_id": "a", "ts": "2026-11-29T13:00:00Z", "readings": {"o2_pct": 1}}, "ts is 3600 s in the future"),
        (T, {"event_id": "a", "ts": 12, "readings": {"o2_pct": 1}}, "ts epoch milliseconds out of range"),
        (
            T,
            {"event_id": "a", "ts": "2026-11-29T11:00:00Z", "readings": {"o2_pct": "high"}},
            "reading o2_pct must be a number",
        ),
        (T, {"event_id": "a", "ts": "2026-11-29T11:00:00Z", "readings": {"radon": 1}}, "unknown lab metric"),
        (T, {"event_id": "a", "ts": "2026-11-29T11:00:00Z", "readings": {}}, "lab readings must be"),
        (T, b'{"event_id":"a","ts":"2026-11-29T11:00:00Z","readings":{"o2_pct":NaN}}', "NaN is not a JSON number"),
        (
            T,
            {"event_id": "a", "ts": "2026-11-29T11:00:00Z", "readings": {"o2_pct": 1}, "sensor_id": "other"},
            "sensor_id in payload differs",
        ),
        (T, {"event_id": "a", "ts": "2026-11-29T11:00:00Z", "readings": {"o2_pct": 1}, "seq": -1}, "seq must be"),
        (
            T,
            {"event_id": "a", "ts": "2026-11-29T11:00:00Z", "readings": {"o2_pct": 1}, "drill": "yes"},
            "drill must be",
        ),
        (T, {"event_id": "a", "ts": "2026-11-29T11:00:00Z", "readings": {"o2_pct": 1}, "note": "a\u0000b"}, "NUL"),
        (T, b'{"event_id":"a","ts":"2026-11-29T11:00:00Z","readings":{"o2_pct":1},"x":"\\ud800"}', "not valid Unicode"),
        (
            "campus/v1/a/smoke/s",
            {"event_id": "a", "ts": "2026-11-29T11:00:00Z", "state": "smoky"},
            "smoke state must be",
        ),
        (
            "campus/v1/a/smoke/s",
            {"event_id": "a", "ts": "2026-11-29T11:00:00Z", "state": "normal", "battery_pct": 140},
            "battery_pct must be between",
        ),
        (
            "campus/v1/a/door/d",
            {"event_id": "a", "ts": "2026-11-29T11:00:00Z", "event": "opened_wide"},
            "door event must be",
        ),
        (
            "campus/v1/a/door/d",
            {"event_id": "a", "ts": "2026-11-29T11:00:00Z", "event": "access_denied", "reason": 5},
            "reason must be text",
        ),
        ("campus/v1/a/heat/d", {"event_id": "a", "ts": "2026-11-29T11:00:00Z"}, "unknown kind 'heat'"),
        (T, b"{" + b'"p":"' + b"x" * 270000 + b'"}', "over the 262144 limit"),
    ],
)
def test_bad_payloads_have_a_reason(topic, payload, reason):
    with pytest.raises(ContractError) as err:
        dec(topic, payload)
    assert reason in err.value.reason


def test_literal_backslash_u0000_text_is_allowed():
    e = dec(T, {"event_id": "a", "ts": "2026-11-29T11:00:00Z", "readings": {"o2_pct": 1}, "note": "\\u0000"})
    assert json.loads(e.raw_json)["note"] == "\\u0000"


def test_status_heartbeat():
    e = dec(
        "campus/v1/a/status/s",
        {"event_id": "h", "ts": "2026-11-29T11:00:00Z", "battery_pct": 80, "rssi_dbm": -70, "firmware": "1.2"},
    )
    assert e.state == "heartbeat" and e.readings == {"battery_pct": 80.0, "rssi_dbm": -70.0}


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=20,
)


@settings(max_examples=1500, deadline=None)
@given(
    kind=st.sampled_from(contract.KINDS + ("x",)),
    body=st.one_of(
        st.binary(max_size=300),
        st.dictionaries(
            st.sampled_from(
                ["event_id", "ts", "state", "event", "readings", "seq", "drill", "sensor_id", "battery_pct", "extra"]
            ),
            json_values,
        ).map(lambda d: json.dumps(d).encode()),
    ),
)
def test_any_payload_is_accepted_or_rejected_with_a_reason(kind, body):
    try:
        e = contract.decode(f"campus/v1/b/{kind}/s1", body, NOW)
    except ContractError as exc:
        assert exc.reason
    else:
        assert e.ts - NOW <= timedelta(minutes=5)
        json.loads(e.raw_json)  # storable as jsonb
        assert "\x00" not in e.raw_json


def test_checkpoint_scans_and_sos():
    topic = "campus/v1/dorm-1/checkpoint/handset-7"
    scan = contract.decode(topic, _body(tag="04:A1:10:01", card="G-0001", method="nfc"), NOW)
    assert (scan.kind, scan.sensor_id, scan.state) == ("checkpoint", "handset-7", "scan")
    reader = contract.decode("campus/v1/dorm-1/checkpoint/cp-dorm1-1f", _body(card="G-0001"), NOW)
    assert reader.state == "scan" and "tag" not in reader.payload  # a wired reader: it is the checkpoint
    sos = contract.decode(topic, _body(card="G-0001", sos=True), NOW)
    assert sos.state == "sos"
    extra = contract.decode(topic, _body(card="G-0001", start_route="dorm-night", tag="x"), NOW)
    assert extra.payload["start_route"] == "dorm-night"
    for bad, reason in (({"method": "gps"}, "method must be one of"), ({"sos": "yes"}, "sos must be true or false"),
                        ({"tag": ""}, "tag must be text"), ({"card": "x" * 65}, "card must be text"),
                        ({"start_route": 7}, "start_route must be text")):
        with pytest.raises(ContractError, match=reason):
            contract.decode(topic, _body(**bad), NOW)


def _body(**fields):
    return json.dumps({"event_id": "s-1", "ts": contract.format_ts(NOW), **fields}).encode()


@settings(max_examples=300, deadline=None)
@given(
    when=st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2999, 12, 31)),
    digits=st.integers(0, 9),
    sep=st.sampled_from("Tt "),
    zone=st.sampled_from(["Z", "z", "+00:00", "+08:00", "-05:30", "+14:00"]),
)
def test_every_rfc3339_form_reads_as_the_same_instant(when, digits, sep, zone):
    """Python reads the usual form itself (the fast path); lower-case letters, offsets and up to nine
    fraction digits take the canonical path; both give the instant the text names, fraction cut to µs.
    """
    fraction = f"{when.microsecond:06d}{when.microsecond % 1000:03d}"[:digits]
    text = when.strftime(f"%Y-%m-%d{sep}%H:%M:%S") + (f".{fraction}" if digits else "") + zone
    offset = timedelta(0) if zone in "Zz" else (1 if zone[0] == "+" else -1) * timedelta(
        hours=int(zone[1:3]), minutes=int(zone[4:6]))
    micro = int(fraction.ljust(6, "0")[:6]) if digits else 0
    expected = (when.replace(microsecond=micro) - offset).replace(tzinfo=UTC)
    assert contract.parse_ts(text) == expected
    assert contract.parse_ts(text).tzinfo is UTC


@pytest.mark.parametrize(("text", "reason"), [
    # The published form's length and separators, yet not RFC 3339: refused as the regular expression did
    ("2026-W49-1T19:03:46.012Z", "ts must be RFC 3339"),  # an ISO week date, which Python itself reads
    ("2026-12-07T19:03:46,012Z", "ts must be RFC 3339"),
    ("2026-12-07T19:03:46.0 2Z", "ts must be RFC 3339"),
    ("2026-12-07T24:03:46.012Z", "ts is not a valid date and time"),
    ("2026-02-30T19:03:46.012Z", "ts is not a valid date and time"),
    ("\u0662\u0660\u0662\u0666-12-07T19:03:46.012Z", "ts is not a valid date and time"),  # Arabic-Indic digits
])
def test_what_only_looks_like_the_published_time_form_is_refused_with_its_reason(text, reason):
    with pytest.raises(ContractError, match=reason):
        contract.parse_ts(text)


@settings(max_examples=300, deadline=None)
@given(when=st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31)))
def test_the_published_time_form_reads_as_format_ts_wrote_it(when):
    """``format_ts``'s form (Python reads it without the regular expression) is the instant, cut to ms."""
    instant = when.replace(tzinfo=UTC, microsecond=when.microsecond // 1000 * 1000)
    text = contract.format_ts(instant)
    assert len(text) == 24  # the fast path's form
    assert contract.parse_ts(text) == instant
    assert contract.parse_ts(text).tzinfo is UTC


def _both_readings(raw: bytes):
    """(ingest's reading, the contract's own reader's): each (payload, canonical text) or the refusal."""
    out = []
    for decoder in (None, contract._DECODER):  # noqa: SLF001 - the reference reader
        try:
            out.append(contract.parse_json(raw, Limits(), decoder))
        except ContractError as exc:
            out.append(("refused", exc.reason))
    return out


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=400, deadline=None)
@given(value=_JSON, indent=st.sampled_from([None, 1]), ascii_only=st.booleans())
def test_ingest_reads_every_json_text_as_the_contracts_own_reader_does(value, indent, ascii_only):
    raw = json.dumps({"v": value}, indent=indent, ensure_ascii=ascii_only).encode()
    fast, reference = _both_readings(raw)
    assert fast == reference


@settings(max_examples=400, deadline=None)
@given(raw=st.binary(max_size=40) | st.text(alphabet='{}[]:,"0123456789.eE+-tfnulrsaINy\\ u\x00', max_size=30).map(
    str.encode))
def test_ingest_refuses_what_the_contracts_own_reader_refuses(raw):
    fast, reference = _both_readings(raw)
    assert fast == reference


@pytest.mark.parametrize("raw", [
    b'{"a":1e999}', b'{"a":-1E+400}', b'{"a":1e-400}', b'{"a":123456789012345678901234567890}',
    b'{"a":18446744073709551616}', b'{"a":9223372036854775808}', b'{"a":-9223372036854775809}',
    b'{"a":-9999999999999999999}', b'{"a":NaN}', b'{"a":Infinity}',
    b'{"a":"\\ud800"}', b'{"a":"\\u0000"}', b'{"a":"x\ny"}', b'\xef\xbb\xbf{"a":1}', b'{"a":1,"a":2}',
    b'{"a":-0}', b'{"a":1,}', b"[" * 5000 + b"]" * 5000, b'{"a":"\\u00e9"}', "{\"a\":\"实验室\"}".encode(),
])
def test_hostile_json_is_read_alike(raw):
    fast, reference = _both_readings(raw)
    assert fast == reference
