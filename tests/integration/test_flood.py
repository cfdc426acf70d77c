"""A flood of alarms, through the real ingest and engine: officers act on groups at once."""

from __future__ import annotations

import secrets
import threading

import psycopg
import pytest

from ingest.alarms import actions
from ingest.db.registry import load_site as load_into_db
from tests.conftest import wait_until
from tests.integration.helpers import (
    now_ts,
    own_ingest_settings,
    publish_all,
    publisher,
    running_ingest_with_alarms,
    scalar,
    tiny_site,
)

DOORS = 60


@pytest.fixture(scope="module")
def flood(db_url, mqtt_url) -> list[int]:
    """60 tamper alarms, one per door, raised by the real engine."""
    tag = secrets.token_hex(3)
    with psycopg.connect(db_url) as conn:
        load_into_db(conn, tiny_site(tag, DOORS))
    with running_ingest_with_alarms(own_ingest_settings(db_url, mqtt_url), tick=False), publisher(mqtt_url) as pub:
        publish_all(pub, [(f"campus/v1/b{tag}/door/door{tag}-{n}",
                           {"event_id": f"t{n}", "ts": now_ts(), "event": "tamper"}) for n in range(DOORS)])
        wait_until(lambda: scalar(db_url, "SELECT count(*) FROM alarms WHERE sensor_id LIKE %s", (f"door{tag}-%",))
                   == DOORS, 15, what="the flood's alarms")
    with psycopg.connect(db_url) as conn:
        return [r[0] for r in conn.execute("SELECT id FROM alarms WHERE sensor_id LIKE %s ORDER BY id",
                                           (f"door{tag}-%",))]


def test_two_officers_acknowledging_overlapping_groups_at_once_acknowledge_each_alarm_exactly_once(db_url, flood):
    # A takes the first two thirds, B the last two thirds, both at the same instant, in opposite orders.
    groups = {"officer-a": flood[: 2 * DOORS // 3], "officer-b": list(reversed(flood[DOORS // 3:]))}
    results: dict[str, actions.GroupResult] = {}
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def act(officer: str) -> None:
        try:
            with psycopg.connect(db_url) as conn:
                start.wait()
                results[officer] = actions.acknowledge_group(conn, groups[officer], officer, "flood: panel checked")
        except BaseException as exc:  # noqa: BLE001 - a deadlock or any error fails the test below
            errors.append(exc)

    threads = [threading.Thread(target=act, args=(o,)) for o in groups]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    a, b = results["officer-a"], results["officer-b"]
    assert len(a.done) + len(b.done) == DOORS  # every alarm once
    overlap = set(groups["officer-a"]) & set(groups["officer-b"])
    refused = {i for i, _ in a.refused} | {i for i, _ in b.refused}
    assert refused == overlap and len(a.refused) + len(b.refused) == len(overlap)
    assert all("already acknowledged by officer-" in str(exc) for _, exc in a.refused + b.refused)
    with psycopg.connect(db_url) as conn:
        acks = conn.execute("SELECT alarm_id, count(*), min(note) FROM alarm_journal WHERE action = 'acknowledged' "
                            "AND alarm_id = ANY(%s) GROUP BY alarm_id", (flood,)).fetchall()
        states = conn.execute("SELECT DISTINCT state FROM alarms WHERE id = ANY(%s)", (flood,)).fetchall()
    assert len(acks) == DOORS and {n for _, n, _ in acks} == {1}  # journaled individually, once each
    assert {note for _, _, note in acks} == {"flood: panel checked"}
    assert states == [("active_acked",)]


def test_a_group_shelve_needs_a_reason_and_keeps_each_alarms_limit(db_url, flood):
    with psycopg.connect(db_url) as conn:
        with pytest.raises(actions.ActionRefusedError, match="needs a reason"):
            actions.shelve_group(conn, flood, "officer-a", 30, " ")
        too_long = actions.shelve_group(conn, flood[:3], "officer-a", 60 * 24 * 2, "workmen in the building")
        assert too_long.done == [] and all("at most" in str(exc) for _, exc in too_long.refused)
        done = actions.shelve_group(conn, flood[:10], "officer-a", 60, "workmen in the building")
        assert len(done.done) == 10 and done.refused == []
        shelved = conn.execute("SELECT count(*) FROM alarm_journal WHERE action = 'shelved' AND alarm_id = ANY(%s)",
                               (flood[:10],)).fetchone()[0]
    assert shelved == 10
