"""The alarm rules evaluated while PostgreSQL takes a batch's COPY give what they gave after it.

The writer reads the batch's rule states before the COPY and evaluates the rules while the rows
go in (``AlarmEngine.prepare_batch``); the signals are applied once the events are stored. Real
PostgreSQL; each scenario runs through a writer that evaluates during the COPY and through one
that evaluates after it (no preparer), on sensors of their own, and the two must agree.
"""

import secrets
from datetime import UTC, datetime, timedelta

from ingest.alarms.engine import AlarmEngine
from ingest.alarms.evaluation import SLICE
from ingest.db.pool import open_pool
from ingest.mqtt import contract
from ingest.mqtt.contract import encode, format_ts
from ingest.service.writer import BatchWriter
from tests.integration.helpers import alarms_for, scalar

T0 = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=30)


def _event(building: str, kind: str, sensor: str, eid: str, seconds: float, **fields) -> contract.Event:
    raw = encode({"event_id": eid, "ts": format_ts(T0 + timedelta(seconds=seconds)), **fields})
    return contract.decode(f"campus/v1/{building}/{kind}/{sensor}", raw, datetime.now(UTC))


def _batches(tag: str) -> tuple[list[list[contract.Event]], list[str]]:
    """A gas leak past its on-delay, a smoke pre-alarm and its end, a forced door, a burst of denials,
    a device its gateway reports gone and back, oxygen falling below 19.5 % over hundreds of readings:
    in three batches, events out of order within them."""
    b = f"b{tag}"
    lab, smoke, door, reader, gone, fill = (f"{k}{tag}" for k in ("lab", "smoke", "door", "reader", "gone", "fill"))

    def ev(kind, sensor, eid, s, **f):  # noqa: ANN001, ANN202
        return _event(b, kind, sensor, eid, s, **f)

    first = [
        ev("lab", lab, "l1", 0, readings={"gas_ppm.CO": 40.0}),
        ev("door", reader, "d1", 1, event="access_denied"),
        ev("smoke", smoke, "s1", 2, state="pre_alarm"),
        ev("door", reader, "d2", 3, event="access_denied"),
        ev("status", gone, "g1", 4, availability="offline"),
    ]
    second = [
        ev("lab", lab, "l2", 7, readings={"gas_ppm.CO": 45.0}),  # 7 s past 35 ppm: the 5 s on-delay is over
        ev("door", door, "f1", 8, event="door_forced"),
        ev("door", reader, "d4", 6, event="access_denied"),  # sent late: the rules take it in time order
        ev("door", reader, "d3", 5, event="access_denied"),
        ev("status", gone, "g2", 9, availability="online"),
        # readings among them, more than one slice of the evaluation (ingest.alarms.evaluation.SLICE)
        *(ev("lab", fill, f"x{i}", 4.5 + i * 0.02, readings={"temperature_c": 21.0, "o2_pct": 20.9 - i / 100})
          for i in range(2 * SLICE + 1)),
    ]
    third = [
        ev("door", reader, "d5", 10, event="access_denied"),  # the fifth in two minutes: a burst
        ev("smoke", smoke, "s2", 11, state="normal"),
        ev("lab", lab, "l3", 12, readings={"gas_ppm.CO": 1.0}),
    ]
    return [first, second, third], [lab, smoke, door, reader, gone, fill]


def _outcome(db_url: str, sensors: list[str], tag: str) -> list:
    """Each sensor's alarms (what, how bad, in which state, raised when) and rule state, its tag taken out."""
    out = []
    for sid in sensors:
        alarms = [(a["condition"], a["priority"], a["state"], a["active"], a["raised_at"])
                  for a in alarms_for(db_url, sid)]
        state = scalar(db_url, "SELECT state FROM rule_state WHERE sensor_id = %s", (sid,))
        out.append((sid.replace(tag, ""), alarms, state))
    return out


def test_rules_evaluated_during_the_copy_give_what_they_give_after_it(db_url):
    during, after = secrets.token_hex(3), secrets.token_hex(3)
    pool = open_pool(db_url, max_size=2, name="test-rules-during-copy")
    try:
        for tag, prepare in ((during, True), (after, False)):
            engine = AlarmEngine()
            writer = BatchWriter(pool, f"w{tag}", [engine.on_batch], prepare=[engine.prepare_batch] if prepare else [])
            batches, _ = _batches(tag)
            for batch in batches:
                result = writer.write(batch, [])
                assert result.stored == len(batch)
    finally:
        pool.close()
    got_during = _outcome(db_url, _batches(during)[1], during)
    got_after = _outcome(db_url, _batches(after)[1], after)
    assert got_during == got_after
    conditions = {sid: [a[0] for a in alarms] for sid, alarms, _state in got_during}
    assert conditions == {"lab": ["gas_high:CO"], "smoke": ["smoke_pre_alarm"], "door": ["door_forced"],
                          "reader": ["denied_burst"], "gone": ["offline"], "fill": ["o2_low"]}


def test_a_batch_partly_stored_before_is_evaluated_again_from_the_stored_states(db_url):
    """A redelivery: the COPY is refused, the staging path stores only the new events, and the rules
    see only those, from the rule states as stored (not the evaluation made during the refused COPY,
    which counted the three stored denials a second time)."""
    tag = secrets.token_hex(3)
    reader = f"reader{tag}"

    def denied(eid: str, s: float) -> contract.Event:
        return _event(f"b{tag}", "door", reader, eid, s, event="access_denied")

    stored = [denied("d1", 1), denied("d2", 2), denied("d3", 3)]
    pool = open_pool(db_url, max_size=2, name="test-rules-redelivery")
    try:
        engine = AlarmEngine()
        writer = BatchWriter(pool, "redelivery", [engine.on_batch], prepare=[engine.prepare_batch])
        writer.write(stored, [])
        assert alarms_for(db_url, reader) == []  # three denials: no burst yet
        result = writer.write([*stored, denied("d4", 4)], [])  # redelivered with one new
        assert (result.stored, result.duplicates) == (1, 3)
        assert alarms_for(db_url, reader) == []  # four denials in two minutes: still none
        state = scalar(db_url, "SELECT state FROM rule_state WHERE sensor_id = %s", (reader,))
        assert len(state["door"]["denied"]) == 4
        writer.write([denied("d5", 5)], [])
    finally:
        pool.close()
    assert [a["condition"] for a in alarms_for(db_url, reader)] == ["denied_burst"]
